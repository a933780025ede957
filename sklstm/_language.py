"""Language modelling on the one training loop: parallel streams, carried states, scoring, sampling.

The torch ``word_language_model`` / char-rnn recipe, as pieces the estimator
:class:`sklstm.LSTMLanguageModel` puts together:

- :func:`stream_batches`: one token stream cut into ``B`` parallel streams
  and each stream into chunks of ``bptt_steps`` tokens, laid out so that
  mini-batch ``c`` of an epoch is chunk ``c`` of every stream;
- :class:`LanguageModelObjective`: embedding -> recurrent stack -> softmax
  over the vocabulary at every step, whose recurrent state carries over from
  one chunk to the next (truncated BPTT: no gradient flows into the carried
  state), with optionally tied input and output embeddings (Press & Wolf
  2017; Inan et al. 2017);
- :class:`StreamLoop`: the training loop of :mod:`sklstm._training` with
  the chunks in stream order and the states reset at every epoch;
- :func:`consume`: the log-likelihood of token sequences and the states
  after them (fixed-order arithmetic: a sequence's numbers never depend on
  the others in its batch);
- :func:`sample_next`: the next token from logits with temperature, top-k
  and nucleus (top-p) filtering.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import _network as net
from ._kernels.embed import embedding_backward, embedding_forward
from ._kernels.head import linear_forward
from ._objectives import Batch, RecurrentObjective, TrainOptions
from ._training import TrainingLoop
from ._vocab_head import softmax_head, softmax_rows_

__all__ = ["stream_batches", "LanguageModelObjective", "StreamLoop", "consume", "sample_next",
           "softmax_cross_entropy_"]


def stream_batches(stream, n_streams, bptt_steps):
    """The training data of a language model: ``(inputs, next tokens)`` in chunk-major rows.

    The stream's first ``B * L + 1`` tokens (``L = (len(stream) - 1) // B``)
    are cut into ``B`` consecutive streams of ``L`` inputs, each with its
    next tokens as targets; row ``c * B + b`` of the result is chunk ``c``
    (``bptt_steps`` tokens, the last chunk possibly shorter) of stream ``b``.

    Parameters
    ----------
    stream : int64 ndarray of shape (N,)
    n_streams : int
        ``B``; the caller makes sure that ``B * bptt_steps < N``.
    bptt_steps : int

    Returns
    -------
    data : Batch
        ``X`` of shape (n_chunks * B, bptt_steps, 1) (token ids), ``y`` of
        shape (n_chunks * B, bptt_steps) (next ids, 0 at padding), lengths.
    """
    B, k = int(n_streams), int(bptt_steps)
    L = (len(stream) - 1) // B
    inputs = stream[:B * L].reshape(B, L)
    targets = stream[1:B * L + 1].reshape(B, L)
    n_chunks = -(-L // k)
    X = np.zeros((n_chunks * B, k, 1), dtype=np.int64)
    y = np.zeros((n_chunks * B, k), dtype=np.int64)
    lengths = np.full(n_chunks * B, k, dtype=np.int64)
    for c in range(n_chunks):
        a, b = c * k, min(L, (c + 1) * k)
        X[c * B:(c + 1) * B, :b - a, 0] = inputs[:, a:b]
        y[c * B:(c + 1) * B, :b - a] = targets[:, a:b]
        lengths[c * B:(c + 1) * B] = b - a
    return Batch(X, lengths, y)


def softmax_cross_entropy_(logits, y, denom):
    """Summed cross-entropy of ``logits`` against ``y`` over ``denom``; ``logits`` becomes its gradient.

    In place and in the logits' own dtype; the sums are taken in float64
    (:func:`sklstm._vocab_head.softmax_rows_`).

    Parameters
    ----------
    logits : ndarray of shape (n, V)
        Overwritten with ``d loss / d logits``.
    y : int64 ndarray of shape (n,)
    denom : float

    Returns
    -------
    loss : float
    """
    row_loss = np.empty(logits.shape[0])
    softmax_rows_(logits, y, denom, row_loss)
    return float(row_loss.sum()) / denom


class LanguageModelObjective(RecurrentObjective):
    """Next-token cross-entropy of an embedding + recurrent stack + vocabulary softmax, state carried.

    Every batch is one chunk of each of ``B`` parallel streams, all of the
    same length; the final states of a chunk are the initial states of the
    next (:attr:`carried`), until :meth:`reset_states`. The loss is the mean
    over the chunk's tokens; the L2 penalty is ``0.5 * alpha * sum(W**2) /
    n_tokens``.

    Parameters
    ----------
    spec : NetworkSpec
        With an embedding (``vocab_size``) and ``n_outputs == vocab_size``.
    options : TrainOptions
    tie_weights : bool
        The head's weight is the embedding matrix (``embedding_dim`` must
        equal the last hidden size): their gradients are summed into the
        embedding, which is copied into the head after every update.
    """

    def __init__(self, spec, options=TrainOptions(), tie_weights=False):
        super().__init__(spec, "softmax", replace(options, return_sequences=True))
        self.tie_weights = bool(tie_weights)
        self.carried = None
        self._next = None

    def with_options(self, **changes) -> "LanguageModelObjective":
        """The same objective with some options changed (the carried states are not copied)."""
        return LanguageModelObjective(self.spec, replace(self.options, **changes), self.tie_weights)

    def reset_states(self) -> None:
        """Start every stream again from zero states (at the start of an epoch)."""
        self.carried = None

    def training_bytes(self, batch, steps, itemsize) -> int:
        """Cached activations plus the vocabulary-wide logits of one batch."""
        return super().training_bytes(batch, steps, itemsize) + 2 * int(batch) * int(steps) * \
            self.spec.n_outputs * itemsize

    def _penalty_count(self, batch) -> float:
        return float(batch.lengths.sum())

    def _l2_mask(self) -> np.ndarray:
        mask = self.spec.weight_mask()
        if self.tie_weights:  # the head's copy of the embedding is not a weight of its own
            _, _, a, b = next(e for e in self.spec.entries if e[0] == "head.weight")
            mask[a:b] = False
        return mask

    def loss_and_grad(self, flat, grad, batch, rng=None, workspace=None, n_threads=1) -> float:
        """Loss and gradient of one chunk of every stream; the streams' states move on to the chunk's end.

        Same contract as :meth:`RecurrentObjective.loss_and_grad` (the
        result does not depend on ``n_threads``).
        """
        B = len(batch)
        dt = flat.dtype
        if self.carried is None or self.carried[0][0][0].shape != (B, self.spec.hidden[0]) \
                or self.carried[0][0][0].dtype != dt:
            self.carried = net.zero_states(self.spec, B, dt)
        self._next = net.zero_states(self.spec, B, dt)
        loss = super().loss_and_grad(flat, grad, batch, rng, workspace, n_threads)
        self.carried, self._next = self._next, None
        return loss

    def _finish_grad(self, flat, grad, total, B):
        if self.tie_weights:
            g = self.spec.views(grad)
            g["embedding.weight"] += g["head.weight"]
            g["embedding.weight"][self.spec.padding_idx] = 0.0
            g["head.weight"][...] = 0.0
        return super()._finish_grad(flat, grad, total, B)

    def after_update(self, flat) -> None:
        """Tied weights: the head takes the updated embedding."""
        if self.tie_weights:
            v = self.spec.views(flat)
            v["head.weight"][...] = v["embedding.weight"]

    def _run_part(self, flat, grad, batch, rows, rng, workspace, denom=None):
        if rows is None:
            rows = slice(None)
            sub = batch
        else:
            sub = batch.take(rows)
        states = [[(h[rows], None if c is None else c[rows]) for h, c in layer] for layer in self.carried]
        total, new_states = self._chunk(flat, grad, sub, states, rng, workspace,
                                        float(batch.lengths.sum()) if denom is None else denom)
        for layer, new_layer in zip(self._next, new_states):
            for (h, c), (nh, nc) in zip(layer, new_layer):
                h[rows] = nh
                if c is not None:
                    c[rows] = nc
        return total

    def _chunk(self, flat, grad, batch, states, rng, ws, denom):
        """One part of a chunk: forward from ``states``, loss, backward; returns (loss, final states)."""
        spec, o = self.spec, self.options
        dt = flat.dtype
        v = spec.views(flat)
        grad[:] = 0.0
        g = spec.views(grad)
        ids = np.ascontiguousarray(batch.X[:, :, 0].T, dtype=np.int64)  # (T, b), time-major
        T, b = ids.shape
        lens = batch.lengths
        x = net.scratch(ws, ("embedded",), (T, b, spec.n_features), dt)
        embedding_forward(ids, lens, v["embedding.weight"], x)
        ps = net.Pass(spec, v, lens, o.use_blas, keep=True, ws=ws, threads=self._part_threads)
        top, tape, new_states = net.stack_forward(ps, x, states, o.dropout, rng)
        feat = top.reshape(T * b, spec.head_size)
        hmask = None
        if o.dropout > 0.0:
            hmask = net.dropout_mask(rng, feat.shape, o.dropout, dt)
            feat = feat * hmask
        targets = np.ascontiguousarray(batch.y[:, :T].T).reshape(-1)  # take() cut X to the longest row
        total, dfeat = softmax_head(np.ascontiguousarray(feat), v["head.weight"], v["head.bias"], targets,
                                    denom, g["head.weight"], g["head.bias"], ws=ws,
                                    n_threads=self._part_threads, use_blas=o.use_blas)
        if hmask is not None:
            dfeat *= hmask
        dx, _ = net.stack_backward(ps, g, dfeat.reshape(T, b, spec.head_size), tape, input_grad=True)
        embedding_backward(ids, lens, dx, g["embedding.weight"], spec.padding_idx)
        return total, new_states


class StreamLoop(TrainingLoop):
    """The training loop over parallel streams: chunks in order, states reset at each epoch.

    The data are :func:`stream_batches`' rows; ``config.batch_size`` is the
    number of streams ``B``. An epoch's loss is the mean over its tokens.
    """

    def batches(self, lengths) -> list:
        """Chunk ``c`` of every stream, for ``c`` in order (never shuffled: the state carries over)."""
        B = self.config.batch_size
        return [np.arange(c, c + B) for c in range(0, lengths.shape[0], B)]

    def run_epoch(self, data, interrupt):
        """One pass over the streams from zero states; the mean loss per token (None when interrupted)."""
        self.objective.reset_states()
        total = tokens = 0.0
        for idx in self.batches(data.lengths):
            if interrupt["hit"]:
                return None
            n = float(data.lengths[idx].sum())
            total += self.train_step(idx) * n
            tokens += n
        return total / tokens


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


#: largest number of logits one scoring chunk computes at once
_SCORE_LOGITS = 1 << 22


def consume(spec, flat, seqs, *, scores=True, batch_size=64):
    """Run token sequences through the network; their log-likelihood and the states after them.

    Sequence ``i`` is read from a zero state; with ``scores``, token
    ``t + 1`` is scored given tokens ``0..t`` (the first token, a
    ``<bos>``, is only read). Fixed-order products: a sequence's result does
    not depend on the other sequences, their number or order.

    Parameters
    ----------
    spec : NetworkSpec
    flat : ndarray of shape (n_params,)
    seqs : list of int64 ndarrays of shape (T_i,), each T_i >= 1
    scores : bool
        Compute the log-likelihoods (False: only the states).
    batch_size : int

    Returns
    -------
    loglik : float64 ndarray of shape (n,)
        Sum over each sequence of ``log p(token_{t+1} | tokens_{<=t})`` (nats).
    counts : int64 ndarray of shape (n,)
        Tokens scored per sequence (``T_i - 1``).
    states : list
        Per layer, per direction ``(h, c)`` of shape (n, hidden) after each
        whole sequence (:func:`sklstm._network.step` continues from them).
    """
    dt = flat.dtype
    v = spec.views(flat)
    n = len(seqs)
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    loglik = np.zeros(n, dtype=np.float64)
    states = net.zero_states(spec, n, dt)
    order = np.argsort(-lengths, kind="stable")
    head_w_t = net.transposed(v["head.weight"])
    V = spec.n_outputs
    for start in range(0, n, batch_size):
        rows = order[start:start + batch_size]
        lens = lengths[rows]
        B, T = rows.size, int(lens[0])
        ids = np.zeros((T, B), dtype=np.int64)
        for j, r in enumerate(rows):
            ids[:lens[j], j] = seqs[r]
        st = net.zero_states(spec, B, dt)
        k = max(1, min(T, _SCORE_LOGITS // max(1, B * V)))
        for t0 in range(0, T, k):
            nb = int(np.count_nonzero(lens > t0))
            t1 = min(T, t0 + k)
            clens = np.ascontiguousarray(np.minimum(lens[:nb] - t0, t1 - t0))
            x = np.empty((t1 - t0, nb, spec.n_features), dtype=dt)
            chunk_ids = np.ascontiguousarray(ids[t0:t1, :nb])
            embedding_forward(chunk_ids, clens, v["embedding.weight"], x)
            sub = [[(h[:nb], None if c is None else c[:nb]) for h, c in layer] for layer in st]
            top, _, new = net.stack_forward(net.Pass(spec, v, clens, use_blas=False), x, sub)
            for layer, new_layer in zip(st, new):
                for (h, c), (nh, nc) in zip(layer, new_layer):
                    h[:nb] = nh
                    if c is not None:
                        c[:nb] = nc
            if not scores:
                continue
            # the step at t predicts token t + 1: valid where t + 1 < length
            tt, bb = np.nonzero(np.arange(t0, t1)[:, None] + 1 < lens[None, :nb])
            if tt.size == 0:
                continue
            feat = np.ascontiguousarray(top[tt, bb])
            logits = np.empty((feat.shape[0], V), dtype=dt)
            linear_forward(feat, head_w_t, v["head.bias"], logits, False)
            lp = _log_softmax(logits.astype(np.float64))
            picked = lp[np.arange(tt.size), ids[t0 + tt + 1, bb]]
            np.add.at(loglik, rows[bb], picked)
        for layer, full in zip(st, states):
            for (h, c), (fh, fc) in zip(layer, full):
                fh[rows] = h
                if c is not None:
                    fc[rows] = c
    return loglik, np.maximum(lengths - 1, 0), states


def next_logits(spec, flat, states):
    """Head output (float64, shape (n, V)) from the top layer's hidden state."""
    v = spec.views(flat)
    h = np.ascontiguousarray(states[-1][0][0])
    out = np.empty((h.shape[0], spec.n_outputs), dtype=flat.dtype)
    linear_forward(h, net.transposed(v["head.weight"]), v["head.bias"], out, False)
    return out.astype(np.float64)


