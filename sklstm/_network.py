"""The forward / backward driver of a recurrent network (CPU).

The parameters are one flat vector laid out by :class:`sklstm._spec.NetworkSpec`
(re-exported here). The driver functions below call the compiled kernels of
:mod:`sklstm._kernels` layer by layer; they never loop over timesteps in
Python: :func:`stack_forward` / :func:`stack_backward` over a chunk of
steps (with gradients in and out of the recurrent states), :func:`step`
one timestep from carried states.

Internally every batch is sorted by decreasing length and stored
time-major, ``(T, B, F)``, so that the sequences still running at a step
form a prefix of the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._kernels.gru import gru_backward, gru_forward
from ._kernels._gemm import KC, prepare as prepare_products
from ._kernels.lstm import lstm_backward, lstm_forward, lstm_infer
from ._kernels.rnn import rnn_backward, rnn_forward
from ._blocks import projection, recurrence, weight_and_input_grads
from ._spec import CELL_GATES, NetworkSpec

__all__ = ["NetworkSpec", "CELL_GATES", "Workspace", "Pass", "Tape", "stack_forward", "stack_backward",
           "step", "zero_states", "sort_batch"]


class Workspace:
    """Buffers kept between training steps, so big arrays are not page-faulted in every batch.

    A training backend creates one and passes it to every call of
    :meth:`sklstm._objectives.RecurrentObjective.loss_and_grad`; buffers
    grow to the largest shape seen. Not shared between threads: prediction
    allocates its own arrays.
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


def scratch(ws, key, shape, dtype):
    return np.empty(shape, dtype=dtype) if ws is None else ws.get(key, shape, dtype)


def param_suffix(layer: int, d: int) -> str:
    return f"l{layer}" + ("_reverse" if d else "")


def has_cell_state(cell: str) -> bool:
    return cell in ("lstm", "lstm1997")


def transposed(a: np.ndarray) -> np.ndarray:
    """C-contiguous transpose of a 2-D array."""
    return np.ascontiguousarray(a.T)


#: batch size from which LSTM inference runs the gate-major kernel (its per-step product
#: calls cost more than they save below; both paths give bitwise the same results)
_GATE_MAJOR_MIN_BATCH = 4
#: widest layer input the gate-major kernel takes: wider inputs are summed in blocks of KC by
#: the training path's input projection, and only the same order gives the same bits
_GATE_MAJOR_MAX_INPUT = KC


@dataclass(frozen=True, eq=False)
class Pass:
    """What every layer of one pass over a batch shares.

    Parameters
    ----------
    spec : NetworkSpec
    v : dict
        Parameter views (:meth:`NetworkSpec.views`).
    lens : int64 ndarray of shape (B,)
        Lengths of the batch's sequences, in decreasing order (:func:`sort_batch`).
    use_blas : bool
        See :func:`sklstm._kernels._ops.matmul`.
    keep : bool
        Keep what backward needs (training); inference keeps only the
        current step.
    ws : Workspace or None
        Buffers reused between training steps.
    threads : int
        Threads a one-part batch's work runs on (:mod:`sklstm._blocks`): the
        recurrences and input projections and gradients in blocks of rows,
        the weight gradients in blocks of output units, every number
        computed whole in one block (results do not depend on the count).
    """

    spec: NetworkSpec
    v: dict
    lens: np.ndarray
    use_blas: bool = True
    keep: bool = False
    ws: Workspace | None = None
    threads: int = 1


@dataclass(frozen=True, eq=False)
class LayerCache:
    """What one direction of one layer keeps from forward for backward."""

    layer: int
    d: int
    arrays: tuple  # (inp, hprev, ...cell-specific)


class Tape(NamedTuple):
    """What :func:`stack_forward` keeps for :func:`stack_backward`: per layer, the caches and dropout mask."""

    caches: list
    masks: list


