"""Everything around the recurrent layers on the GPU: batch gathers, head features, losses,
dropout masks, reductions, clipping and the L2 penalty.

Losses are computed in float64 like :mod:`sklstm._losses`; sums run in one
block with a fixed tree, so they are reproducible bit for bit.
"""

import math

import numpy as np
from numba import cuda, uint64

from ._common import ELEM, RED, blocks, kernel

__all__ = [
    "gather_sequences", "gather_rows", "gather_last", "scatter_last", "gather_steps", "scatter_steps",
    "fill", "multiply", "dropout_mask", "loss_rows", "reduce_sum", "clip_by_value", "clip_by_norm",
    "add_l2", "LOSS_CODES",
]

#: loss name -> code understood by :func:`loss_rows`
LOSS_CODES = {"squared_error": 0, "softmax": 1, "logistic": 2, "multilabel": 2}


@kernel
def _gather_sequences(X, rows, t0, x):
    i = cuda.grid(1)
    T, B, F = x.shape
    if i >= T * B * F:
        return
    f = i % F
    tb = i // F
    b = tb % B
    t = tb // B
    x[t, b, f] = X[rows[b], t0 + t, f]


def gather_sequences(X, rows, t0, x):
    """``x[t, b] = X[rows[b], t0 + t]``: a time-major batch (T, B, F) from padded data (n, T_max, F)."""
    if x.size:
        _gather_sequences[blocks(x.size), ELEM](X, rows, int(t0), x)


@kernel
def _gather_rows(src, idx, out):
    i = cuda.grid(1)
    if i >= out.size:
        return
    k = out.shape[1]
    r = i // k
    j = i - r * k
    out[r, j] = src[idx[r], j]


def gather_rows(src, idx, out):
    """``out = src[idx]`` for 2-D device arrays."""
    if out.size:
        _gather_rows[blocks(out.size), ELEM](src, idx, out)


@kernel
def _last(top, rows, steps, H, bidirectional, feat, backward):
    i = cuda.grid(1)
    n = rows.shape[0]
    W = feat.shape[1]
    if i >= n * W:
        return
    r = i // W
    j = i - r * W
    t = steps[r] if (j < H or not bidirectional) else 0  # the reverse direction ends at step 0
    if backward:
        top[t, rows[r], j] += feat[r, j]
    else:
        feat[r, j] = top[t, rows[r], j]


def gather_last(top, rows, steps, hidden, bidirectional, feat):
    """Head features of rows ``rows``: forward h at ``steps``, reverse h at step 0 (bidirectional)."""
    if feat.size:
        _last[blocks(feat.size), ELEM](top, rows, steps, hidden, bool(bidirectional), feat, False)


def scatter_last(dfeat, rows, steps, hidden, bidirectional, dtop):
    """Adjoint of :func:`gather_last`: add ``dfeat`` into ``dtop`` (rows are distinct)."""
    if dfeat.size:
        _last[blocks(dfeat.size), ELEM](dtop, rows, steps, hidden, bool(bidirectional), dfeat, True)


@kernel
def _steps(top, tt, bb, feat, backward):
    i = cuda.grid(1)
    W = feat.shape[1]
    if i >= tt.shape[0] * W:
        return
    r = i // W
    j = i - r * W
    if backward:
        top[tt[r], bb[r], j] = feat[r, j]
    else:
        feat[r, j] = top[tt[r], bb[r], j]


def gather_steps(top, tt, bb, feat):
    """``feat[i] = top[tt[i], bb[i]]`` (the valid steps of a batch, for per-step heads)."""
    if feat.size:
        _steps[blocks(feat.size), ELEM](top, tt, bb, feat, False)


def scatter_steps(dfeat, tt, bb, dtop):
    """``dtop[tt[i], bb[i]] = dfeat[i]`` (pairs are distinct)."""
    if dfeat.size:
        _steps[blocks(dfeat.size), ELEM](dtop, tt, bb, dfeat, True)


@kernel
def _fill(x, value):
    i = cuda.grid(1)
    if i < x.shape[0]:
        x[i] = value


