"""What a fit trains: an objective over one flat parameter vector.

An objective knows its parameters' layout and initialisation, the loss of a
mini-batch with its gradient (:meth:`RecurrentObjective.loss_and_grad`),
the forward pass used for prediction and the memory one training batch
costs. The training loop (:mod:`sklstm._training`) and the backends
(:mod:`sklstm._backend`) only ever talk to this interface, so a new model
family (a language model, an encoder-decoder) is a new objective on the
same loop.

:class:`RecurrentObjective` is what ``LSTMRegressor`` / ``LSTMClassifier``
train: the recurrent stack of :mod:`sklstm._network`, a dense head on the
last valid step (or every step) and one of the losses of
:mod:`sklstm._losses`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from . import _network as net
from ._kernels._fpenv import flush_denormals
from ._kernels.embed import embedding_backward, embedding_forward
from ._kernels.head import clip_by_value, global_norm, linear_forward, scale_inplace
from ._losses import loss_and_output_grad
from ._sequences import writable
from ._threads import compute_threads, pool, single_threaded_step_blas

__all__ = ["Batch", "TrainOptions", "RecurrentObjective", "batch_parts"]


@dataclass(frozen=True)
class Batch:
    """A mini-batch (or a whole training set): padded sequences, lengths, encoded targets, weights.

    Parameters
    ----------
    X : ndarray of shape (B, T, F)
        Padded sequences, batch-major.
    lengths : int64 ndarray of shape (B,)
    y : ndarray
        Encoded targets: shape (B, ...), or (B, T, ...) per step.
    sample_weight : ndarray of shape (B,)
    """

    X: np.ndarray
    lengths: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray = field(default=None)

    def __post_init__(self):
        lengths = np.asarray(self.lengths, dtype=np.int64)
        object.__setattr__(self, "lengths", lengths)
        object.__setattr__(self, "y", np.asarray(self.y))
        sw = self.sample_weight
        object.__setattr__(self, "sample_weight",
                           np.ones(len(lengths)) if sw is None else np.asarray(sw, dtype=np.float64))

    def __len__(self):
        return len(self.lengths)

    def take(self, idx) -> "Batch":
        """The sub-batch of rows ``idx``, cut to its longest sequence."""
        lengths = self.lengths[idx]
        tmax = int(lengths.max()) if lengths.size else 0
        return Batch(self.X[idx, :tmax], lengths, self.y[idx], self.sample_weight[idx])


@dataclass(frozen=True)
class TrainOptions:
    """Training options of an objective (the estimator parameters of the same names)."""

    alpha: float = 0.0
    dropout: float = 0.0
    bptt_steps: int = None
    return_sequences: bool = False
    clip_value: float = None
    clip_norm: float = None
    use_blas: bool = True


#: fewest rows in a part of a mini-batch (smaller batches run whole)
ROWS_PER_PART = 32
#: most parts a mini-batch is cut into (a power of two, so that 1, 2, 4, ... threads share them evenly)
MAX_PARTS = 2


def batch_parts(lengths) -> list:
    """The fixed partition of a mini-batch that training runs part by part.

    A function of the lengths alone, never of the thread count: a batch of
    ``B`` sequences is cut into ``P`` parts, the largest power of two with
    ``P <= MAX_PARTS`` and ``P * ROWS_PER_PART <= B``, each part taking every
    ``P``-th sequence in length order (so the parts cost about the same).
    Each part runs forward and backward with its own gradient buffer and
    the gradients are summed in part order, so a fit is bitwise the same on
    1, 2 or 16 threads (and whatever BLAS threads a worker process
    inherits: every BLAS is held at one thread during a step); threads
    only decide how many parts run at once.

    Returns
    -------
    parts : list of int ndarrays (sorted row indices), or ``[None]`` for the whole batch
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    n = 1
    while 2 * n <= MAX_PARTS and 2 * n * ROWS_PER_PART <= lengths.shape[0]:
        n *= 2
    if n == 1:
        return [None]
    order = np.argsort(-lengths, kind="stable")
    return [np.sort(order[i::n]) for i in range(n)]


