"""Token embedding on the GPU: the twin of :mod:`sklstm._kernels.embed`.

The backward pass needs no atomics: the host groups a batch's valid steps by
token id (:func:`group_by_token`), and one thread per (token, unit) sums its
steps in a fixed order, so the gradient is reproducible bit for bit.
"""

import numpy as np
from numba import cuda

from ._common import ELEM, blocks, kernel

__all__ = ["embedding_forward", "embedding_backward", "group_by_token"]


@kernel
def _forward(ids, lengths, weight, out):
    i = cuda.grid(1)
    T, B, E = out.shape
    if i >= T * B * E:
        return
    e = i % E
    tb = i // E
    b = tb % B
    t = tb // B
    out[t, b, e] = weight[ids[t, b], e] if t < lengths[b] else weight[0, 0] * 0


def embedding_forward(ids, lengths, weight, out):
    """``out[t, b] = weight[ids[t, b]]`` at valid steps, zeros at padding (device arrays).

    Parameters
    ----------
    ids : int64 device array of shape (T, B)
    lengths : int64 device array of shape (B,)
    weight : device array of shape (V, E)
    out : device array of shape (T, B, E)
        Output.
    """
    if out.size:
        _forward[blocks(out.size), ELEM](ids, lengths, weight, out)


@kernel
def _backward(tokens, offsets, positions, dx, grad):
    i = cuda.grid(1)
    E = grad.shape[1]
    if i >= tokens.shape[0] * E:
        return
    e = i % E
    u = i // E
    acc = grad[0, 0] * 0
    for k in range(offsets[u], offsets[u + 1]):
        acc += dx[positions[k], e]
    grad[tokens[u], e] += acc


def group_by_token(ids, lengths, padding_idx):
    """The valid steps of a time-major chunk grouped by token id, on the host.

    Parameters
    ----------
    ids : int64 ndarray of shape (T, B)
    lengths : int64 ndarray of shape (B,)
    padding_idx : int
        Its steps are left out (its row gets no gradient).

    Returns
    -------
    tokens : int64 ndarray of shape (U,)
        The distinct ids.
    offsets : int64 ndarray of shape (U + 1,)
        ``positions[offsets[u]:offsets[u + 1]]`` are the steps of ``tokens[u]``.
    positions : int64 ndarray
        Steps as ``t * B + b``, increasing within each token.
    """
    T, B = ids.shape
    valid = (np.arange(T)[:, None] < lengths[None, :]) & (ids != padding_idx)
    pos = np.flatnonzero(valid.ravel())
    tok = ids.ravel()[pos]
    order = np.argsort(tok, kind="stable")
    tok, pos = tok[order], pos[order]
    tokens, starts = np.unique(tok, return_index=True)
    offsets = np.append(starts, tok.size).astype(np.int64)
    return tokens.astype(np.int64), offsets, pos.astype(np.int64)


def embedding_backward(tokens, offsets, positions, dx, grad):
    """Add the gradient of the looked-up rows into ``grad`` (device arrays; see :func:`group_by_token`).

    Parameters
    ----------
    tokens, offsets, positions : int64 device arrays
        From :func:`group_by_token`.
    dx : device array of shape (T * B, E)
        Gradient with respect to the embedded inputs, rows ``t * B + b``.
    grad : device array of shape (V, E)
        Added into.
    """
    n = tokens.shape[0] * grad.shape[1]
    if n:
        _backward[blocks(n), ELEM](tokens, offsets, positions, dx, grad)
