"""The portable matrix product: :func:`sklstm._kernels._gemm._core`'s arithmetic as plain loops.

Compiled as the product's C callback instead of the LLVM-IR micro-kernel
off x86-64, with ``SKLSTM_GEMM=portable``, or when the micro-kernel fails to
compile (:func:`sklstm._kernels._gemm._load` chooses). Bitwise the same
results, slower (``benchmarks/bench_products.py``).
"""

import numpy as np

from ._gemm import KC, PACK_ONLY, _pack, _ptr, panel_width
from ._jit import jit
from ._math import madd, prefer_wide_vectors

__all__ = ["PORTABLE_CORES"]


@jit(internal=True)
def _portable(a, sa_i, sa_k, M, K, b, ldb, mode, N, c, ldc, accumulate, z):
    """:func:`sklstm._kernels._gemm._core` as plain loops: the same result bit for bit, without the IR kernel.

    Every element is the micro-kernel's chain ``madd(a[i, k], b[k, j], ...)``
    over ``k`` in order from 0, per block of ``KC`` (one block when B is
    packed), each block's chain added to C in order: exactly the arithmetic
    of ``_core``, so the two give bitwise equal products (tested). One row
    of C at a time, the inner loop over columns (vectorized by LLVM).
    """
    if mode == PACK_ONLY:
        _pack(b, ldb, K, a, N, c, ldc, z)
        return
    prefer_wide_vectors()
    packed_b = mode != 0
    nr = panel_width(z)
    pa = _ptr(a, z)
    pb = _ptr(b, z)
    pc = _ptr(c, z)
    kb = K if packed_b else KC
    row = np.full(N, z)
    for i in range(M):
        ai = i * sa_i
        ci = i * ldc
        for k0 in range(0, K, kb):
            k1 = min(K, k0 + kb)
            for j in range(N):
                row[j] = 0
            for k in range(k0, k1):
                aik = pa[ai + k * sa_k]
                if packed_b:
                    for p in range((N + nr - 1) // nr):
                        base = (p * K + k) * nr
                        c0 = p * nr
                        for jj in range(min(nr, N - c0)):
                            row[c0 + jj] = madd(aik, pb[base + jj], row[c0 + jj])
                else:
                    bk = k * ldb
                    for j in range(N):
                        row[j] = madd(aik, pb[bk + j], row[j])
            if accumulate or k0 > 0:
                for j in range(N):
                    pc[ci + j] += row[j]
            else:
                for j in range(N):
                    pc[ci + j] = row[j]


def _portable_f32(a, sa_i, sa_k, M, K, b, ldb, mode, N, c, ldc, accumulate, work):
    _portable(a, sa_i, sa_k, M, K, b, ldb, mode, N, c, ldc, accumulate != 0, np.float32(0))


def _portable_f64(a, sa_i, sa_k, M, K, b, ldb, mode, N, c, ldc, accumulate, work):
    _portable(a, sa_i, sa_k, M, K, b, ldb, mode, N, c, ldc, accumulate != 0, np.float64(0))


#: the C-callback bodies for float32 and float64, in :data:`sklstm._kernels._gemm._DTYPES` order
PORTABLE_CORES = (_portable_f32, _portable_f64)