class RecurrentObjective:
    """Recurrent stack + dense head + loss, over the flat vector of a :class:`~sklstm._network.NetworkSpec`.

    Parameters
    ----------
    spec : NetworkSpec
    loss : str
        One of :data:`sklstm._losses.LOSSES`.
    options : TrainOptions
    """

    #: threads the current part's blocks run on (set per step by :meth:`loss_and_grad`)
    _part_threads = 1

    def __init__(self, spec, loss, options=TrainOptions()):
        self.spec = spec
        self.loss = loss
        self.options = options

    def with_options(self, **changes) -> "RecurrentObjective":
        """The same objective with some options changed."""
        return RecurrentObjective(self.spec, self.loss, replace(self.options, **changes))

    # ------------------------------------------------------------------ layout
    @property
    def n_params(self) -> int:
        """Length of the flat parameter vector."""
        return self.spec.n_params

    def init_params(self, rng, dtype) -> np.ndarray:
        """A new flat parameter vector (see :meth:`NetworkSpec.init_params`)."""
        return self.spec.init_params(rng, dtype)

    def training_bytes(self, batch, steps, itemsize) -> int:
        """Bytes the cached activations of one training batch take (all layers and directions)."""
        spec = self.spec
        per_step = 0
        for layer, h in enumerate(spec.hidden):
            g = spec.n_gates * h
            per_step += spec.input_size(layer) + spec.n_dirs * (2 * g + 6 * h)
        return int(batch) * int(steps) * per_step * itemsize

    # ------------------------------------------------------------------ training
    def loss_and_grad(self, flat, grad, batch, rng=None, workspace=None, n_threads=1) -> float:
        """Loss of one mini-batch and its gradient with respect to ``flat`` (written into ``grad``).

        The batch runs in the parts of :func:`batch_parts`, ``n_threads`` of
        them at once (the kernels release the GIL); the result does not
        depend on ``n_threads``. The L2 penalty
        ``0.5 * alpha * sum(W**2) / B`` over weight matrices is added, then
        the gradient is clipped by component (``clip_value``) and by global
        norm (``clip_norm``).

        Parameters
        ----------
        flat, grad : ndarray of shape (n_params,)
            Parameters (float32 or float64); gradient output.
        batch : Batch
        rng : numpy.random.Generator or None
            Source of dropout masks (needed when ``dropout > 0``).
        workspace : sklstm._network.Workspace or None
            Buffers reused between calls (a training loop passes one).
        n_threads : int
            Parts run at once.

        Returns
        -------
        loss : float
            The penalised loss.
        """
        o = self.options
        with flush_denormals():
            B = len(batch)
            parts = batch_parts(batch.lengths)
            # a batch of one part runs its time-distributed products on the step's threads, in
            # blocks whose numbers do not depend on how many (sklstm._network.Pass.threads)
            self._part_threads = int(n_threads) if parts == [None] else 1
            if parts == [None]:
                with single_threaded_step_blas(every_blas=True):
                    total = self._run_part(flat, grad, batch, None, rng, workspace)
                return self._finish_grad(flat, grad, total, self._penalty_count(batch))
            denom = float(batch.lengths.sum()) if o.return_sequences else float(B)
            rngs = [None] * len(parts)
            if o.dropout > 0.0:
                rngs = [np.random.default_rng(s) for s in rng.integers(0, 2 ** 63, size=len(parts))]
            bufs = [grad] + [net.scratch(workspace, ("part-grad", i), grad.shape, grad.dtype)
                             for i in range(1, len(parts))]
            subs = [None if workspace is None else workspace.child(i) for i in range(len(parts))]

            def run(i):
                with flush_denormals():  # per thread: the register is thread-local
                    return self._run_part(flat, bufs[i], batch, parts[i], rngs[i], subs[i], denom)

            with single_threaded_step_blas(every_blas=True):
                if n_threads > 1:
                    totals = list(pool(min(int(n_threads), len(parts))).map(run, range(len(parts))))
                else:
                    totals = [run(i) for i in range(len(parts))]
            for b in bufs[1:]:
                grad += b
            return self._finish_grad(flat, grad, sum(totals), self._penalty_count(batch))

    def _run_part(self, flat, grad, batch, rows, rng, workspace, denom=None):
        """Loss and gradient of the rows ``rows`` of ``batch`` (None: all); the hook a family overrides."""
        return self._part_loss_and_grad(flat, grad, batch if rows is None else batch.take(rows), rng,
                                        workspace, denom)

    def _penalty_count(self, batch) -> float:
        """The ``B`` of the L2 penalty ``0.5 * alpha * sum(W**2) / B``: the batch's samples."""
        return float(len(batch))

    def _l2_mask(self) -> np.ndarray:
        """Where the L2 penalty applies: the weight matrices."""
        return self.spec.weight_mask()

    def after_update(self, flat) -> None:
        """Called by the CPU backend after each optimizer update (tied weights copy themselves here)."""

    def _finish_grad(self, flat, grad, total, B):
        """Add the L2 penalty over weight matrices and clip; returns the penalised loss."""
        o = self.options
        dt = flat.dtype
        if o.alpha:
            wm = self._l2_mask()
            wv = flat[wm].astype(np.float64)
            total += 0.5 * o.alpha * float(np.dot(wv, wv)) / B
            grad[wm] += (o.alpha / B) * flat[wm]
        if o.clip_value is not None:
            clip_by_value(grad, dt.type(o.clip_value))
        if o.clip_norm is not None:
            norm = global_norm(grad)
            if norm > o.clip_norm:
                scale_inplace(grad, dt.type(o.clip_norm / (norm + 1e-6)))
        return total

    def _part_loss_and_grad(self, flat, grad, batch, rng, workspace, denom=None):
        """One part's loss and gradient before L2 and clipping; ``denom`` normalises (default: its own)."""
        spec, o = self.spec, self.options
        dt = flat.dtype
        v = spec.views(flat)
        grad[:] = 0.0
        g = spec.views(grad)
        x, lens, perm = net.sort_batch(batch.X, batch.lengths)
        x, ids = embed(spec, v, x, lens, dt, workspace)
        B, T = lens.shape[0], x.shape[0]
        w = batch.sample_weight[perm]
        y = batch.y[perm]
        if o.return_sequences:
            y = np.swapaxes(y, 0, 1)  # time-major
        if denom is None:
            denom = float(lens.sum()) if o.return_sequences else float(B)
        k = T if o.bptt_steps is None else int(o.bptt_steps)
        head_w_t = net.transposed(v["head.weight"])
        states = net.zero_states(spec, B, dt)
        total = 0.0
        for t0 in range(0, T, k):
            t1 = min(t0 + k, T)
            nb = int(np.count_nonzero(lens > t0))
            clens = np.ascontiguousarray(np.minimum(lens[:nb] - t0, t1 - t0))
            st = [[(h[:nb], None if c is None else c[:nb]) for h, c in layer] for layer in states]
            ps = net.Pass(spec, v, clens, o.use_blas, keep=True, ws=workspace, threads=self._part_threads)
            top, tape, states = net.stack_forward(ps, x[t0:t1, :nb], st, o.dropout, rng)
            if o.return_sequences:
                valid = np.arange(t1 - t0)[:, None] < clens[None, :]
                feat = top[valid]
                yt = y[t0:t1, :nb][valid]
                wt = np.broadcast_to(w[None, :nb], valid.shape)[valid]
            else:
                rows, steps = net.last_step_index(lens[:nb], t0, t1)
                if rows.size == 0:
                    continue
                feat = net.gather_last(spec, top, rows, steps)
                yt = y[rows]
                wt = w[rows]
            hmask = None
            if o.dropout > 0.0:
                hmask = net.dropout_mask(rng, feat.shape, o.dropout, dt)
                feat = feat * hmask
            feat = np.ascontiguousarray(feat)
            logits = np.empty((feat.shape[0], spec.n_outputs), dtype=dt)
            linear_forward(feat, head_w_t, v["head.bias"], logits, o.use_blas)
            part, dlogits = loss_and_output_grad(self.loss, logits, yt, wt, denom)
            total += part
            g["head.weight"] += dlogits.T @ feat
            g["head.bias"] += dlogits.sum(axis=0)
            dfeat = dlogits @ v["head.weight"]
            if hmask is not None:
                dfeat *= hmask
            dtop = net.scratch(workspace, ("dtop",), top.shape, dt)
            dtop[...] = 0.0
            if o.return_sequences:
                dtop[valid] = dfeat
            else:
                net.scatter_last(spec, dtop, rows, steps, dfeat)
            # truncated BPTT: no gradient into the carried states
            dx, _ = net.stack_backward(ps, g, dtop, tape, input_grad=ids is not None)
            if ids is not None:
                embedding_backward(np.ascontiguousarray(ids[t0:t1, :nb]), clens, dx, g["embedding.weight"],
                                   spec.padding_idx)
        return total

    # ------------------------------------------------------------------ prediction
    def forward(self, flat, X, lengths, *, head=True, sequences=None, n_threads=1):
        """Outputs for a padded batch-major input, in batches, batch-independent.

        Uses the fixed-order products, so a sequence's output never depends
        on the other sequences, their number, order or lengths.

        Parameters
        ----------
        flat : ndarray of shape (n_params,)
        X : ndarray of shape (n, T, F)
            Same dtype as ``flat``.
        lengths : int64 ndarray of shape (n,)
        head : bool
            Apply the dense head (True) or return the recurrent features.
        sequences : bool or None
            Outputs at every step (NaN at padding) instead of at the last
            one; None: the ``return_sequences`` option.
        n_threads : int or None
            Batches of 256 sequences run on this many threads (results are
            identical); None: numba's thread count, asked only when there is
            more than one batch.

        Returns
        -------
        out : ndarray of shape (n, width) or (n, T, width), dtype of ``flat``
        """
        return forward(self.spec, flat, X, lengths, head=head,
                       return_sequences=self.options.return_sequences if sequences is None else sequences,
                       n_threads=n_threads)

    def input_gradient_norms(self, flat, batch) -> np.ndarray:
        """Mean L2 norm over the batch of dLoss/dx_t at every step t (vanishing-gradient diagnostics).

        No dropout, no truncation; the head reads the last valid step.

        Returns
        -------
        norms : ndarray of shape (T,), float64
            Step t's entry averages over the sequences longer than t.
        """
        B = len(batch)

        def loss_grad(logits):
            return loss_and_output_grad(self.loss, logits, batch.y, batch.sample_weight, float(B))[1]

        grads = self.input_gradients(flat, batch.X, batch.lengths, loss_grad)
        norms = np.sqrt((grads ** 2).sum(axis=2))  # (B, T)
        valid = np.arange(grads.shape[1])[None, :] < batch.lengths[:, None]
        return (norms * valid).sum(axis=0) / np.maximum(valid.sum(axis=0), 1) * B

    def input_gradients(self, flat, X, lengths, cotangent) -> np.ndarray:
        """Gradient of ``sum_i <c_i, z_i>`` with respect to each input step, ``z_i`` sequence i's head output.

        Sequences do not interact (no dropout, no truncation), so row i is
        sequence i's own gradient: a one-hot ``c_i`` gives the gradient of
        one output, the loss's gradient with respect to ``z`` that of the loss.

        Parameters
        ----------
        flat : ndarray of shape (n_params,)
        X : ndarray of shape (n, T, F)
            Padded, batch-major (token ids ``(n, T, 1)`` with an embedding).
        lengths : int64 ndarray of shape (n,)
        cotangent : callable
            ``cotangent(z)`` for the head outputs ``z`` of shape (n, n_outputs)
            (compute dtype, rows in ``X``'s order) returns ``c`` of the same shape.

        Returns
        -------
        grads : ndarray of shape (n, max(lengths), F), float64
            In ``X``'s order, zero at padding steps; with an embedding, the
            gradient with respect to each step's embedding vector (F its width).
        """
        spec = self.spec
        dt = flat.dtype
        v = spec.views(writable(flat))
        g = spec.views(np.zeros_like(flat))
        x, lens, perm = net.sort_batch(X, np.asarray(lengths, dtype=np.int64))
        x, _ = embed(spec, v, x, lens, dt)
        B = lens.shape[0]
        ps = net.Pass(spec, v, lens, keep=True)
        top, tape, _ = net.stack_forward(ps, x, net.zero_states(spec, B, dt))
        rows = np.arange(B)
        feat = np.ascontiguousarray(net.gather_last(spec, top, rows, lens - 1))
        logits = feat @ v["head.weight"].T + v["head.bias"]
        z = np.empty_like(logits)
        z[perm] = logits
        dlogits = np.asarray(cotangent(z), dtype=dt)[perm]
        dtop = np.zeros_like(top)
        net.scatter_last(spec, dtop, rows, lens - 1, dlogits @ v["head.weight"])
        d_in, _ = net.stack_backward(ps, g, dtop, tape, input_grad=True)
        grads = np.empty((B,) + d_in.shape[::2], dtype=np.float64)
        grads[perm] = d_in.transpose(1, 0, 2)
        return grads


