"""The network driver on the GPU: :mod:`sklstm._network` with numba.cuda device arrays.

The same layer-by-layer structure as the CPU driver (and the same flat
parameter layout, so a model moves between devices as one numpy vector),
with every array op done by the kernels of :mod:`sklstm._kernels.cuda`.
Imported only when an estimator's ``device`` selects a GPU.

:func:`loss_and_grad` is one training step's forward and backward on
device data; :class:`sklstm._backend.CudaBackend` keeps the training data,
the parameters, their gradient and the optimizer state on the GPU for a
whole fit.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import cuda

from ._kernels.cuda import blas, embed as dembed, head as dhead
from ._kernels.cuda.gru import gru_backward, gru_forward
from ._kernels.cuda.lstm import lstm_backward, lstm_forward
from ._kernels.cuda.rnn import rnn_backward, rnn_forward
from ._cuda_memory import (  # noqa: F401 - DeviceWorkspace and the checks are used through here
    DeviceWorkspace, check_training_memory, free_device_memory, prediction_batch, step_bytes)
from ._network import LayerCache, Tape, has_cell_state, last_step_index, param_suffix, sort_batch

__all__ = ["DeviceWorkspace", "DeviceParams", "DeviceTargets", "loss_and_grad", "forward",
           "check_training_memory"]

# slots of the per-step statistics vector kept on the device
LOSS, CLIP_NORM, GRAD_NORM, WEIGHT_NORM = 0, 1, 2, 3


class Pass(NamedTuple):
    """What every layer of one pass over a device batch shares (the twin of :class:`sklstm._network.Pass`)."""

    spec: object
    v: dict
    """Parameter views of the device parameter vector."""
    lens: object
    """int64 device array of the decreasing lengths."""
    ws: DeviceWorkspace
    keep: bool = False
    """Keep what backward needs (training)."""
    parity: int = 0
    """Which of two buffers the final states go to (a truncated-BPTT chunk starts from the last one's)."""


def _layer_forward(p, layer, d, inp, state, hs):
    """One direction of one layer, writing its output into ``hs`` (a view of the layer's output).

    Returns ``(cache, (h_n, c_n))``; ``cache`` is a :class:`sklstm._network.LayerCache`.
    """
    spec, v, lens, ws = p.spec, p.v, p.lens, p.ws
    h0, c0 = state
    T, B, D = inp.shape
    h = spec.hidden[layer]
    sfx = param_suffix(layer, d)
    w_ih = v[f"rnn.weight_ih_{sfx}"]
    w_hh = v[f"rnn.weight_hh_{sfx}"]
    b_hh = v[f"rnn.bias_hh_{sfx}"]
    gh = w_ih.shape[0]
    dt = inp.dtype
    key = (layer, d)
    xproj = ws.get(key + ("xproj",), (T * B, gh), dt)
    blas.linear_forward(inp.reshape(T * B, D), w_ih, v[f"rnn.bias_ih_{sfx}"], xproj)
    xproj = xproj.reshape(T, B, gh)
    whh_t = ws.get(key + ("whh_t",), (h, gh), dt)
    blas.transpose(w_hh, whh_t)
    reverse = d == 1
    S = T if p.keep else 1
    hprev = ws.get(key + ("hprev",), (S, B, h), dt)
    # final states alternate between two buffers: the next truncated-BPTT chunk starts from them
    h_n = ws.get(key + ("h_n", p.parity), (B, h), dt)
    cell = spec.cell
    c_n = None
    if has_cell_state(cell):
        cs = ws.get(key + ("cs",), (S, B, h), dt)
        tcs = ws.get(key + ("tcs",), (S, B, h), dt)
        c_n = ws.get(key + ("c_n", p.parity), (B, h), dt)
        lstm_forward(xproj, whh_t, b_hh, lens, reverse, cell == "lstm", h0, c0,
                     hs, hprev, cs, tcs, xproj, h_n, c_n)
        arrays = (xproj, cs, tcs, c0)
    elif cell == "gru":
        gates = ws.get(key + ("gates",), (S, B, gh), dt)
        hn = ws.get(key + ("hn",), (S, B, h), dt)
        rec = ws.get(key + ("rec",), (B, gh), dt)
        gru_forward(xproj, whh_t, b_hh, lens, reverse, h0, hs, hprev, gates, hn, h_n, rec)
        arrays = (gates, hn)
    else:
        rec = ws.get(key + ("rec",), (B, gh), dt)
        rnn_forward(xproj, whh_t, b_hh, lens, reverse, h0, hs, hprev, h_n, rec)
        arrays = (hs,)
    return LayerCache(layer, d, (inp, hprev) + arrays), (h_n, c_n)


def _incoming(ws, key, dstate, i, shape, dt):
    """A device buffer holding the incoming state gradient ``dstate[i]`` (zeros when there is none)."""
    if dstate is None or dstate[i] is None:
        return ws.zeros(key, shape, dt)
    out = ws.get(key, shape, dt)
    out.copy_to_device(dstate[i])
    return out


def _layer_backward(p, g, cache, dhs, dx=None, dstate=None):
    """Backward of one direction of one layer; adds into the gradient views ``g``.

    Writes the gradient with respect to the layer input into ``dx`` unless
    it is None (the reverse direction adds to the forward one's). ``dstate``
    holds the gradients ``(dh_n, dc_n)`` with respect to the final states
    (None: zero). Returns the gradients ``(dh0, dc0)`` with respect to the
    initial states (device buffers of the workspace, valid until the next
    pass).
    """
    spec, v, lens, ws = p.spec, p.v, p.lens, p.ws
    layer, d = cache.layer, cache.d
    inp, hprev = cache.arrays[0], cache.arrays[1]
    T, B, D = inp.shape
    h = spec.hidden[layer]
    sfx = param_suffix(layer, d)
    w_ih = v[f"rnn.weight_ih_{sfx}"]
    w_hh = v[f"rnn.weight_hh_{sfx}"]
    gh = w_ih.shape[0]
    dt = inp.dtype
    reverse = d == 1
    cell = spec.cell
    key = (layer, d)
    dh0 = _incoming(ws, key + ("dh0",), dstate, 0, (B, h), dt)
    dc0 = None
    dgx = ws.get(key + ("dgx",), (T, B, gh), dt)
    if has_cell_state(cell):
        gates, cs, tcs, c0 = cache.arrays[2:]
        dc0 = _incoming(ws, key + ("dc0",), dstate, 1, (B, h), dt)
        lstm_backward(dhs, gates, cs, tcs, c0, w_hh, lens, reverse, cell == "lstm", dgx, dh0, dc0)
        dgh = dgx
    elif cell == "gru":
        gates, hn = cache.arrays[2:]
        dgh = ws.get(key + ("dgh",), (T, B, gh), dt)
        gru_backward(dhs, gates, hn, hprev, w_hh, lens, reverse, dgx, dgh, dh0)
    else:
        rnn_backward(dhs, cache.arrays[2], w_hh, lens, reverse, dgx, dh0)
        dgh = dgx
    dgx2 = dgx.reshape(T * B, gh)
    dgh2 = dgh.reshape(T * B, gh)
    blas.gemm(dgx2, inp.reshape(T * B, D), g[f"rnn.weight_ih_{sfx}"], ta=True, accumulate=True)
    blas.column_sums(dgx2, g[f"rnn.bias_ih_{sfx}"], accumulate=True)
    blas.column_sums(dgh2, g[f"rnn.bias_hh_{sfx}"], accumulate=True)
    blas.gemm(dgh2, hprev.reshape(T * B, h), g[f"rnn.weight_hh_{sfx}"], ta=True, accumulate=True)
    if dx is not None:
        blas.gemm(dgx2, w_ih, dx.reshape(T * B, D), accumulate=d > 0)
    return dh0, dc0


def zero_states(spec, batch, dt, ws):
    """Zero initial states (device arrays) of every layer and direction."""
    out = []
    for layer, h in enumerate(spec.hidden):
        row = []
        for d in range(spec.n_dirs):
            h0 = ws.zeros((layer, d, "h0"), (batch, h), dt)
            c0 = ws.zeros((layer, d, "c0"), (batch, h), dt) if has_cell_state(spec.cell) else None
            row.append((h0, c0))
        out.append(row)
    return out


def _stack_forward(p, x, states, dropout=0.0, key=0):
    """All layers over a time-major device batch; returns ``(top, tape, new_states)`` as the CPU driver."""
    spec, ws = p.spec, p.ws
    inp = x
    T, B = x.shape[0], x.shape[1]
    dt = x.dtype
    caches, masks, new_states = [], [], []
    for layer, h in enumerate(spec.hidden):
        mask = None
        if layer > 0 and dropout > 0.0:
            mask = ws.get((layer, "mask"), inp.shape, dt)
            dhead.dropout_mask(mask, key, layer, dropout)
            dropped = ws.get((layer, "dropped"), inp.shape, dt)
            dhead.multiply(inp, mask, dropped)
            inp = dropped
        top = ws.get((layer, "top"), (T, B, spec.n_dirs * h), dt)
        lc, ls = [], []
        for d in range(spec.n_dirs):
            hs = top if spec.n_dirs == 1 else top[:, :, d * h:(d + 1) * h]
            cache, state_n = _layer_forward(p, layer, d, inp, states[layer][d], hs)
            lc.append(cache)
            ls.append(state_n)
        inp = top
        caches.append(lc)
        masks.append(mask)
        new_states.append(ls)
    return inp, Tape(caches, masks), new_states


def _stack_backward(p, g, dtop, tape, dstates=None, input_grad=False):
    """Backward through all layers; returns ``(dx, dstates0)`` as :func:`sklstm._network.stack_backward`."""
    spec, ws = p.spec, p.ws
    d_out = dtop
    dstates0 = [None] * len(spec.hidden)
    for layer in range(len(spec.hidden) - 1, -1, -1):
        h = spec.hidden[layer]
        inp = tape.caches[layer][0].arrays[0]
        dx = ws.get((layer, "dx"), inp.shape, inp.dtype) if (layer > 0 or input_grad) else None
        row = []
        for d in range(spec.n_dirs):
            dhs = d_out if spec.n_dirs == 1 else d_out[:, :, d * h:(d + 1) * h]
            dstate = None if dstates is None else dstates[layer][d]
            row.append(_layer_backward(p, g, tape.caches[layer][d], dhs, dx, dstate))
        dstates0[layer] = row
        if layer == 0:
            return dx, dstates0
        if tape.masks[layer] is not None:
            dhead.multiply(dx, tape.masks[layer], dx)
        d_out = dx


class DeviceBatch:
    """A mini-batch of the training data on the device, sorted by decreasing length.

    Parameters
    ----------
    X : device array of shape (n, T_max, F)
        All training sequences, padded, batch-major.
    rows : int64 ndarray of shape (B,)
        Sample index of each batch row (host).
    lens : int64 ndarray of shape (B,)
        Their lengths, decreasing (host).
    rows_d : device copy of ``rows``
    tokens : int64 ndarray of shape (B, T_max) or None
        The rows' token ids on the host (models with an embedding: the
        gradient of the embedding is grouped by token there).
    """

    def __init__(self, X, rows, lens, rows_d, tokens=None):
        self.X, self.rows, self.lens, self.rows_d = X, rows, lens, rows_d
        self.tokens = tokens  # host token ids (B, T_max) of a model with an embedding, else None

    def steps(self, t0, t1, nb, ws):
        """Steps ``[t0, t1)`` of the first ``nb`` rows, time-major and contiguous: (t1 - t0, nb, F)."""
        x = ws.get("x", (t1 - t0, nb, self.X.shape[2]), self.X.dtype)
        dhead.gather_sequences(self.X, self.rows_d[:nb], t0, x)
        return x


class DeviceParams(NamedTuple):
    """The device arrays one training step works on."""

    flat: object
    """Parameters, shape (n_params,)."""
    grad: object
    """Gradient output, shape (n_params,) (L2 added and clipped as on the CPU)."""
    stats: object
    """float64 (4,): loss, squared norm before clipping by norm, squared final gradient norm, weight norm."""
    weight_mask: object
    """uint8 (n_params,): where the L2 penalty applies."""


class DeviceTargets(NamedTuple):
    """All encoded targets and sample weights of a training set on the device (:func:`upload_targets`)."""

    Y: object
    """float64 (n, k), or (n * y_steps, k) per step; class index in column 0 for ``softmax``."""
    W: object
    """float64 (n, 1) sample weights."""
    y_steps: int
    """Steps per sample in ``Y``."""


def loss_and_grad(objective, params, batch, targets, ws, key=0):
    """Loss of one mini-batch (into ``params.stats[0]``) and its gradient (into ``params.grad``) on the GPU.

    The device twin of :meth:`sklstm._objectives.RecurrentObjective.loss_and_grad`.

    Parameters
    ----------
    objective : RecurrentObjective
        The network, loss and training options.
    params : DeviceParams
    batch : DeviceBatch
    targets : DeviceTargets
    ws : DeviceWorkspace
    key : int
        Dropout key of this step (counter-based masks).
    """
    spec, loss, o = objective.spec, objective.loss, objective.options
    flat, grad, stats, weight_mask = params
    Y, W, y_steps = targets
    alpha, dropout, bptt_steps, return_sequences = o.alpha, o.dropout, o.bptt_steps, o.return_sequences
    clip_value, clip_norm = o.clip_value, o.clip_norm
    dt = np.dtype(flat.dtype)
    v = spec.views(flat)  # device views: slicing works the same on device arrays
    dhead.fill(grad, 0.0)
    dhead.fill(stats, 0.0)
    g = spec.views(grad)
    lens = batch.lens
    B = lens.shape[0]
    T = int(lens[0])
    rows = batch.rows
    denom = float(lens.sum()) if return_sequences else float(B)
    k = T if bptt_steps is None else int(bptt_steps)
    hsz = spec.head_size
    states = zero_states(spec, B, dt, ws)
    for chunk, t0 in enumerate(range(0, T, k)):
        t1 = min(t0 + k, T)
        nb = int(np.count_nonzero(lens > t0))
        clens = np.minimum(lens[:nb] - t0, t1 - t0)
        clens_d = ws.upload("clens", clens)
        st = [[(hh[:nb], None if c is None else c[:nb]) for hh, c in layer] for layer in states]
        ps = Pass(spec, v, clens_d, ws, keep=True, parity=chunk % 2)
        x = batch.steps(t0, t1, nb, ws)
        if spec.vocab_size:
            x = _embed(spec, v, x, clens_d, ws)
        top, tape, states = _stack_forward(ps, x, st, dropout, key + 7919 * chunk)
        if return_sequences:
            tt, bb = np.nonzero(np.arange(t1 - t0)[:, None] < clens[None, :])
            ysrc = rows[bb] * y_steps + t0 + tt
            wsrc = rows[bb]
            tt_d, bb_d = ws.upload("tt", tt.astype(np.int64)), ws.upload("bb", bb.astype(np.int64))
        else:
            sel, steps = last_step_index(lens[:nb], t0, t1)
            if sel.size == 0:
                continue
            ysrc = wsrc = rows[sel]
            sel_d = ws.upload("sel", sel.astype(np.int64))
            steps_d = ws.upload("steps", steps.astype(np.int64))
        m = ysrc.shape[0]
        feat = ws.get("feat", (m, hsz), dt)
        if return_sequences:
            dhead.gather_steps(top, tt_d, bb_d, feat)
        else:
            dhead.gather_last(top, sel_d, steps_d, spec.hidden[-1], spec.bidirectional, feat)
        hmask = None
        if dropout > 0.0:
            hmask = ws.get("hmask", feat.shape, dt)
            dhead.dropout_mask(hmask, key + 7919 * chunk, 0, dropout)
            dhead.multiply(feat, hmask, feat)
        yt = ws.get("yt", (m, Y.shape[1]), np.float64)
        dhead.gather_rows(Y, ws.upload("ysrc", ysrc.astype(np.int64)), yt)
        wt = ws.get("wt", (m, 1), np.float64)
        dhead.gather_rows(W, ws.upload("wsrc", wsrc.astype(np.int64)), wt)
        logits = ws.get("logits", (m, spec.n_outputs), dt)
        blas.linear_forward(feat, v["head.weight"], v["head.bias"], logits)
        per = ws.get("per", (m,), np.float64)
        dlogits = ws.get("dlogits", (m, spec.n_outputs), dt)
        dhead.loss_rows(loss, logits, yt, wt.reshape(m), denom, per, dlogits)
        dhead.reduce_sum(per, stats, LOSS, accumulate=True)
        blas.gemm(dlogits, feat, g["head.weight"], ta=True, accumulate=True)
        blas.column_sums(dlogits, g["head.bias"], accumulate=True)
        dfeat = ws.get("dfeat", (m, hsz), dt)
        blas.gemm(dlogits, v["head.weight"], dfeat)
        if hmask is not None:
            dhead.multiply(dfeat, hmask, dfeat)
        dtop = ws.zeros("dtop", top.shape, dt)
        if return_sequences:
            dhead.scatter_steps(dfeat, tt_d, bb_d, dtop)
        else:
            dhead.scatter_last(dfeat, sel_d, steps_d, spec.hidden[-1], spec.bidirectional, dtop)
        # truncated BPTT: no gradient into the carried states
        dx, _ = _stack_backward(ps, g, dtop, tape, input_grad=bool(spec.vocab_size))
        if spec.vocab_size:
            _embedding_grad(spec, g, batch, (t0, t1, clens), dx, ws)
    if alpha:
        dhead.reduce_sum(flat, stats, LOSS, square=True, mask=weight_mask, scale=0.5 * alpha / B,
                         accumulate=True)
        dhead.add_l2(grad, flat, weight_mask, alpha / B)
    if clip_value is not None:
        dhead.clip_by_value(grad, clip_value)
    if clip_norm is not None:
        dhead.reduce_sum(grad, stats, CLIP_NORM, square=True)
        dhead.clip_by_norm(grad, stats, CLIP_NORM, clip_norm)
    dhead.reduce_sum(grad, stats, GRAD_NORM, square=True)


def upload_targets(y, return_sequences):
    """All encoded targets as one float64 device matrix, and the steps per sample in it.

    Per-sequence targets become (n, k); per-step ones (n * steps, k), row
    ``i * steps + t`` holding sample i's step t. Class indices (``softmax``)
    become the single column.
    """
    y = np.asarray(y)
    n = y.shape[0]
    steps = y.shape[1] if return_sequences else 1
    return cuda.to_device(np.ascontiguousarray(y.reshape(n * steps, -1), dtype=np.float64)), steps


def device_batch(X_d, lengths, idx, ws, tokens=None):
    """Sort the samples ``idx`` by decreasing length and gather them time-major on the device.

    ``tokens`` is the host copy of all token ids (n, T_max) for a model with an embedding.
    """
    idx = np.asarray(idx, dtype=np.int64)
    lb = lengths[idx]
    perm = np.argsort(-lb, kind="stable")
    rows = idx[perm]
    lens = np.ascontiguousarray(lb[perm])
    return DeviceBatch(X_d, rows, lens, ws.upload("rows", rows), None if tokens is None else tokens[rows])


def _embed(spec, v, x, lens_d, ws):
    """Look the token ids ``x`` (T, B, 1) up in the embedding: (T, B, E) in the parameters' dtype."""
    T, B = x.shape[0], x.shape[1]
    out = ws.get("embedded", (T, B, spec.n_features), v["embedding.weight"].dtype)
    dembed.embedding_forward(x.reshape(T, B), lens_d, v["embedding.weight"], out)
    return out


def _embedding_grad(spec, g, batch, chunk, dx, ws):
    """Add a chunk's embedding gradient; ``chunk = (t0, t1, clens)``."""
    t0, t1, clens = chunk
    nb = clens.shape[0]
    ids = np.ascontiguousarray(batch.tokens[:nb, t0:t1].T)
    tok, off, pos = dembed.group_by_token(ids, clens, spec.padding_idx)
    dembed.embedding_backward(ws.upload("tok", tok), ws.upload("off", off), ws.upload("pos", pos),
                              dx.reshape(ids.size, spec.n_features), g["embedding.weight"])


def forward(spec, flat, X, lengths, *, return_sequences=False, head=True, batch_size=1024):
    """Network outputs on the GPU; the twin of :func:`sklstm._objectives.forward` (same arguments)."""
    dt = flat.dtype
    ws = DeviceWorkspace()
    flat_d = cuda.to_device(flat)
    v = spec.views(flat_d)
    n, T = X.shape[0], X.shape[1]
    width = spec.n_outputs if head else spec.head_size
    lengths = np.asarray(lengths, dtype=np.int64)
    if return_sequences:
        out = np.full((n, T, width), np.nan, dtype=dt)
    else:
        out = np.empty((n, width), dtype=dt)
    order = np.argsort(-lengths, kind="stable")
    batch_size = prediction_batch(spec, T, np.dtype(dt).itemsize, batch_size)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        x, lens, perm = sort_batch(X[idx], lengths[idx])
        rows_idx = idx[perm]
        B = len(idx)
        lens_d = ws.upload("lens", lens)
        x_d = ws.upload("x", x)
        if spec.vocab_size:
            x_d = _embed(spec, v, x_d, lens_d, ws)
        top, _, _ = _stack_forward(Pass(spec, v, lens_d, ws), x_d, zero_states(spec, B, dt, ws))
        if return_sequences:
            tt, bb = np.nonzero(np.arange(x.shape[0])[:, None] < lens[None, :])
            feat = ws.get("feat", (tt.shape[0], spec.head_size), dt)
            dhead.gather_steps(top, ws.upload("tt", tt.astype(np.int64)),
                               ws.upload("bb", bb.astype(np.int64)), feat)
        else:
            feat = ws.get("feat", (B, spec.head_size), dt)
            dhead.gather_last(top, ws.upload("sel", np.arange(B, dtype=np.int64)),
                              ws.upload("steps", lens - 1), spec.hidden[-1], spec.bidirectional, feat)
        if head:
            res = ws.get("res", (feat.shape[0], width), dt)
            blas.linear_forward(feat, v["head.weight"], v["head.bias"], res)
        else:
            res = feat
        res = res.copy_to_host()
        if return_sequences:
            out[rows_idx[bb], tt] = res
        else:
            out[rows_idx] = res
    return out
