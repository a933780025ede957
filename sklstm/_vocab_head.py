"""The vocabulary softmax of a token model's training step, cut into blocks that run on threads.

A language model's output layer has ``n = steps * streams`` rows and a
vocabulary of ``V`` columns; at word level (``V`` in the thousands) its
three products (the logits, the weight gradient, the gradient of the
features) and the softmax are most of a training step. A chunk of 32
streams is one part of the thread-count-independent split of
:func:`sklstm._objectives.batch_parts`, so without this it ran on one core
whatever the thread count. Here the logits, the softmax and the feature
gradient are cut into blocks of rows, and the weight and bias gradients
into blocks of vocabulary columns, one block per thread.

Every number is computed whole inside one block, in the order it would be
computed for the whole layer (the matrix product's per-element chain
depends on the inner dimension only; a row's softmax on that row only), and
the loss is summed over the per-row losses once, in row order: the results
are bitwise the same on any number of threads (tested).
"""

from __future__ import annotations

import numpy as np

from . import _network as net
from ._blocks import blocks_allowed
from ._kernels._gemm import MR
from ._kernels._ops import matmul
from ._kernels.head import linear_forward, weight_grad_columns
from ._threads import cut_points, run_blocks

__all__ = ["softmax_head", "softmax_rows_"]


def softmax_rows_(logits, y, denom, row_loss):
    """Cross-entropy of each row of ``logits`` against ``y``; ``logits`` becomes its gradient.

    In place and in the logits' own dtype (a vocabulary-wide softmax over
    every step of a chunk is the largest array of a language model's step);
    the sums are taken in float64. Each row's numbers depend on that row
    only.

    Parameters
    ----------
    logits : ndarray of shape (n, V)
        Overwritten with ``(softmax(logits) - onehot(y)) / denom``.
    y : int64 ndarray of shape (n,)
    denom : float
    row_loss : float64 ndarray of shape (n,)
        Output: ``logsumexp(logits[i]) - logits[i, y[i]]`` (not divided by
        ``denom``).
    """
    rows = np.arange(logits.shape[0])
    logits -= logits.max(axis=1, keepdims=True)
    picked = logits[rows, y].astype(np.float64)
    np.exp(logits, out=logits)
    total = logits.sum(axis=1, dtype=np.float64)
    np.subtract(np.log(total), picked, out=row_loss)
    logits *= (1.0 / (total * denom)).astype(logits.dtype)[:, None]
    logits[rows, y] -= logits.dtype.type(1.0 / denom)


def softmax_head(feat, weight, bias, targets, denom, gw, gb, *, ws=None, n_threads=1, use_blas=True):
    """Logits, mean cross-entropy and gradients of a vocabulary softmax layer.

    Parameters
    ----------
    feat : ndarray of shape (n, H)
        The layer's inputs (the top recurrent layer's outputs, one row per
        step and stream).
    weight : ndarray of shape (V, H)
    bias : ndarray of shape (V,)
    targets : int64 ndarray of shape (n,)
        The next tokens.
    denom : float
        The loss is the summed cross-entropy over ``denom`` (the chunk's
        tokens).
    gw : ndarray of shape (V, H)
        Output: the weight gradient (overwritten).
    gb : ndarray of shape (V,)
        Output: the bias gradient (overwritten).
    ws : sklstm._network.Workspace or None
        Buffers reused between steps (the ``(n, V)`` logits).
    n_threads : int, default=1
        Threads the blocks run on; the results do not depend on it.
    use_blas : bool, default=True
        See :func:`sklstm._kernels._ops.matmul`.

    Returns
    -------
    loss : float
    dfeat : ndarray of shape (n, H)
        Gradient of the loss with respect to ``feat``.
    """
    n, H = feat.shape
    V = weight.shape[0]
    dt = feat.dtype
    logits = net.scratch(ws, ("logits",), (n, V), dt)
    dfeat = np.empty((n, H), dtype=dt)
    row_loss = np.empty(n)
    w_t = net.transposed(weight)
    k = max(1, min(int(n_threads), n, V)) if blocks_allowed(use_blas) else 1
    rows = cut_points(n, k)
    cols = cut_points(V, k, MR)  # output units of the weight gradient: whole tiles of its rows

    def forward(i):
        r = slice(rows[i], rows[i + 1])
        linear_forward(feat[r], w_t, bias, logits[r], use_blas)
        softmax_rows_(logits[r], targets[r], denom, row_loss[r])

    def backward(i):
        r = slice(rows[i], rows[i + 1])
        matmul(logits[r], weight, dfeat[r], use_blas)
        weight_grad_columns(logits, feat, gw, gb, cols[i], cols[i + 1], True)

    gw[...] = 0.0
    gb[...] = 0.0
    run_blocks(forward, k)
    run_blocks(backward, k)
    return float(row_loss.sum()) / denom, dfeat