def embed(spec, v, x, lens, dt, ws=None):
    """The network's input for a sorted, time-major batch ``x``: itself, or its token ids looked up.

    Returns
    -------
    inputs : ndarray of shape (T, B, F) of dtype ``dt``
    ids : int64 ndarray of shape (T, B), or None without an embedding
    """
    if not spec.vocab_size:
        return x, None
    ids = np.ascontiguousarray(x[:, :, 0], dtype=np.int64)
    out = net.scratch(ws, ("embedded",), ids.shape + (spec.n_features,), dt)
    embedding_forward(ids, lens, v["embedding.weight"], out)
    return out, ids


def forward(spec, flat, X, lengths, *, head=True, return_sequences=False, batch_size=256, n_threads=1):
    """:meth:`RecurrentObjective.forward` for a bare spec (no loss is needed to predict).

    ``batch_size`` sequences go into one kernel call (it bounds memory).
    """
    sequences = return_sequences
    dt = flat.dtype
    v = spec.views(writable(flat))
    n, T = X.shape[0], X.shape[1]
    width = spec.n_outputs if head else spec.head_size
    lengths = np.asarray(lengths, dtype=np.int64)
    out = np.full((n, T, width), np.nan, dtype=dt) if sequences else np.empty((n, width), dtype=dt)
    head_w_t = net.transposed(v["head.weight"])
    bs = int(batch_size)
    # one call sorts the whole input; larger inputs go in length-sorted batches (bucketing)
    order = None if n <= bs else np.argsort(-lengths, kind="stable")

    def run(start):
        if order is None:
            x, lens, perm = net.sort_batch(X, lengths)
            idx = rows_idx = perm
        else:
            idx = order[start:start + bs]
            x, lens, perm = net.sort_batch(X[idx], lengths[idx])
            rows_idx = idx[perm]
        x, _ = embed(spec, v, x, lens, dt)
        top, _, _ = net.stack_forward(net.Pass(spec, v, lens, use_blas=False), x,
                                      net.zero_states(spec, len(idx), dt))
        if sequences:
            valid = np.arange(x.shape[0])[:, None] < lens[None, :]
            feat = np.ascontiguousarray(top[valid])
        else:
            feat = np.ascontiguousarray(net.gather_last(spec, top, np.arange(len(idx)), lens - 1))
        if head:
            res = np.empty((feat.shape[0], width), dtype=dt)
            linear_forward(feat, head_w_t, v["head.bias"], res, False)
        else:
            res = feat
        if sequences:  # each batch writes its own rows: safe from several threads
            tt, bb = np.nonzero(valid)
            out[rows_idx[bb], tt] = res
        else:
            out[rows_idx] = res

    def run_flushed(start):
        with flush_denormals():  # per thread: the register is thread-local
            run(start)

    starts = range(0, n, bs)
    if n_threads is None and len(starts) > 1:
        n_threads = compute_threads()
    if len(starts) > 1 and n_threads > 1:
        # batches are independent and each sequence's arithmetic is fixed-order: same bits on any thread
        list(pool(int(n_threads)).map(run_flushed, starts))
    else:
        for start in starts:
            run_flushed(start)
    return out
