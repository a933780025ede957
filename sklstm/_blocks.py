"""A one-part batch's work in blocks on the step's threads, with numbers that do not depend on how many.

A mini-batch of fewer than 64 sequences (a language model's chunk of 32
streams, a small regressor batch) is one part of the fixed split of
:func:`sklstm._objectives.batch_parts`, which alone used to decide how many
threads a step could use. :class:`sklstm._network.Pass` carries the
step's thread count for such a part, and its work is cut here:

- the time-distributed products (input projections and input gradients
  by rows, weight gradients by output units), from
  ``_MIN_WORK_PER_THREAD`` multiply-adds per thread;
- each layer's recurrence by rows: a row's steps depend on that row only
  (the step product's per-row result does not depend on the other rows),
  so each block runs all the steps of its rows.

Every number is computed whole in one block, in the order the whole batch
computes it, so results are bitwise the same on any number of threads
(tests/test_thread_count.py).
"""

from __future__ import annotations

import numpy as np

from ._kernels._gemm import MR
from ._kernels import _ops
from ._kernels._ops import add_weight_grad, matmul
from ._kernels.head import linear_forward, weight_grad_columns
from ._threads import cut_points, run_blocks

__all__ = ["blocks_allowed", "projection", "recurrence", "weight_and_input_grads"]

#: multiply-adds of a time-distributed product per thread below which it stays on one thread
#: (~0.1 ms: handing a block to a pool thread costs tens of microseconds)
_MIN_WORK_PER_THREAD = 8_000_000


def blocks_allowed(use_blas):
    """Whether work may be cut into blocks: not where the products go through BLAS.

    That is ``use_blas`` on a CPU without AVX (see
    :func:`sklstm._kernels._ops.matmul`): a BLAS need not give a row the
    same bits in blocks of different sizes.
    """
    return not (use_blas and _ops._BLAS_FASTER)


def blocks(p, work):
    """Blocks a product of ``work`` multiply-adds runs in: ``p.threads``, fewer for small products."""
    if not blocks_allowed(p.use_blas):
        return 1
    return max(1, min(int(p.threads), work // _MIN_WORK_PER_THREAD))


def projection(p, x, w_t, b, out):
    """``out = x @ w_t + b`` (:func:`linear_forward`) in blocks of rows on ``p``'s threads."""
    k = blocks(p, x.shape[0] * x.shape[1] * out.shape[1])
    c = cut_points(x.shape[0], k)
    run_blocks(lambda i: linear_forward(x[c[i]:c[i + 1]], w_t, b, out[c[i]:c[i + 1]], p.use_blas), k)


def recurrence(p, width, run):
    """``run(r0, r1)`` over the batch's rows: whole, or in blocks of rows on ``p``'s threads.

    A layer's recurrence cannot be cut in time, but its rows are
    independent: each block runs the whole sequence of steps for its rows
    (the blocks hold about the same number of steps; ``width`` is the
    step product's multiply-adds per row and step).
    """
    lens = p.lens
    B = lens.shape[0]
    k = min(blocks(p, int(lens.sum()) * width), B)
    steps = np.cumsum(lens)
    cuts = [0] + [int(np.searchsorted(steps, steps[-1] * i / k)) + 1 for i in range(1, k)] + [B]
    cuts = [min(max(c, a), B) for c, a in zip(cuts, [0] + cuts[:-1])]
    run_blocks(lambda i: run(cuts[i], cuts[i + 1]), k)


def weight_and_input_grads(p, products, w_ih, dx):
    """``gw += dg.T @ x`` for each ``(dg, x, gw)`` of ``products``, and ``dx = products[0][0] @ w_ih``.

    On ``p``'s threads: the weight gradients in blocks of output units, the
    input gradient (skipped when ``dx`` is None) in blocks of rows.
    """
    dg0 = products[0][0]
    R, G = dg0.shape
    work = R * G * sum(x.shape[1] for _, x, _ in products) + (R * G * w_ih.shape[1] if dx is not None else 0)
    k = blocks(p, work)
    if k == 1:
        for dg, x, gw in products:
            add_weight_grad(dg, x, gw)
        if dx is not None:
            matmul(dg0, w_ih, dx, p.use_blas)
        return
    cols, rows = cut_points(G, k, MR), cut_points(R, k)
    none = np.empty(0, dtype=dg0.dtype)

    def block(i):
        for dg, x, gw in products:
            weight_grad_columns(dg, x, gw, none, cols[i], cols[i + 1], False)
        if dx is not None:
            matmul(dg0[rows[i]:rows[i + 1]], w_ih, dx[rows[i]:rows[i + 1]], p.use_blas)

    run_blocks(block, k)