def fill(x, value):
    """Set every element of a contiguous device array to ``value``."""
    flat = x.reshape(x.size)
    if x.size:
        _fill[blocks(x.size), ELEM](flat, np.dtype(x.dtype).type(value))


@kernel
def _multiply(a, b, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = a[i] * b[i]


def multiply(a, b, out):
    """``out = a * b`` elementwise (contiguous device arrays of one shape; ``out`` may be ``a``)."""
    if out.size:
        _multiply[blocks(out.size), ELEM](a.reshape(a.size), b.reshape(b.size), out.reshape(out.size))


_M = np.uint64(0xD256D193)
_W = np.uint64(0x9E3779B9)
_LO = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_INV32 = 1.0 / 4294967296.0


@cuda.jit(device=True, inline=True, cache=True)
def philox2x32(c0, c1, key):
    """Philox-2x32-10 (Salmon et al. 2011, Random123) of the counter (c0, c1) under a 32-bit key.

    Products of 32-bit values fit in 64 bits, so nothing overflows.
    """
    x0 = uint64(c0) & _LO
    x1 = uint64(c1) & _LO
    k = uint64(key) & _LO
    for _ in range(10):
        prod = _M * x0
        x0 = ((prod >> _S32) ^ k ^ x1) & _LO
        x1 = prod & _LO
        k = (k + _W) & _LO
    return x0, x1


@kernel
def _dropout_mask(out, key, stream, p, scale):
    i = cuda.grid(1)
    if i >= out.shape[0]:
        return
    x0, _ = philox2x32(uint64(i), uint64(stream), uint64(key))
    u = float(x0) * _INV32
    out[i] = scale if u >= p else scale - scale


def dropout_mask(out, key, stream, p):
    """Inverted-dropout mask: ``1 / (1 - p)`` with probability ``1 - p``, else 0.

    Counter-based: element ``i`` of stream ``stream`` under ``key`` is the
    same on every GPU and in every run, with no RNG state on the device.

    Parameters
    ----------
    out : contiguous device array
        Output mask.
    key : int
        32-bit key (drawn per training step from the estimator's RNG).
    stream : int
        Which mask of the step (each dropout site has its own).
    p : float
        Dropout rate in [0, 1).
    """
    if out.size:
        _dropout_mask[blocks(out.size), ELEM](out.reshape(out.size), int(key) & 0xFFFFFFFF,
                                              int(stream) & 0x7FFFFFFF, float(p),
                                              np.dtype(out.dtype).type(1.0 / (1.0 - p)))


@cuda.jit(device=True, inline=True, cache=True)
def _log_sigmoid(z):
    if z >= 0.0:
        return -math.log1p(math.exp(-z))
    return z - math.log1p(math.exp(z))


@cuda.jit(device=True, inline=True, cache=True)
def _sigmoid64(z):
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@kernel
def _loss_rows(code, logits, y, w, denom, per, dl):
    i = cuda.grid(1)
    if i >= logits.shape[0]:
        return
    k = logits.shape[1]
    scale = w[i] / denom
    acc = 0.0
    if code == 0:
        for j in range(k):
            d = float(logits[i, j]) - y[i, j]
            acc += d * d
            dl[i, j] = d * (2.0 / k) * scale
        per[i] = acc / k * scale
    elif code == 1:
        m = float(logits[i, 0])
        for j in range(1, k):
            m = max(m, float(logits[i, j]))
        for j in range(k):
            acc += math.exp(float(logits[i, j]) - m)
        lse = math.log(acc)
        c = int(y[i, 0])
        per[i] = (lse - (float(logits[i, c]) - m)) * scale
        for j in range(k):
            g = math.exp(float(logits[i, j]) - m - lse)
            if j == c:
                g -= 1.0
            dl[i, j] = g * scale
    else:
        for j in range(k):
            z = float(logits[i, j])
            yv = y[i, j]
            acc -= yv * _log_sigmoid(z) + (1.0 - yv) * _log_sigmoid(-z)
            dl[i, j] = (_sigmoid64(z) - yv) / k * scale
        per[i] = acc / k * scale


def loss_rows(loss, logits, y, w, denom, per, dlogits):
    """Per-row weighted losses and their gradient with respect to ``logits`` (float64 math).

    Parameters
    ----------
    loss : str
        A name of :data:`sklstm._losses.LOSSES`.
    logits : device array of shape (n, k)
    y : float64 device array of shape (n, k)
        Targets; for ``softmax`` column 0 holds the class index.
    w : float64 device array of shape (n,)
        Sample weights.
    denom : float
        Normaliser, as in :func:`sklstm._losses.loss_and_output_grad`.
    per : float64 device array of shape (n,)
        Output: ``w_i * loss_i / denom``.
    dlogits : device array of shape (n, k)
        Output: the gradient (dtype of ``logits``).
    """
    n = logits.shape[0]
    if n:
        _loss_rows[blocks(n), ELEM](LOSS_CODES[loss], logits, y, w, float(denom), per, dlogits)


@kernel
def _reduce(x, mask, use_mask, square, out, slot, scale, accumulate):
    part = cuda.shared.array(RED, dtype=np.float64)
    tid = cuda.threadIdx.x
    acc = 0.0
    for i in range(tid, x.shape[0], RED):
        if use_mask and mask[i] == 0:
            continue
        v = float(x[i])
        acc += v * v if square else v
    part[tid] = acc
    cuda.syncthreads()
    width = RED // 2
    while width > 0:
        if tid < width:
            part[tid] += part[tid + width]
        cuda.syncthreads()
        width //= 2
    if tid == 0:
        if accumulate:
            out[slot] += scale * part[0]
        else:
            out[slot] = scale * part[0]


def reduce_sum(x, out, slot, square=False, mask=None, scale=1.0, accumulate=False):
    """``out[slot] (+)= scale * sum(x)`` (or of ``x**2``), in float64 and a fixed order.

    Parameters
    ----------
    x : contiguous device array
    out : float64 device array
        Holds the result in ``out[slot]``.
    slot : int
    square : bool
        Sum of squares.
    mask : uint8 device array of x's size or None
        Sum only where nonzero.
    scale : float
    accumulate : bool
    """
    flat = x.reshape(x.size)
    _reduce[1, RED](flat, flat if mask is None else mask, mask is not None, bool(square), out, int(slot),
                    float(scale), bool(accumulate))


@kernel
def _clip_by_value(g, c):
    i = cuda.grid(1)
    if i < g.shape[0]:
        if g[i] > c:
            g[i] = c
        elif g[i] < -c:
            g[i] = -c


def clip_by_value(g, clip_value):
    """Clip every component of a flat device vector to ``[-clip_value, clip_value]``."""
    _clip_by_value[blocks(g.size), ELEM](g, np.dtype(g.dtype).type(clip_value))


@kernel
def _clip_by_norm(g, stats, slot, clip):
    i = cuda.grid(1)
    if i >= g.shape[0]:
        return
    norm = math.sqrt(stats[slot])
    if norm > clip:
        factor = cuda.local.array(1, dtype=g.dtype)  # rounded to g's dtype first, as on the CPU
        factor[0] = clip / (norm + 1e-6)
        g[i] *= factor[0]


def clip_by_norm(g, stats, slot, clip_norm):
    """Scale ``g`` by ``clip_norm / (norm + 1e-6)`` when its norm (``sqrt(stats[slot])``) exceeds it.

    The norm stays on the device: no round trip to the host.
    """
    _clip_by_norm[blocks(g.size), ELEM](g, stats, int(slot), float(clip_norm))


@kernel
def _add_l2(grad, flat, mask, coef):
    i = cuda.grid(1)
    if i < grad.shape[0] and mask[i] != 0:
        grad[i] += coef * flat[i]


def add_l2(grad, flat, mask, coef):
    """``grad[mask] += coef * flat[mask]`` (the L2 penalty's gradient over weight matrices)."""
    _add_l2[blocks(grad.size), ELEM](grad, flat, mask, np.dtype(grad.dtype).type(coef))