def sample_next(logits, rng, temperature=1.0, top_k=None, top_p=None):
    """One token per row of ``logits`` (float64, -inf where a token is excluded).

    ``temperature=0`` or ``top_k=1`` is the arg max (greedy). Otherwise the
    logits are divided by ``temperature``, cut to the ``top_k`` largest,
    then to the smallest set whose probability reaches ``top_p`` (nucleus
    sampling, Holtzman et al. 2020; the most likely token is always kept),
    and one token is drawn from what is left with one uniform number per row
    from ``rng`` (a ``numpy.random.RandomState``).

    Returns
    -------
    tokens : int64 ndarray of shape (n,)
    """
    if temperature == 0 or top_k == 1:
        return np.argmax(logits, axis=1).astype(np.int64)
    z = logits / float(temperature)
    if top_k is not None and top_k < z.shape[1]:
        kth = np.partition(z, -top_k, axis=1)[:, -top_k][:, None]
        z = np.where(z >= kth, z, -np.inf)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-p, axis=1, kind="stable")
        sorted_p = np.take_along_axis(p, order, axis=1)
        before = np.cumsum(sorted_p, axis=1) - sorted_p  # probability of the tokens ranked above
        keep_sorted = before < top_p
        keep = np.zeros_like(keep_sorted)
        np.put_along_axis(keep, order, keep_sorted, axis=1)
        p = np.where(keep, p, 0.0)
        p /= p.sum(axis=1, keepdims=True)
    u = rng.random_sample(p.shape[0])
    cdf = np.cumsum(p, axis=1)
    tokens = (cdf <= (u * cdf[:, -1])[:, None]).sum(axis=1)  # the first token whose cdf passes u
    # never past the last token that has probability (u * total can round up to the total)
    last = p.shape[1] - 1 - np.argmax(p[:, ::-1] > 0, axis=1)
    return np.minimum(tokens, last).astype(np.int64)
