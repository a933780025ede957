"""Small building blocks shared by the cell kernels.

Two matrix products are offered. ``use_blas=True`` calls BLAS through
``np.dot`` (fastest for training). ``use_blas=False`` runs a fixed-order
loop: every output row is accumulated over the inner dimension in the same
order whatever the number of rows, so a sequence's result never depends on
the rest of its batch (the predict path relies on this).
"""

import math

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
    for i in range(m):
        row = out[i]
        ai = a[i]
        b0 = bt[0]
        a0 = ai[0]
        for j in range(n):
            row[j] = a0 * b0[j]
        for p in range(1, k):
            ap = ai[p]
            bp = bt[p]
            for j in range(n):
                row[j] += ap * bp[j]


@jit
def sigmoid(x):
    """Logistic function of a scalar, safe for large ``|x|``."""
    return 1.0 / (1.0 + math.exp(-x))


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
