"""Matrix products on the GPU in a fixed summation order (no cuBLAS in numba.cuda).

Square ``TILE x TILE`` tiles staged in shared memory; each output element
is summed by one thread over ``k`` in increasing order, so a row's result
never depends on how many other rows the product has. Long sums (the weight
gradients sum over every step of every sequence, ``K = T * B``) are split
into parts of ``SPLIT_K`` terms computed by separate blocks, then the parts
are added in order by a second kernel: more blocks at work, and the split
depends only on the shapes, so results stay reproducible.
"""

import threading

from numba import cuda

from ._common import ELEM, SPLIT_K, TILE, blocks, kernel, zero_of

__all__ = ["gemm", "linear_forward", "column_sums", "transpose"]

_LOCAL = threading.local()  # per-thread buffers of partial products, reused between calls


def _parts_buffer(parts, M, N, dtype):
    cache = getattr(_LOCAL, "bufs", None)
    if cache is None:
        cache = _LOCAL.bufs = {}
    key = (str(dtype), M, N)
    buf = cache.get(key)
    if buf is None or buf.shape[0] < parts:
        buf = cache[key] = cuda.device_array((parts, M, N), dtype=dtype)
    return buf[:parts]


@kernel
def _gemm(a, b, c, ta, tb, accumulate, bias, use_bias, zero, k_part):
    # c: (parts, M, N); part z sums k in [z * k_part, (z + 1) * k_part); with one part, c is the output
    sa = cuda.shared.array((TILE, TILE), dtype=c.dtype)
    sb = cuda.shared.array((TILE, TILE), dtype=c.dtype)
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    # row tiles on the x axis of the grid (up to 2**31 - 1 blocks; y stops at 65535): M = T * B can be large
    row = cuda.blockIdx.x * TILE + ty
    col = cuda.blockIdx.y * TILE + tx
    z = cuda.blockIdx.z
    M = c.shape[1]
    N = c.shape[2]
    K = a.shape[0] if ta else a.shape[1]
    k_end = min(K, (z + 1) * k_part)
    acc = zero
    for k0 in range(z * k_part, k_end, TILE):
        ka = k0 + tx
        if row < M and ka < k_end:
            sa[ty, tx] = a[ka, row] if ta else a[row, ka]
        else:
            sa[ty, tx] = zero
        kb = k0 + ty
        if col < N and kb < k_end:
            sb[ty, tx] = b[col, kb] if tb else b[kb, col]
        else:
            sb[ty, tx] = zero
        cuda.syncthreads()
        for kk in range(TILE):
            acc += sa[ty, kk] * sb[kk, tx]
        cuda.syncthreads()
    if row < M and col < N:
        if use_bias:
            acc += bias[col]
        if accumulate:
            c[z, row, col] += acc
        else:
            c[z, row, col] = acc


@kernel
def _sum_parts(parts, c, accumulate, bias, use_bias):
    i = cuda.grid(1)
    N = c.shape[1]
    if i >= c.shape[0] * N:
        return
    row = i // N
    col = i - row * N
    acc = parts[0, row, col]
    for z in range(1, parts.shape[0]):
        acc += parts[z, row, col]
    if use_bias:
        acc += bias[col]
    if accumulate:
        c[row, col] += acc
    else:
        c[row, col] = acc


def gemm(a, b, c, ta=False, tb=False, accumulate=False, bias=None):
    """``c = op(a) @ op(b) (+ bias)``, or ``c +=`` it with ``accumulate``.

    Parameters
    ----------
    a : device array of shape (M, K), or (K, M) with ``ta``
    b : device array of shape (K, N), or (N, K) with ``tb``
    c : device array of shape (M, N)
        Output.
    ta, tb : bool
        Use the transpose of ``a`` / ``b``.
    accumulate : bool
        Add to ``c`` instead of overwriting it.
    bias : device array of shape (N,) or None
        Added to every row.
    """
    M, N = c.shape
    if M == 0 or N == 0:
        return
    K = a.shape[0] if ta else a.shape[1]
    dummy = c[0] if bias is None else bias
    parts = blocks(K, SPLIT_K) if K > 2 * SPLIT_K else 1
    grid = (blocks(M, TILE), blocks(N, TILE), parts)
    if parts == 1:
        _gemm[grid, (TILE, TILE)](a, b, c.reshape(1, M, N), bool(ta), bool(tb), bool(accumulate), dummy,
                                  bias is not None, zero_of(c), max(K, 1))
        return
    buf = _parts_buffer(parts, M, N, c.dtype)
    _gemm[grid, (TILE, TILE)](a, b, buf, bool(ta), bool(tb), False, dummy, False, zero_of(c), SPLIT_K)
    _sum_parts[blocks(M * N), ELEM](buf, c, bool(accumulate), dummy, bias is not None)


def linear_forward(x, w, bias, out):
    """``out = x @ w.T + bias`` (a torch ``nn.Linear``; ``w`` of shape (N, K), not transposed)."""
    gemm(x, w, out, tb=True, bias=bias)


@kernel
def _column_sums(a, out, accumulate, zero):
    j = cuda.grid(1)
    if j >= a.shape[1]:
        return
    acc = zero
    for i in range(a.shape[0]):
        acc += a[i, j]
    if accumulate:
        out[j] += acc
    else:
        out[j] = acc


def column_sums(a, out, accumulate=False):
    """``out (+)= a.sum(axis=0)`` for a 2-D device array, summed over rows in order."""
    n = a.shape[1]
    if n == 0:
        return
    _column_sums[blocks(n), ELEM](a, out, bool(accumulate), zero_of(a))


@kernel
def _transpose(a, out):
    i = cuda.grid(1)
    if i >= a.size:
        return
    r = i // a.shape[1]
    c = i - r * a.shape[1]
    out[c, r] = a[r, c]


def transpose(a, out):
    """``out = a.T`` for 2-D device arrays."""
    if a.size:
        _transpose[blocks(a.size), ELEM](a, out)
