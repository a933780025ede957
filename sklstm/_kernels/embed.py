"""Token embedding: the lookup of a time-major batch of token ids and its gradient."""

from ._jit import jit


@jit
def embedding_forward(ids, lengths, weight, out):
    """``out[t, b] = weight[ids[t, b]]`` for the valid steps ``t < lengths[b]``, zeros at padding.

    Parameters
    ----------
    ids : int64 ndarray of shape (T, B)
        Token ids, each in ``[0, V)`` at valid steps (checked by the caller).
    lengths : int64 ndarray of shape (B,)
    weight : ndarray of shape (V, E)
    out : ndarray of shape (T, B, E)
        Output.
    """
    T, B = ids.shape
    E = weight.shape[1]
    for t in range(T):
        for b in range(B):
            o = out[t, b]
            if t < lengths[b]:
                w = weight[ids[t, b]]
                for e in range(E):
                    o[e] = w[e]
            else:
                for e in range(E):
                    o[e] = 0


@jit
def embedding_backward(ids, lengths, dx, grad, padding_idx):
    """Add the gradient of the looked-up rows into ``grad`` (the padding row gets none).

    Steps are visited in a fixed order (time, then batch row), so the sums
    are reproducible bit for bit.

    Parameters
    ----------
    ids : int64 ndarray of shape (T, B)
    lengths : int64 ndarray of shape (B,)
    dx : ndarray of shape (T, B, E)
        Gradient with respect to the embedded inputs.
    grad : ndarray of shape (V, E)
        Gradient of ``weight``; added into.
    padding_idx : int
    """
    T, B = ids.shape
    E = grad.shape[1]
    for t in range(T):
        for b in range(B):
            if t < lengths[b]:
                i = ids[t, b]
                if i != padding_idx:
                    g = grad[i]
                    d = dx[t, b]
                    for e in range(E):
                        g[e] += d[e]
