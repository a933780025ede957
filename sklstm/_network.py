"""Parameter layout and the forward / backward driver of a recurrent network.

All trainable state lives in one flat vector. :class:`NetworkSpec` fixes the
architecture and :meth:`NetworkSpec.views` cuts the vector into named,
writable views whose names and shapes are those of a torch module holding an
``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` as ``rnn`` and an ``nn.Linear`` as
``head`` (``rnn.weight_ih_l0``, ``rnn.bias_hh_l1_reverse``, ``head.weight``,
...). The driver functions below call the compiled kernels of
:mod:`sklstm._kernels` layer by layer; they never loop over timesteps in
Python.

Internally every batch is sorted by decreasing length and stored
time-major, ``(T, B, F)``, so that the sequences still running at a step
form a prefix of the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ._kernels.gru import gru_backward, gru_forward
from ._kernels.head import clip_by_value, global_norm, linear_forward, scale_inplace
from ._kernels._fpenv import flush_denormals
from ._kernels._gemm import KC, prepare as prepare_products
from ._kernels._ops import add_weight_grad, matmul
from ._kernels.lstm import lstm_backward, lstm_forward, lstm_infer
from ._kernels.rnn import rnn_backward, rnn_forward
from ._losses import loss_and_output_grad
from ._sequences import writable
from ._threads import compute_threads, single_threaded_step_blas

__all__ = ["NetworkSpec", "CELL_GATES"]

#: number of gate blocks (rows of ``weight_ih`` per hidden unit) of each cell
CELL_GATES = {"lstm": 4, "lstm1997": 3, "gru": 3, "rnn": 1}


@dataclass(frozen=True)
class NetworkSpec:
    """Architecture of a recurrent network with a dense head.

    Parameters
    ----------
    cell : {"lstm", "lstm1997", "gru", "rnn"}
    n_features : int
        Features per timestep.
    hidden : tuple of int
        Hidden size of each stacked layer.
    bidirectional : bool
    n_outputs : int
        Width of the dense head.
    """

    cell: str
    n_features: int
    hidden: tuple
    bidirectional: bool
    n_outputs: int

    @property
    def n_dirs(self) -> int:
        """1, or 2 when bidirectional."""
        return 2 if self.bidirectional else 1

    @property
    def n_gates(self) -> int:
        """Gate blocks of the cell."""
        return CELL_GATES[self.cell]

    def input_size(self, layer: int) -> int:
        """Input width of ``layer``."""
        return self.n_features if layer == 0 else self.hidden[layer - 1] * self.n_dirs

    @property
    def head_size(self) -> int:
        """Width of the features the head reads."""
        return self.hidden[-1] * self.n_dirs

    @cached_property
    def entries(self) -> tuple:
        """``(name, shape, start, stop)`` of every parameter in the flat vector."""
        out = []
        pos = 0

        def add(name, shape):
            nonlocal pos
            size = int(np.prod(shape))
            out.append((name, tuple(shape), pos, pos + size))
            pos += size

        for layer, h in enumerate(self.hidden):
            gh = self.n_gates * h
            for d in range(self.n_dirs):
                sfx = f"l{layer}" + ("_reverse" if d else "")
                add(f"rnn.weight_ih_{sfx}", (gh, self.input_size(layer)))
                add(f"rnn.weight_hh_{sfx}", (gh, h))
                add(f"rnn.bias_ih_{sfx}", (gh,))
                add(f"rnn.bias_hh_{sfx}", (gh,))
        add("head.weight", (self.n_outputs, self.head_size))
        add("head.bias", (self.n_outputs,))
        return tuple(out)

    @property
    def n_params(self) -> int:
        """Length of the flat parameter vector."""
        return self.entries[-1][3]

    def views(self, flat: np.ndarray) -> dict:
        """Named views (no copies) into ``flat``.

        The views of the last array asked for are kept (views follow in-place
        updates of ``flat``, so they never go stale); pickles leave them out.
        """
        last = self.__dict__.get("_views")
        if last is not None and last[0] is flat:
            return last[1]
        views = {name: flat[a:b].reshape(shape) for name, shape, a, b in self.entries}
        object.__setattr__(self, "_views", (flat, views))
        return views

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_views", None)
        return state

    def weight_mask(self) -> np.ndarray:
        """Boolean mask of the flat vector: True on weight matrices (L2 applies), False on biases."""
        mask = np.zeros(self.n_params, dtype=bool)
        for name, _, a, b in self.entries:
            if ".weight" in name:
                mask[a:b] = True
        return mask

    def init_params(self, rng: np.random.Generator, dtype) -> np.ndarray:
        """A new flat parameter vector.

        Input and head weights are Glorot-uniform per gate block, recurrent
        weights orthogonal per gate block, biases zero except the LSTM forget
        gate's ``bias_ih`` slice, set to 1 (Gers et al. 2000).
        """
        flat = np.zeros(self.n_params, dtype=np.float64)
        v = self.views(flat)
        for layer, h in enumerate(self.hidden):
            d_in = self.input_size(layer)
            for d in range(self.n_dirs):
                sfx = f"l{layer}" + ("_reverse" if d else "")
                w_ih = v[f"rnn.weight_ih_{sfx}"]
                w_hh = v[f"rnn.weight_hh_{sfx}"]
                a = np.sqrt(6.0 / (d_in + h))
                for gi in range(self.n_gates):
                    w_ih[gi * h:(gi + 1) * h] = rng.uniform(-a, a, size=(h, d_in))
                    q, r = np.linalg.qr(rng.standard_normal((h, h)))
                    w_hh[gi * h:(gi + 1) * h] = q * np.sign(np.diag(r))
                if self.cell == "lstm":
                    v[f"rnn.bias_ih_{sfx}"][h:2 * h] = 1.0
        a = np.sqrt(6.0 / (self.head_size + self.n_outputs))
        v["head.weight"][:] = rng.uniform(-a, a, size=v["head.weight"].shape)
        return flat.astype(dtype)


class Workspace:
    """Buffers kept between training steps, so big arrays are not page-faulted in every batch.

    A training loop creates one and passes it to every :func:`loss_and_grad`
    call; buffers grow to the largest shape seen. Not shared between
    threads: prediction allocates its own arrays.
    """

    def __init__(self):
        self._bufs = {}

    def child(self, i):
        """A separate workspace for part ``i`` of a batch split across threads."""
        return self._bufs.setdefault(("child", i), Workspace())

    def get(self, key, shape, dtype):
        """An uninitialised array of ``shape`` that stays valid until ``key`` is asked again."""
        size = int(np.prod(shape))
        buf = self._bufs.get(key)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = np.empty(size, dtype=dtype)
            self._bufs[key] = buf
        return buf[:size].reshape(shape)


def _empty(ws, key, shape, dtype):
    return np.empty(shape, dtype=dtype) if ws is None else ws.get(key, shape, dtype)


def training_bytes(spec, batch, steps, itemsize):
    """Bytes the cached activations of one training batch take (all layers and directions)."""
    per_step = 0
    for layer, h in enumerate(spec.hidden):
        g = spec.n_gates * h
        per_step += spec.input_size(layer) + spec.n_dirs * (2 * g + 6 * h)
    return int(batch) * int(steps) * per_step * itemsize


def _sfx(layer: int, d: int) -> str:
    return f"l{layer}" + ("_reverse" if d else "")


def _has_cell_state(cell: str) -> bool:
    return cell in ("lstm", "lstm1997")


def _tc(a: np.ndarray) -> np.ndarray:
    """C-contiguous transpose of a 2-D array."""
    return np.ascontiguousarray(a.T)


#: batch size from which LSTM inference runs the gate-major kernel (its per-step product
#: calls cost more than they save below; both paths give bitwise the same results)
_GATE_MAJOR_MIN_BATCH = 4
#: widest layer input the gate-major kernel takes: wider inputs are summed in blocks of KC by
#: the training path's input projection, and only the same order gives the same bits
_GATE_MAJOR_MAX_INPUT = KC


def _layer_forward(spec, v, layer, d, inp, lens, h0, c0, use_blas, keep, ws=None):
    """One direction of one layer. Returns ``(hs, cache, h_n, c_n)``."""
    T, B, D = inp.shape
    h = spec.hidden[layer]
    sfx = _sfx(layer, d)
    w_ih = v[f"rnn.weight_ih_{sfx}"]
    w_hh = v[f"rnn.weight_hh_{sfx}"]
    b_hh = v[f"rnn.bias_hh_{sfx}"]
    gh = w_ih.shape[0]
    dt = inp.dtype
    key = (layer, d)
    reverse = d == 1
    gate_major = B >= _GATE_MAJOR_MIN_BATCH and D <= _GATE_MAJOR_MAX_INPUT
    if not keep and _has_cell_state(spec.cell) and gate_major:  # inference, same bits
        hs = np.empty((T, B, h), dtype=dt)
        h_n = np.empty((B, h), dtype=dt)
        c_n = np.empty((B, h), dtype=dt)
        lstm_infer(inp.reshape(T * B, D), _tc(w_ih), v[f"rnn.bias_ih_{sfx}"], b_hh, _tc(w_hh), lens, reverse,
                   spec.cell == "lstm", h0, c0, hs, h_n, c_n)
        return hs, None, h_n, c_n
    xproj = _empty(ws, key + ("xproj",), (T * B, gh), dt)
    linear_forward(inp.reshape(T * B, D), _tc(w_ih), v[f"rnn.bias_ih_{sfx}"], xproj, use_blas)
    xproj = xproj.reshape(T, B, gh)
    whh_t = _tc(w_hh)
    S = T if keep else 1  # inference keeps only the current step of the caches
    hs = _empty(ws, key + ("hs",), (T, B, h), dt)
    hprev = _empty(ws, key + ("hprev",), (S, B, h), dt)
    h_n = np.empty((B, h), dtype=dt)
    rec = np.empty((B, gh), dtype=dt)
    cell = spec.cell
    c_n = None
    if _has_cell_state(cell):
        cs = _empty(ws, key + ("cs",), (S, B, h), dt)
        tcs = _empty(ws, key + ("tcs",), (S, B, h), dt)
        gates = xproj  # computed in place: the pre-activations are not needed later
        c_n = np.empty((B, h), dtype=dt)
        lstm_forward(xproj, whh_t, b_hh, lens, reverse, cell == "lstm", h0, c0,
                     hs, hprev, cs, tcs, gates, h_n, c_n, rec, use_blas)
        cache = (gates, cs, tcs, c0)
    elif cell == "gru":
        gates = _empty(ws, key + ("gates",), (S, B, gh), dt)
        hn = _empty(ws, key + ("hn",), (S, B, h), dt)
        gru_forward(xproj, whh_t, b_hh, lens, reverse, h0, hs, hprev, gates, hn, h_n, rec, use_blas)
        cache = (gates, hn)
    else:
        rnn_forward(xproj, whh_t, b_hh, lens, reverse, h0, hs, hprev, h_n, rec, use_blas)
        cache = (hs,)
    if not keep:
        return hs, None, h_n, c_n
    return hs, (inp, hprev) + cache, h_n, c_n


def _layer_backward(spec, v, g, layer, d, dhs, cache, lens, use_blas, need_dx=True, ws=None):
    """Backward of one direction of one layer; accumulates into the gradient views ``g``.

    Returns the gradient with respect to the layer input, shape (T, B, D)
    (None when ``need_dx`` is False: the first layer's input is data).
    """
    inp, hprev = cache[0], cache[1]
    T, B, D = inp.shape
    h = spec.hidden[layer]
    sfx = _sfx(layer, d)
    w_ih = v[f"rnn.weight_ih_{sfx}"]
    w_hh = v[f"rnn.weight_hh_{sfx}"]
    gh = w_ih.shape[0]
    dt = inp.dtype
    reverse = d == 1
    cell = spec.cell
    dh0 = np.empty((B, h), dtype=dt)
    key = (layer, d)
    dgx = _empty(ws, key + ("dgx",), (T, B, gh), dt)
    if _has_cell_state(cell):
        gates, cs, tcs, c0 = cache[2:]
        dc0 = np.empty((B, h), dtype=dt)
        lstm_backward(dhs, gates, cs, tcs, c0, w_hh, lens, reverse, cell == "lstm",
                      dgx, dh0, dc0, use_blas)
        dgh = dgx
    elif cell == "gru":
        gates, hn = cache[2:]
        dgh = _empty(ws, key + ("dgh",), (T, B, gh), dt)
        gru_backward(dhs, gates, hn, hprev, w_hh, lens, reverse, dgx, dgh, dh0, use_blas)
    else:
        rnn_backward(dhs, cache[2], w_hh, lens, reverse, dgx, dh0, use_blas)
        dgh = dgx
    dgx2 = dgx.reshape(T * B, gh)
    ones = _empty(ws, ("ones",), (T * B,), dt)
    ones[:] = 1.0
    add_weight_grad(dgx2, inp.reshape(T * B, D), g[f"rnn.weight_ih_{sfx}"])
    db = ones @ dgx2  # column sums as one BLAS gemv (numpy's axis-0 sum is strided)
    g[f"rnn.bias_ih_{sfx}"] += db
    if dgh is dgx:
        g[f"rnn.bias_hh_{sfx}"] += db
        dgh2 = dgx2
    else:
        dgh2 = dgh.reshape(T * B, gh)
        g[f"rnn.bias_hh_{sfx}"] += ones @ dgh2
    add_weight_grad(dgh2, hprev.reshape(T * B, h), g[f"rnn.weight_hh_{sfx}"])
    if not need_dx:
        return None
    dx = np.empty((T * B, D), dtype=dt)
    matmul(dgx2, w_ih, dx, use_blas)
    return dx.reshape(T, B, D)


def _zero_states(spec, batch, dt):
    return [[(np.zeros((batch, h), dtype=dt),
              np.zeros((batch, h), dtype=dt) if _has_cell_state(spec.cell) else None)
             for _ in range(spec.n_dirs)] for h in spec.hidden]


def _dropout_mask(rng, shape, p, dt):
    keep = rng.random(shape) >= p
    return (keep / (1.0 - p)).astype(dt)


def _stack_forward(spec, v, x, lens, states, use_blas, keep, dropout=0.0, rng=None, ws=None):
    """All layers over a time-major chunk ``x`` of shape (T, B, F).

    Returns ``(top, caches, masks, new_states)``; ``top`` is (T, B, head_size).
    """
    prepare_products(x.dtype)  # every path to the kernels starts here (fit, predict, streaming, diagnostics)
    inp = x
    caches, masks, new_states = [], [], []
    for layer in range(len(spec.hidden)):
        mask = None
        if layer > 0 and dropout > 0.0:
            mask = _dropout_mask(rng, inp.shape, dropout, inp.dtype)
            inp = inp * mask
        outs, lc, ls = [], [], []
        for d in range(spec.n_dirs):
            h0, c0 = states[layer][d]
            hs, cache, h_n, c_n = _layer_forward(spec, v, layer, d, inp, lens, h0, c0, use_blas, keep, ws)
            outs.append(hs)
            lc.append(cache)
            ls.append((h_n, c_n))
        inp = outs[0] if spec.n_dirs == 1 else np.concatenate(outs, axis=2)
        caches.append(lc)
        masks.append(mask)
        new_states.append(ls)
    return inp, caches, masks, new_states


def _stack_backward(spec, v, g, dtop, caches, masks, lens, use_blas, ws=None, input_grad=False):
    """Backward through all layers given the gradient of the top output.

    Returns the gradient with respect to the network input when ``input_grad``
    (else None: the first layer's input is data and needs none).
    """
    d_out = dtop
    for layer in range(len(spec.hidden) - 1, -1, -1):
        h = spec.hidden[layer]
        dx = None
        for d in range(spec.n_dirs):
            dhs = d_out if spec.n_dirs == 1 else np.ascontiguousarray(d_out[:, :, d * h:(d + 1) * h])
            dxd = _layer_backward(spec, v, g, layer, d, dhs, caches[layer][d], lens, use_blas,
                                  need_dx=layer > 0 or input_grad, ws=ws)
            dx = dxd if dx is None else dx + dxd
        if layer == 0:
            return dx
        if masks[layer] is not None:
            dx *= masks[layer]
        d_out = dx


def _last_step_index(spec, lens, t0, t1):
    """Rows (of a length-sorted chunk) whose last valid step lies in [t0, t1), and that step."""
    rows = np.flatnonzero((lens > t0) & (lens <= t1))
    return rows, lens[rows] - 1 - t0


def _gather_last(spec, top, rows, steps):
    """Head features: forward h at each row's last valid step, reverse h at step 0."""
    h = spec.hidden[-1]
    if spec.n_dirs == 1:
        return top[steps, rows]
    return np.concatenate([top[steps, rows, :h], top[0, rows, h:]], axis=1)


def _scatter_last(spec, dtop, rows, steps, dfeat):
    h = spec.hidden[-1]
    if spec.n_dirs == 1:
        dtop[steps, rows] += dfeat
    else:
        dtop[steps, rows, :h] += dfeat[:, :h]
        dtop[0, rows, h:] += dfeat[:, h:]


def sort_batch(X, lengths):
    """Sort a batch-major padded batch by decreasing length; return it time-major.

    Returns
    -------
    x : ndarray of shape (T_max, B, F), C-contiguous
    lens : int64 ndarray of shape (B,)
    perm : ndarray of shape (B,)
        ``x[:, i]`` is ``X[perm[i]]``.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.size == 1:  # one sequence (interactive prediction): nothing to sort
        tmax = int(lengths[0])
        x = np.ascontiguousarray(X[:, :tmax].transpose(1, 0, 2))
        return x, lengths.copy(), np.zeros(1, dtype=np.intp)
    perm = np.argsort(-lengths, kind="stable")
    lens = np.ascontiguousarray(lengths[perm])
    tmax = int(lens[0]) if lens.size else 0
    x = np.ascontiguousarray(X[perm, :tmax].transpose(1, 0, 2))
    return x, lens, perm


_MIN_ROWS_PER_THREAD = 16
_POOL = {}


def _pool(n):
    if n not in _POOL:
        from concurrent.futures import ThreadPoolExecutor

        _POOL[n] = ThreadPoolExecutor(max_workers=n, thread_name_prefix="sklstm")
    return _POOL[n]


def loss_and_grad(spec, flat, grad, X, lengths, y, sample_weight, loss, *, n_threads=1, alpha=0.0,
                  dropout=0.0, rng=None, return_sequences=False, clip_value=None, clip_norm=None,
                  workspace=None, **kwargs):
    """Loss of one mini-batch and its gradient; see :func:`_loss_and_grad` for the arguments.

    With ``n_threads > 1`` the batch is split into a fixed partition of
    ``n_threads`` parts (every ``n_threads``-th sequence in length order, so
    the parts cost about the same), each part runs forward and backward on
    its own thread (the kernels release the GIL) with its own gradient
    buffer, and the parts' gradients are summed in part order: the result is
    bitwise reproducible for a given thread count. The kernels' BLAS is held
    at one thread for the call (see :mod:`sklstm._threads`); with several
    parts, every BLAS is.
    """
    with flush_denormals():
        B = len(lengths)
        parts = min(int(n_threads), B // _MIN_ROWS_PER_THREAD)
        common = dict(return_sequences=return_sequences, **kwargs)
        if parts <= 1:
            with single_threaded_step_blas():
                total = _loss_and_grad(spec, flat, grad, X, lengths, y, sample_weight, loss, dropout=dropout,
                                       rng=rng, workspace=workspace, **common)
            return _finish_grad(spec, flat, grad, total, B, alpha, clip_value, clip_norm)
        lengths = np.asarray(lengths, dtype=np.int64)
        order = np.argsort(-lengths, kind="stable")
        idx = [np.sort(order[i::parts]) for i in range(parts)]
        denom = float(lengths.sum()) if return_sequences else float(B)
        rngs = [None] * parts
        if dropout > 0.0:
            rngs = [np.random.default_rng(s) for s in rng.integers(0, 2 ** 63, size=parts)]
        y = np.asarray(y)
        sample_weight = np.asarray(sample_weight)
        bufs = [grad] + [_empty(workspace, ("part-grad", i), grad.shape, grad.dtype) for i in range(1, parts)]
        subs = [None if workspace is None else workspace.child(i) for i in range(parts)]

        def run(i):
            with flush_denormals():  # per thread: the register is thread-local
                return _loss_and_grad(spec, flat, bufs[i], X[idx[i]], lengths[idx[i]], y[idx[i]],
                                      sample_weight[idx[i]], loss, dropout=dropout, rng=rngs[i],
                                      workspace=subs[i], denom=denom, **common)

        with single_threaded_step_blas(every_blas=True):
            totals = list(_pool(parts).map(run, range(parts)))
        for b in bufs[1:]:
            grad += b
        return _finish_grad(spec, flat, grad, sum(totals), B, alpha, clip_value, clip_norm)


def _finish_grad(spec, flat, grad, total, B, alpha, clip_value, clip_norm):
    """Add the L2 penalty over weight matrices and clip; returns the penalised loss."""
    dt = flat.dtype
    if alpha:
        wm = spec.weight_mask()
        wv = flat[wm].astype(np.float64)
        total += 0.5 * alpha * float(np.dot(wv, wv)) / B
        grad[wm] += (alpha / B) * flat[wm]
    if clip_value is not None:
        clip_by_value(grad, dt.type(clip_value))
    if clip_norm is not None:
        norm = global_norm(grad)
        if norm > clip_norm:
            scale_inplace(grad, dt.type(clip_norm / (norm + 1e-6)))
    return total


def _loss_and_grad(spec, flat, grad, X, lengths, y, sample_weight, loss, *,
                   dropout=0.0, rng=None, bptt_steps=None, return_sequences=False,
                   use_blas=True, workspace=None, denom=None):
    """Loss of one mini-batch and its gradient with respect to ``flat``, before L2 and clipping.

    Parameters
    ----------
    spec : NetworkSpec
    flat : ndarray of shape (n_params,)
        Parameters (float32 or float64; every array follows its dtype).
    grad : ndarray of shape (n_params,)
        Output, overwritten with the gradient (:func:`loss_and_grad` then adds
        L2 and clips).
    X : ndarray of shape (B, T, F)
        Padded batch, batch-major.
    lengths : int64 ndarray of shape (B,)
    y : ndarray
        Encoded targets (see :func:`sklstm._losses.loss_and_output_grad`):
        shape (B, ...) for one target per sequence, (B, T, ...) per step
        when ``return_sequences``.
    sample_weight : ndarray of shape (B,)
    loss : str
        One of :data:`sklstm._losses.LOSSES`.
    dropout : float
        Inverted dropout rate between layers and before the head.
    rng : numpy.random.Generator
        Source of dropout masks.
    bptt_steps : int or None
        Truncated BPTT chunk length (state carried, gradient stopped at
        chunk boundaries).
    return_sequences : bool
        Head and loss on every valid step (loss averaged over valid steps).
    use_blas : bool
        BLAS products (True) or fixed-order loops.
    workspace : Workspace or None
        Buffers reused between calls (a training loop passes one).
    denom : float or None
        Normaliser of the loss (default: this batch's size, or its number of
        valid steps); a part of a split batch passes the whole batch's.

    :func:`loss_and_grad` also takes ``alpha`` (L2 penalty
    ``0.5 * alpha * sum(W**2) / B`` over weight matrices), ``clip_value`` /
    ``clip_norm`` (clipping by component / by global L2 norm, after the
    penalty) and ``n_threads``.

    Returns
    -------
    loss : float
    """
    dt = flat.dtype
    v = spec.views(flat)
    grad[:] = 0.0
    g = spec.views(grad)
    x, lens, perm = sort_batch(X, lengths)
    B = lens.shape[0]
    T = x.shape[0]
    w = np.asarray(sample_weight, dtype=np.float64)[perm]
    y = np.asarray(y)[perm]
    if return_sequences:
        y = np.swapaxes(y, 0, 1)  # time-major
    if denom is None:
        denom = float(lens.sum()) if return_sequences else float(B)
    k = T if bptt_steps is None else int(bptt_steps)
    head_w_t = _tc(v["head.weight"])
    states = _zero_states(spec, B, dt)
    total = 0.0
    for t0 in range(0, T, k):
        t1 = min(t0 + k, T)
        nb = int(np.count_nonzero(lens > t0))
        clens = np.ascontiguousarray(np.minimum(lens[:nb] - t0, t1 - t0))
        st = [[(h[:nb], None if c is None else c[:nb]) for h, c in layer] for layer in states]
        top, caches, masks, states = _stack_forward(
            spec, v, x[t0:t1, :nb], clens, st, use_blas, True, dropout, rng, workspace)
        if return_sequences:
            valid = np.arange(t1 - t0)[:, None] < clens[None, :]
            feat = top[valid]
            yt = y[t0:t1, :nb][valid]
            wt = np.broadcast_to(w[None, :nb], valid.shape)[valid]
        else:
            rows, steps = _last_step_index(spec, lens[:nb], t0, t1)
            if rows.size == 0:
                continue
            feat = _gather_last(spec, top, rows, steps)
            yt = y[rows]
            wt = w[rows]
        hmask = None
        if dropout > 0.0:
            hmask = _dropout_mask(rng, feat.shape, dropout, dt)
            feat = feat * hmask
        feat = np.ascontiguousarray(feat)
        logits = np.empty((feat.shape[0], spec.n_outputs), dtype=dt)
        linear_forward(feat, head_w_t, v["head.bias"], logits, use_blas)
        part, dlogits = loss_and_output_grad(loss, logits, yt, wt, denom)
        total += part
        g["head.weight"] += dlogits.T @ feat
        g["head.bias"] += dlogits.sum(axis=0)
        dfeat = dlogits @ v["head.weight"]
        if hmask is not None:
            dfeat *= hmask
        dtop = _empty(workspace, ("dtop",), top.shape, dt)
        dtop[...] = 0.0
        if return_sequences:
            dtop[valid] = dfeat
        else:
            _scatter_last(spec, dtop, rows, steps, dfeat)
        _stack_backward(spec, v, g, dtop, caches, masks, clens, use_blas, workspace)
    return total


def forward(spec, flat, X, lengths, *, return_sequences=False, head=True, batch_size=256, n_threads=1):
    """Network outputs for a padded batch-major input, in batches, batch-independent.

    Uses the fixed-order products, so a sequence's output never depends on
    the other sequences, their number, order or lengths.

    Parameters
    ----------
    spec : NetworkSpec
    flat : ndarray of shape (n_params,)
    X : ndarray of shape (n, T, F)
        Same dtype as ``flat``.
    lengths : int64 ndarray of shape (n,)
    return_sequences : bool
        Outputs at every step (NaN at padding) instead of at the last one.
    head : bool
        Apply the dense head (True) or return the recurrent features.
    batch_size : int
        Sequences per kernel call (bounds memory).
    n_threads : int or None
        Batches run on this many threads (results are identical); None:
        numba's thread count, asked only when there is more than one batch.

    Returns
    -------
    out : ndarray of shape (n, width) or (n, T, width), dtype of ``flat``
    """
    dt = flat.dtype
    v = spec.views(writable(flat))
    n, T = X.shape[0], X.shape[1]
    width = spec.n_outputs if head else spec.head_size
    lengths = np.asarray(lengths, dtype=np.int64)
    if return_sequences:
        out = np.full((n, T, width), np.nan, dtype=dt)
    else:
        out = np.empty((n, width), dtype=dt)
    head_w_t = _tc(v["head.weight"])
    # one call sorts the whole input; larger inputs go in length-sorted batches (bucketing)
    order = None if n <= batch_size else np.argsort(-lengths, kind="stable")

    def run(start):
        if order is None:
            x, lens, perm = sort_batch(X, lengths)
            idx = rows_idx = perm
        else:
            idx = order[start:start + batch_size]
            x, lens, perm = sort_batch(X[idx], lengths[idx])
            rows_idx = idx[perm]
        top, _, _, _ = _stack_forward(spec, v, x, lens, _zero_states(spec, len(idx), dt), False, False)
        if return_sequences:
            valid = np.arange(x.shape[0])[:, None] < lens[None, :]
            feat = np.ascontiguousarray(top[valid])
        else:
            feat = np.ascontiguousarray(_gather_last(spec, top, np.arange(len(idx)), lens - 1))
        if head:
            res = np.empty((feat.shape[0], width), dtype=dt)
            linear_forward(feat, head_w_t, v["head.bias"], res, False)
        else:
            res = feat
        if return_sequences:  # each batch writes its own rows: safe from several threads
            tt, bb = np.nonzero(valid)
            out[rows_idx[bb], tt] = res
        else:
            out[rows_idx] = res

    def run_flushed(start):
        with flush_denormals():  # per thread: the register is thread-local
            run(start)

    starts = range(0, n, batch_size)
    if n_threads is None and len(starts) > 1:
        n_threads = compute_threads()
    if len(starts) > 1 and n_threads > 1:
        # batches are independent and each sequence's arithmetic is fixed-order: same bits on any thread
        list(_pool(int(n_threads)).map(run_flushed, starts))
    else:
        for start in starts:
            run_flushed(start)
    return out


def input_gradient_norms(spec, flat, X, lengths, y, sample_weight, loss):
    """Mean L2 norm over the batch of dLoss/dx_t at every step t (vanishing-gradient diagnostics).

    Parameters
    ----------
    spec, flat, X, lengths, y, sample_weight, loss
        As in :func:`loss_and_grad` (no dropout, no truncation).

    Returns
    -------
    norms : ndarray of shape (T,), float64
        Step t's entry averages over the sequences longer than t.
    """
    dt = flat.dtype
    v = spec.views(writable(flat))
    g = spec.views(np.zeros_like(flat))
    x, lens, perm = sort_batch(X, lengths)
    B, T = lens.shape[0], x.shape[0]
    w = np.asarray(sample_weight, dtype=np.float64)[perm]
    y = np.asarray(y)[perm]
    top, caches, masks, _ = _stack_forward(spec, v, x, lens, _zero_states(spec, B, dt), True, True)
    rows = np.arange(B)
    feat = np.ascontiguousarray(_gather_last(spec, top, rows, lens - 1))
    logits = feat @ v["head.weight"].T + v["head.bias"]
    _, dlogits = loss_and_output_grad(loss, logits, y, w, float(B))
    dtop = np.zeros_like(top)
    _scatter_last(spec, dtop, rows, lens - 1, dlogits @ v["head.weight"])
    d_out = _stack_backward(spec, v, g, dtop, caches, masks, lens, True, input_grad=True)
    norms = np.sqrt((d_out.astype(np.float64) ** 2).sum(axis=2))  # (T, B)
    valid = np.arange(T)[:, None] < lens[None, :]
    return (norms * valid).sum(axis=1) / np.maximum(valid.sum(axis=1), 1) * B
