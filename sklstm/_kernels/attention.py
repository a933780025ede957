"""Dot-product attention over encoder outputs, in a fixed order (prediction and scoring).

Each weight and each context value is summed over the valid source steps
only, always in the same order, so a row's result depends neither on the
other rows of its batch nor on how far the batch is padded.
"""

import math

from ._jit import jit


@jit
def attention_context(q, keys_t, memory, lengths, weights, context):
    """Softmax attention weights of each query over the valid keys, and the weighted mean of ``memory``.

    ``weights[b, t, s] = softmax_s(q[b, t] . keys_t[b, :, s])`` for
    ``s < lengths[b]`` (0 beyond), ``context[b, t] = sum_s weights[b, t, s]
    * memory[b, s]``.

    Parameters
    ----------
    q : ndarray of shape (B, T, H)
        Queries (the decoder's outputs).
    keys_t : ndarray of shape (B, H, S)
        Keys, transposed (each step's key is a column).
    memory : ndarray of shape (B, S, E)
        Encoder outputs.
    lengths : int64 ndarray of shape (B,)
        Valid source steps of each row (>= 1).
    weights : ndarray of shape (B, T, S)
        Output.
    context : ndarray of shape (B, T, E)
        Output.
    """
    B, T, H = q.shape
    S = keys_t.shape[2]
    E = memory.shape[2]
    for b in range(B):
        n = lengths[b]
        kt = keys_t[b]
        mem = memory[b]
        for t in range(T):
            w = weights[b, t]
            qt = q[b, t]
            for s in range(S):
                w[s] = 0
            for h in range(H):  # each score summed over h in order; the s loop vectorizes
                qh = qt[h]
                row = kt[h]
                for s in range(n):
                    w[s] += qh * row[s]
            top = w[0]
            for s in range(1, n):
                top = max(top, w[s])
            total = 0.0
            for s in range(n):
                w[s] = math.exp(w[s] - top)
                total += w[s]
            inv = 1.0 / total
            for s in range(n):
                w[s] = w[s] * inv
            c = context[b, t]
            for e in range(E):
                c[e] = 0
            for s in range(n):
                ws = w[s]
                m = mem[s]
                for e in range(E):
                    c[e] += ws * m[e]
