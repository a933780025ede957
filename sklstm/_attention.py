"""Luong attention for the encoder-decoder (:mod:`sklstm._seq2seq`), batch-major.

Global attention with a dot score and no input feeding (Luong et al.
2015): each decoder output ``q_t`` scores the encoder outputs (or their
projection by ``attention.key.weight`` when the encoder is wider), the
softmax over the valid source steps weights them into a context, and
``tanh(W_c [context; q_t] + b_c)`` is what the output layer reads. The same
functions serve a whole teacher-forced target (training, with BLAS and a
cache for :func:`attend_backward`) and one decoding step (prediction, with
the fixed-order kernel of :mod:`sklstm._kernels.attention`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _network as net
from ._kernels.attention import attention_context
from ._kernels.head import linear_forward

__all__ = ["AttentionCache", "attend", "attend_backward", "dense", "source_mask", "project_keys"]


class AttentionCache(NamedTuple):
    """What :func:`attend` keeps for :func:`attend_backward`."""

    q: np.ndarray        # (B, T, H) queries (zero at padding)
    memory: np.ndarray   # (B, S, E)
    keys: np.ndarray     # (B, S, H)
    weights: np.ndarray  # (B, T, S)
    u: np.ndarray        # (B, T, E + H) [context; query]
    out: np.ndarray      # (B, T, H)


def attend(spec, v, q, memory, keys, mask, keys_t=None, src_lens=None):
    """Luong global attention (dot score), batch-major, for ``T`` queries per row.

    ``a = softmax_s(q_t . k_s)`` over the valid source steps,
    ``context_t = sum_s a_ts m_s``, output ``tanh(W_c [context_t; q_t] + b_c)``.

    Parameters
    ----------
    spec : Seq2SeqSpec
    v : dict
        Parameter views.
    q : ndarray of shape (B, T, H)
        Decoder outputs (zero where not valid).
    memory : ndarray of shape (B, S, E)
        Encoder outputs (zero at padding).
    keys : ndarray of shape (B, S, H)
        ``memory`` itself, or projected by ``attention.key.weight``.
    mask : ndarray of shape (B, 1, S)
        0 at the valid source steps, -inf at padding (:func:`source_mask`).
    keys_t, src_lens : ndarray of shape (B, H, S), int64 ndarray of shape (B,), optional
        Prediction: the transposed keys and the source lengths; the
        weights and the context then come from the fixed-order kernel
        (a row's bits never depend on its batch or its padding) and no
        cache is kept.

    Returns
    -------
    out : ndarray of shape (B, T, H)
    cache : AttentionCache
    """
    B, T, H = q.shape
    if keys_t is not None:
        scores = np.empty((B, T, keys_t.shape[2]), dtype=q.dtype)
        context = np.empty((B, T, memory.shape[2]), dtype=q.dtype)
        attention_context(np.ascontiguousarray(q), keys_t, memory, src_lens, scores, context)
    else:
        scores = np.matmul(q, keys.transpose(0, 2, 1))  # (B, T, S)
        scores += mask
        scores -= scores.max(axis=2, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=2, keepdims=True)
        context = np.matmul(scores, memory)  # (B, T, E)
    u = np.concatenate([context, q], axis=2)
    out = np.empty((B * T, H), dtype=q.dtype)
    linear_forward(np.ascontiguousarray(u.reshape(B * T, -1)), net.transposed(v["attention.combine.weight"]),
                   v["attention.combine.bias"], out, False)
    np.tanh(out, out=out)
    out = out.reshape(B, T, H)
    if keys_t is not None:
        return out, None
    return out, AttentionCache(q, memory, keys, scores, u, out)


def dense(x, w, b, fixed):
    """``x @ w.T + b`` (no bias when b is None); ``fixed``: in the fixed order of prediction."""
    if not fixed:
        return x @ w.T if b is None else x @ w.T + b
    out = np.empty((x.shape[0], w.shape[0]), dtype=x.dtype)
    bias = np.zeros(w.shape[0], dtype=x.dtype) if b is None else b
    linear_forward(np.ascontiguousarray(x), net.transposed(w), bias, out, False)
    return out


def source_mask(src_lens, S, dtype):
    """Additive attention mask of shape (B, 1, S): 0 where ``s < src_lens[b]``, -inf beyond."""
    pad = np.arange(S)[None, None, :] >= np.asarray(src_lens)[:, None, None]
    return np.where(pad, -np.inf, 0.0).astype(dtype)


def project_keys(spec, v, memory, fixed=False):
    """The attention keys of ``memory`` (B, S, E): itself, or ``memory @ W_key.T``."""
    if not spec.keyed:
        return memory
    B, S, E = memory.shape
    return dense(memory.reshape(B * S, E), v["attention.key.weight"], None, fixed).reshape(B, S, -1)


def attend_backward(spec, v, g, cache, dout):
    """Backward of :func:`attend`; adds the attention weights' gradients into ``g``.

    Returns
    -------
    dq : ndarray of shape (B, T, H)
    dmemory : ndarray of shape (B, S, E)
    """
    B, T, H = cache.q.shape
    E = cache.memory.shape[2]
    dz = dout * (1.0 - cache.out * cache.out)
    dz2 = dz.reshape(B * T, H)
    g["attention.combine.weight"] += dz2.T @ cache.u.reshape(B * T, -1)
    g["attention.combine.bias"] += dz2.sum(axis=0)
    du = (dz2 @ v["attention.combine.weight"]).reshape(B, T, E + H)
    dcontext, dq = du[:, :, :E], du[:, :, E:]
    a = cache.weights
    da = np.matmul(dcontext, cache.memory.transpose(0, 2, 1))  # (B, T, S)
    dmemory = np.matmul(a.transpose(0, 2, 1), dcontext)  # (B, S, E)
    dscores = a * (da - (da * a).sum(axis=2, keepdims=True))
    dq = dq + np.matmul(dscores, cache.keys)
    dkeys = np.matmul(dscores.transpose(0, 2, 1), cache.q)  # (B, S, H)
    if spec.keyed:
        dk2 = dkeys.reshape(B * dkeys.shape[1], H)
        g["attention.key.weight"] += dk2.T @ cache.memory.reshape(-1, E)
        dmemory += (dk2 @ v["attention.key.weight"]).reshape(dmemory.shape)
    else:
        dmemory += dkeys
    return dq, dmemory
