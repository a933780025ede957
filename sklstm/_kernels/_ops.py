"""Small building blocks shared by the cell kernels.

Matrix products go through the register-blocked micro-kernel of
:mod:`sklstm._kernels._gemm`: every output row is accumulated over the inner
dimension in the same order whatever the number of rows, so a sequence's
result never depends on the rest of its batch (the predict path relies on
this), and on CPUs with AVX2 or AVX-512 it is faster than the BLAS that
numpy and scipy ship. ``use_blas=True`` (training, where the order is free)
lets a CPU without AVX call BLAS through ``np.dot`` instead.
"""

import numpy as np

from ._gemm import VECTOR_BYTES, gemm, gemm_packed, packed, panel_width
from ._jit import jit
from ._math import madd, prefer_wide_vectors

__all__ = [
    "matmul", "add_weight_grad", "step_weights", "step_matmul", "active_rows", "zero_rows", "copy_rows",
]

#: BLAS is preferred to the micro-kernel only on CPUs with 128-bit vectors
_BLAS_FASTER = VECTOR_BYTES < 32


@jit
def matmul(a, bt, out, use_blas):
    """``out[:] = a @ bt`` for 2-D arrays with contiguous rows.

    Parameters
    ----------
    a : ndarray of shape (M, K)
    bt : ndarray of shape (K, N)
    out : ndarray of shape (M, N)
        Overwritten.
    use_blas : bool
        Allow BLAS ``gemm`` (order-free) where it is the faster choice.
    """
    if use_blas and _BLAS_FASTER and a.shape[0] > 0 and a.shape[1] > 0 and bt.shape[1] > 0:
        np.dot(a, bt, out)
        return
    gemm(a, False, bt, out, False)


@jit
def add_weight_grad(dg, x, gw):
    """``gw += dg.T @ x``: a weight gradient summed over all timesteps and sequences.

    Parameters
    ----------
    dg : ndarray of shape (R, G)
        Gradient with respect to the layer's pre-activations, one row per
        (timestep, sequence).
    x : ndarray of shape (R, D)
        The matching inputs of the product (layer input or previous h).
    gw : ndarray of shape (G, D)
        Gradient of the weight, accumulated into.
    """
    D = x.shape[1]
    if D >= panel_width(gw):
        gemm(dg, True, x, gw, True)
        return
    # a narrow D would waste most of each SIMD panel: compute the transpose (D, G) instead
    tmp = np.empty((D, dg.shape[1]), dtype=gw.dtype)
    gemm(x, True, dg, tmp, False)
    for i in range(gw.shape[0]):
        for j in range(D):
            gw[i, j] += tmp[j, i]


@jit(internal=True)
def step_weights(w):
    """Weights ``w`` (K, N) prepared once for :func:`step_matmul` (packed panels)."""
    return packed(w)


@jit(internal=True)
def step_matmul(a, wp, w, out, accumulate, use_blas):
    """``out = a @ w`` (or ``out += a @ w``) for a product repeated every timestep.

    Parameters
    ----------
    a : ndarray of shape (M, K)
    wp : ndarray
        ``w`` as returned by :func:`step_weights`.
    w : ndarray of shape (K, N)
        The same weights unpacked (used when BLAS is the faster choice).
    out : ndarray of shape (M, N)
    accumulate : bool
        Add to ``out`` instead of overwriting it.
    use_blas : bool
        As in :func:`matmul`.
    """
    if use_blas and _BLAS_FASTER and a.shape[0] > 0 and a.shape[1] > 0 and w.shape[1] > 0:
        if accumulate:
            out += np.dot(a, w)
        else:
            np.dot(a, w, out)
        return
    if a.shape[0] == 1 and not accumulate and a.shape[1] * w.shape[1] <= ROW_LOOP_MAX:
        _row_product(a[0], w, out[0])
        return
    gemm_packed(a, wp, out, accumulate)


#: largest K*N for which a one-row step product runs as a plain vectorized loop (faster than
#: the micro-kernel's call there: ~0.3 against ~0.43 us for 32 x 128; slower from ~64 x 256 on)
ROW_LOOP_MAX = 8192


@jit(internal=True)
def _row_product(a, w, out):
    """``out = a @ w`` for one row, bitwise equal to the micro-kernel's result.

    Each ``out[j]`` is the micro-kernel's chain ``fma(a[K-1], w[K-1, j], ...
    fma(a[0], w[0, j], 0))`` (multiply-add without FMA), accumulated in place
    over ``k``, so a sequence predicted alone gets the bits it gets in a batch.
    """
    prefer_wide_vectors()
    for j in range(out.shape[0]):
        out[j] = 0
    for k in range(a.shape[0]):
        ak = a[k]
        wk = w[k]
        for j in range(out.shape[0]):
            out[j] = madd(ak, wk[j], out[j])


@jit(internal=True)
def active_rows(lengths, t):
    """Number of leading sequences with ``lengths > t``.

    Batches are sorted by decreasing length before they reach a kernel, so
    the sequences still running at step ``t`` are a prefix of the batch.
    """
    n = 0
    b = lengths.shape[0]
    while n < b and lengths[n] > t:
        n += 1
    return n


# The two helpers below replace slice assignments (``a[n:] = 0``, ``dst[:] = src``) in the
# kernels: numba compiles an array-to-array slice assignment through its general broadcasting
# and overlap-checking setitem, which took more than half of the compile time of lstm_forward.


@jit(internal=True)
def zero_rows(a, start):
    """``a[start:] = 0`` for a 2-D array ``a``."""
    for i in range(start, a.shape[0]):
        for j in range(a.shape[1]):
            a[i, j] = 0


@jit(internal=True)
def copy_rows(dst, src, start, stop):
    """``dst[start:stop] = src[start:stop]`` for 2-D arrays of the same width."""
    for i in range(start, stop):
        for j in range(dst.shape[1]):
            dst[i, j] = src[i, j]