def layer_forward(p, layer, d, inp, state):
    """One direction of one layer over a time-major input ``inp`` of shape (T, B, D).

    ``state`` is the initial ``(h0, c0)`` (``c0`` None without a cell state).
    Returns ``(hs, cache, (h_n, c_n))``; ``cache`` is a :class:`LayerCache`
    when ``p.keep``, else None.
    """
    spec, v, lens, use_blas, ws = p.spec, p.v, p.lens, p.use_blas, p.ws
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
    reverse = d == 1
    gate_major = B >= _GATE_MAJOR_MIN_BATCH and D <= _GATE_MAJOR_MAX_INPUT
    if not p.keep and has_cell_state(spec.cell) and gate_major:  # inference, same bits
        hs = np.empty((T, B, h), dtype=dt)
        h_n = np.empty((B, h), dtype=dt)
        c_n = np.empty((B, h), dtype=dt)
        lstm_infer(inp.reshape(T * B, D), transposed(w_ih), v[f"rnn.bias_ih_{sfx}"], b_hh, transposed(w_hh),
                   lens, reverse, spec.cell == "lstm", h0, c0, hs, h_n, c_n)
        return hs, None, (h_n, c_n)
    xproj = scratch(ws, key + ("xproj",), (T * B, gh), dt)
    projection(p, inp.reshape(T * B, D), transposed(w_ih), v[f"rnn.bias_ih_{sfx}"], xproj)
    xproj = xproj.reshape(T, B, gh)
    whh_t = transposed(w_hh)
    S = T if p.keep else 1  # inference keeps only the current step of the caches
    hs = scratch(ws, key + ("hs",), (T, B, h), dt)
    hprev = scratch(ws, key + ("hprev",), (S, B, h), dt)
    h_n = np.empty((B, h), dtype=dt)
    rec = np.empty((B, gh), dtype=dt)
    cell = spec.cell
    c_n = None
    if has_cell_state(cell):
        cs = scratch(ws, key + ("cs",), (S, B, h), dt)
        tcs = scratch(ws, key + ("tcs",), (S, B, h), dt)
        gates = xproj  # computed in place: the pre-activations are not needed later
        c_n = np.empty((B, h), dtype=dt)
        recurrence(p, h * gh, lambda r0, r1: lstm_forward(
            xproj, whh_t, b_hh, lens, reverse, cell == "lstm", h0, c0, hs, hprev, cs, tcs, gates, h_n, c_n,
            rec, use_blas, r0, r1))
        arrays = (gates, cs, tcs, c0)
    elif cell == "gru":
        gates = scratch(ws, key + ("gates",), (S, B, gh), dt)
        hn = scratch(ws, key + ("hn",), (S, B, h), dt)
        recurrence(p, h * gh, lambda r0, r1: gru_forward(
            xproj, whh_t, b_hh, lens, reverse, h0, hs, hprev, gates, hn, h_n, rec, use_blas, r0, r1))
        arrays = (gates, hn)
    else:
        recurrence(p, h * gh, lambda r0, r1: rnn_forward(
            xproj, whh_t, b_hh, lens, reverse, h0, hs, hprev, h_n, rec, use_blas, r0, r1))
        arrays = (hs,)
    if not p.keep:
        return hs, None, (h_n, c_n)
    return hs, LayerCache(layer, d, (inp, hprev) + arrays), (h_n, c_n)


def _incoming(dstate, i, shape, dt):
    """A writable copy of the incoming gradient ``dstate[i]``, or zeros when there is none."""
    if dstate is None or dstate[i] is None:
        return np.zeros(shape, dtype=dt)
    return np.array(dstate[i], dtype=dt, order="C", copy=True)


