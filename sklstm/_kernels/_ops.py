"""Small building blocks shared by the cell kernels.

Two matrix products are offered. ``use_blas=True`` calls BLAS through
``np.dot`` (fastest for training). ``use_blas=False`` runs a fixed-order
loop: every output row is accumulated over the inner dimension in the same
order whatever the number of rows, so a sequence's result never depends on
the rest of its batch (the predict path relies on this).
"""

import numpy as np

from ._jit import jit


@jit
def matmul(a, bt, out, use_blas):
    """``out[:] = a @ bt`` for C-contiguous 2-D arrays.

    Parameters
    ----------
    a : ndarray of shape (M, K)
    bt : ndarray of shape (K, N)
    out : ndarray of shape (M, N)
        Overwritten.
    use_blas : bool
        BLAS ``gemm`` when True, else the batch-independent fixed-order loop.
    """
    m, k = a.shape
    n = bt.shape[1]
    if m == 0 or n == 0:
        return
    if k == 0:
        out[:] = 0
        return
    if use_blas:
        np.dot(a, bt, out)
        return
    # Each output is accumulated over p = 0, 1, ..., k-1 in that order; the
    # p loop is unrolled by 4 so a row of ``out`` is loaded and stored once
    # per 4 products instead of once per product (same arithmetic).
    k4 = 1 + (k - 1) // 4 * 4
    for i in range(m):
        row = out[i]
        ai = a[i]
        b0 = bt[0]
        x0 = ai[0]
        for j in range(n):
            row[j] = x0 * b0[j]
        for q in range((k - 1) // 4):
            p = 1 + 4 * q
            x0, x1, x2, x3 = ai[p], ai[p + 1], ai[p + 2], ai[p + 3]
            c0, c1, c2, c3 = bt[p], bt[p + 1], bt[p + 2], bt[p + 3]
            for j in range(n):
                row[j] = (((row[j] + x0 * c0[j]) + x1 * c1[j]) + x2 * c2[j]) + x3 * c3[j]
        for p in range(k4, k):
            x0 = ai[p]
            c0 = bt[p]
            for j in range(n):
                row[j] += x0 * c0[j]


@jit
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
