"""Dense head, dropout and gradient clipping kernels."""

import math

from ._jit import jit
from ._ops import add_weight_grad, matmul


@jit
def linear_forward(x, w_t, bias, out, use_blas):
    """``out = x @ w_t + bias``.

    Parameters
    ----------
    x : ndarray of shape (M, K)
    w_t : ndarray of shape (K, N)
        Transposed weight (``W.T`` of a torch ``nn.Linear``); rows must be
        contiguous (any row stride, e.g. a block of columns).
    bias : ndarray of shape (N,)
    out : ndarray of shape (M, N)
        Overwritten.
    use_blas : bool
        See :func:`sklstm._kernels._ops.matmul`.
    """
    matmul(x, w_t, out, use_blas)
    for i in range(out.shape[0]):
        row = out[i]
        for j in range(row.shape[0]):
            row[j] += bias[j]


@jit
def weight_grad_columns(dg, x, gw, gb, c0, c1, bias):
    """``gw[c0:c1] += dg[:, c0:c1].T @ x`` and (``bias``) ``gb[c0:c1] +=`` the column sums of that block.

    A block of output units of a dense layer's gradients; every element is
    computed as :func:`sklstm._kernels._ops.add_weight_grad` computes it for
    the whole layer (rows of ``dg`` in order), so blocks run on different
    threads give the whole layer's bits.

    Parameters
    ----------
    dg : ndarray of shape (n, N)
        Gradient with respect to the layer's outputs.
    x : ndarray of shape (n, D)
        The layer's inputs.
    gw : ndarray of shape (N, D)
        Weight gradient, accumulated into.
    gb : ndarray of shape (N,)
        Bias gradient, accumulated into (not read without ``bias``: may be empty).
    c0, c1 : int
        The block of output units.
    bias : bool
        Also the bias gradient.
    """
    add_weight_grad(dg[:, c0:c1], x, gw[c0:c1])
    if not bias:
        return
    for k in range(dg.shape[0]):
        row = dg[k]
        for j in range(c0, c1):
            gb[j] += row[j]


@jit
def clip_by_value(g, clip_value):
    """Clip every component of ``g`` to ``[-clip_value, clip_value]`` in place."""
    for i in range(g.shape[0]):
        if g[i] > clip_value:
            g[i] = clip_value
        elif g[i] < -clip_value:
            g[i] = -clip_value


@jit
def global_norm(g):
    """L2 norm of a flat vector, accumulated in float64 in a fixed order."""
    acc = 0.0
    for i in range(g.shape[0]):
        v = float(g[i])
        acc += v * v
    return math.sqrt(acc)


@jit
def scale_inplace(g, factor):
    """``g *= factor`` in place."""
    for i in range(g.shape[0]):
        g[i] *= factor