def layer_backward(p, g, cache, dhs, dstate=None, need_dx=True):
    """Backward of one direction of one layer; accumulates into the gradient views ``g``.

    Parameters
    ----------
    p : Pass
    g : dict
        Gradient views (:meth:`NetworkSpec.views` of the gradient vector).
    cache : LayerCache
        From :func:`layer_forward`.
    dhs : ndarray of shape (T, B, H)
        Gradient with respect to each step's output.
    dstate : tuple or None
        Gradients ``(dh_n, dc_n)`` with respect to the final states
        (either may be None: zero).
    need_dx : bool
        Also return the gradient with respect to the layer input (the
        first layer's input is data and usually needs none).

    Returns
    -------
    dx : ndarray of shape (T, B, D) or None
    dstate0 : tuple
        Gradients ``(dh0, dc0)`` with respect to the initial states
        (``dc0`` None without a cell state).
    """
    spec, v, lens, use_blas, ws = p.spec, p.v, p.lens, p.use_blas, p.ws
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
    dh0 = _incoming(dstate, 0, (B, h), dt)
    dc0 = None
    key = (layer, d)
    dgx = scratch(ws, key + ("dgx",), (T, B, gh), dt)
    if has_cell_state(cell):
        gates, cs, tcs, c0 = cache.arrays[2:]
        dc0 = _incoming(dstate, 1, (B, h), dt)
        recurrence(p, h * gh, lambda r0, r1: lstm_backward(
            dhs, gates, cs, tcs, c0, w_hh, lens, reverse, cell == "lstm", dgx, dh0, dc0, use_blas, r0, r1))
        dgh = dgx
    elif cell == "gru":
        gates, hn = cache.arrays[2:]
        dgh = scratch(ws, key + ("dgh",), (T, B, gh), dt)
        recurrence(p, h * gh, lambda r0, r1: gru_backward(
            dhs, gates, hn, hprev, w_hh, lens, reverse, dgx, dgh, dh0, use_blas, r0, r1))
    else:
        hs = cache.arrays[2]
        recurrence(p, h * gh, lambda r0, r1: rnn_backward(
            dhs, hs, w_hh, lens, reverse, dgx, dh0, use_blas, r0, r1))
        dgh = dgx
    dgx2 = dgx.reshape(T * B, gh)
    ones = scratch(ws, ("ones",), (T * B,), dt)
    ones[:] = 1.0
    db = ones @ dgx2  # column sums as one BLAS gemv (numpy's axis-0 sum is strided)
    g[f"rnn.bias_ih_{sfx}"] += db
    if dgh is dgx:
        g[f"rnn.bias_hh_{sfx}"] += db
        dgh2 = dgx2
    else:
        dgh2 = dgh.reshape(T * B, gh)
        g[f"rnn.bias_hh_{sfx}"] += ones @ dgh2
    dx = np.empty((T * B, D), dtype=dt) if need_dx else None
    weight_and_input_grads(p, [(dgx2, inp.reshape(T * B, D), g[f"rnn.weight_ih_{sfx}"]),
                               (dgh2, hprev.reshape(T * B, h), g[f"rnn.weight_hh_{sfx}"])], w_ih, dx)
    return (None if dx is None else dx.reshape(T, B, D)), (dh0, dc0)


def zero_states(spec, batch, dt):
    return [[(np.zeros((batch, h), dtype=dt),
              np.zeros((batch, h), dtype=dt) if has_cell_state(spec.cell) else None)
             for _ in range(spec.n_dirs)] for h in spec.hidden]


def dropout_mask(rng, shape, p, dt):
    keep = rng.random(shape) >= p
    return (keep / (1.0 - p)).astype(dt)


def stack_forward(p, x, states, dropout=0.0, rng=None):
    """All layers over a time-major chunk ``x`` of shape (T, B, F).

    Parameters
    ----------
    p : Pass
    x : ndarray of shape (T, B, F)
    states : list
        Initial states, per layer, per direction ``(h0, c0)`` (:func:`zero_states`).
    dropout : float
        Probability of zeroing an input of every layer but the first.
    rng : numpy.random.Generator or None
        Draws the dropout masks.

    Returns
    -------
    top : ndarray of shape (T, B, head_size)
    tape : Tape
        What :func:`stack_backward` needs (caches only when ``p.keep``).
    new_states : list
        Final states, as ``states``.
    """
    spec = p.spec
    prepare_products(x.dtype)  # every path to the kernels starts here (fit, predict, streaming, diagnostics)
    inp = x
    caches, masks, new_states = [], [], []
    for layer in range(len(spec.hidden)):
        mask = None
        if layer > 0 and dropout > 0.0:
            mask = dropout_mask(rng, inp.shape, dropout, inp.dtype)
            inp = inp * mask
        outs, lc, ls = [], [], []
        for d in range(spec.n_dirs):
            hs, cache, state_n = layer_forward(p, layer, d, inp, states[layer][d])
            outs.append(hs)
            lc.append(cache)
            ls.append(state_n)
        inp = outs[0] if spec.n_dirs == 1 else np.concatenate(outs, axis=2)
        caches.append(lc)
        masks.append(mask)
        new_states.append(ls)
    return inp, Tape(caches, masks), new_states


def stack_backward(p, g, dtop, tape, dstates=None, input_grad=False):
    """Backward through all layers given the gradients of the top output and of the final states.

    Parameters
    ----------
    p : Pass
        As given to :func:`stack_forward` (with ``keep=True``).
    g : dict
        Gradient views; the parameters' gradients are added into them.
    dtop : ndarray of shape (T, B, head_size)
        Gradient with respect to the top layer's outputs.
    tape : Tape
        From :func:`stack_forward`.
    dstates : list or None
        Gradients with respect to the final states, shaped as
        :func:`stack_forward`'s ``new_states`` (None, or None entries: zero).
    input_grad : bool
        Also return the gradient with respect to ``x``.

    Returns
    -------
    dx : ndarray of shape (T, B, F) or None
        None unless ``input_grad``.
    dstates0 : list
        Gradients with respect to the initial states, shaped as ``states``.
    """
    spec = p.spec
    d_out = dtop
    dstates0 = [None] * len(spec.hidden)
    for layer in range(len(spec.hidden) - 1, -1, -1):
        h = spec.hidden[layer]
        dx = None
        row = []
        for d in range(spec.n_dirs):
            dhs = d_out if spec.n_dirs == 1 else np.ascontiguousarray(d_out[:, :, d * h:(d + 1) * h])
            dstate = None if dstates is None else dstates[layer][d]
            dxd, dstate0 = layer_backward(p, g, tape.caches[layer][d], dhs, dstate,
                                          need_dx=layer > 0 or input_grad)
            row.append(dstate0)
            if dxd is not None:
                dx = dxd if dx is None else dx + dxd
        dstates0[layer] = row
        if layer == 0:
            return dx, dstates0
        if tape.masks[layer] is not None:
            dx *= tape.masks[layer]
        d_out = dx


def last_step_index(lens, t0, t1):
    """Rows (of a length-sorted chunk) whose last valid step lies in [t0, t1), and that step."""
    rows = np.flatnonzero((lens > t0) & (lens <= t1))
    return rows, lens[rows] - 1 - t0


def gather_last(spec, top, rows, steps):
    """Head features: forward h at each row's last valid step, reverse h at step 0."""
    h = spec.hidden[-1]
    if spec.n_dirs == 1:
        return top[steps, rows]
    return np.concatenate([top[steps, rows, :h], top[0, rows, h:]], axis=1)


def scatter_last(spec, dtop, rows, steps, dfeat):
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


def step(spec, v, states, x_t):
    """One timestep of a unidirectional stack from carried states (streaming, decoding, forecasting).

    Parameters
    ----------
    spec : NetworkSpec
    v : dict
        Parameter views (:meth:`NetworkSpec.views`).
    states : list
        Per layer, per direction ``(h, c)`` of shape (B, hidden) (``c`` None
        for cells without a cell state), e.g. :func:`zero_states`.
    x_t : ndarray of shape (B, n_features)
        The step's input, in the parameters' dtype.

    Returns
    -------
    states : list
        The states after the step (new arrays).
    output : ndarray of shape (B, hidden[-1])
        The top layer's h.
    """
    if spec.bidirectional:
        raise ValueError("a bidirectional network has no one-step recurrence: its reverse direction "
                         "reads the whole sequence first.")
    B = x_t.shape[0]
    x = np.ascontiguousarray(x_t).reshape(1, B, x_t.shape[1])
    top, _, new_states = stack_forward(Pass(spec, v, np.ones(B, dtype=np.int64), use_blas=False), x, states)
    return new_states, top[0]
