"""The encoder-decoder family on the one training loop: layout, attention, teacher-forced loss.

The pieces :class:`sklstm.LSTMSeq2Seq` puts together (Sutskever et al. 2014;
Cho et al. 2014; Luong et al. 2015):

- :class:`~sklstm._seq2seq_spec.Seq2SeqSpec` (re-exported here): the flat
  parameter layout, named as a plain torch module's ``state_dict``;
- :func:`encode`: the source side of a batch (embedding, encoder, bridge),
  whose rows come in the caller's order and whose backward takes the
  gradients of the decoder's initial states and of the encoder outputs;
- attention (:mod:`sklstm._attention`): Luong's global attention without
  input feeding, batch-major, for a whole teacher-forced target or one
  decoding step;
- :class:`Seq2SeqObjective`: next-token cross-entropy of the target given
  the source, with teacher forcing (or scheduled sampling below a ratio of
  one), a :class:`~sklstm._objectives.RecurrentObjective` for the loop;
- :func:`log_likelihoods`: fixed-order teacher-forced scoring of pairs;
  :func:`attention_maps`: the attention weights of pairs.

Arrays: the source batch is ``X`` of shape (n, S, 1) int64 token ids (or
(n, 1, F) features) with ``lengths``; the target ``y`` is (n, T) int64 ids
ending in ``<eos>``, 0-padded. The decoder reads ``<bos>`` then the target
shifted by one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np

from . import _network as net
from ._attention import attend, attend_backward, dense, project_keys, source_mask
from ._kernels.embed import embedding_backward, embedding_forward
from ._kernels.head import linear_forward
from ._language import softmax_cross_entropy_
from ._objectives import RecurrentObjective, TrainOptions
from ._seq2seq_spec import Seq2SeqSpec
from ._spec import CELL_GATES

__all__ = ["Seq2SeqSpec", "Seq2SeqObjective", "Encoded", "encode", "attend",
           "decoder_inputs", "log_likelihoods", "attention_maps"]


# ---------------------------------------------------------------------------- the source side
class Encoded(NamedTuple):
    """The source side of a batch, rows in the caller's order.

    ``states`` are the decoder's initial states (per layer, one direction,
    ``(h, c)``); ``memory`` (B, S, E), ``keys``, ``mask`` and (prediction)
    ``keys_t`` what attention reads (None without); the rest is what
    :func:`encode_backward` needs.
    """

    states: list
    memory: np.ndarray
    keys: np.ndarray
    mask: np.ndarray
    keys_t: np.ndarray
    src_lens: np.ndarray
    tape: object
    bridge: list


def _bridge_forward(spec, v, inputs, fixed):
    """Decoder initial states from the bridge inputs ``inputs[k] = (sh, sc)``: tanh for h, linear for c."""
    states, cache = [], []
    for k, (sh, sc) in enumerate(inputs):
        h = np.tanh(dense(sh, v[f"bridge.h_l{k}.weight"], v[f"bridge.h_l{k}.bias"], fixed))
        c = dense(sc, v[f"bridge.c_l{k}.weight"], v[f"bridge.c_l{k}.bias"], fixed) if spec.has_cell_state \
            else None
        states.append([(np.ascontiguousarray(h), None if c is None else np.ascontiguousarray(c))])
        cache.append((sh, sc, h))
    return states, cache


def encode(spec, v, X, lengths, *, use_blas=False, keep=False, ws=None, dropout=0.0, rng=None):
    """Run the source side of a batch: embedding, encoder, bridge (or the bridge of the features).

    Parameters
    ----------
    spec : Seq2SeqSpec
    v : dict
        Parameter views.
    X : ndarray of shape (B, S, 1) int64 ids, or (B, 1, F) features in the parameters' dtype
    lengths : int64 ndarray of shape (B,)
    use_blas, keep, ws, dropout, rng
        As the driver's :class:`sklstm._network.Pass` and :func:`~sklstm._network.stack_forward`.

    Returns
    -------
    Encoded
    """
    dt = v["head.weight"].dtype
    B = X.shape[0]
    if spec.features:
        feats = np.ascontiguousarray(X[:, 0, :], dtype=dt)
        states, cache = _bridge_forward(spec, v, [(feats, feats)] * len(spec.hidden), not keep)
        return Encoded(states, None, None, None, None, lengths, None, cache)
    enc = spec.encoder
    ve = spec.part(v, "encoder.")
    x, lens, perm = net.sort_batch(X, lengths)
    ids = np.ascontiguousarray(x[:, :, 0], dtype=np.int64)
    emb = net.scratch(ws, ("embedded",), ids.shape + (enc.n_features,), dt)
    embedding_forward(ids, lens, ve["embedding.weight"], emb)
    ps = net.Pass(enc, ve, lens, use_blas, keep=keep, ws=ws)
    top, tape, final = net.stack_forward(ps, emb, net.zero_states(enc, B, dt), dropout, rng)
    inv = np.empty_like(perm)
    inv[perm] = np.arange(B)
    final = [[(h[inv], None if c is None else c[inv]) for h, c in layer] for layer in final]
    if spec.bridged:
        inputs = [(np.concatenate([h for h, _ in layer], axis=1),
                   np.concatenate([c for _, c in layer], axis=1) if spec.has_cell_state else None)
                  for layer in final]
        states, cache = _bridge_forward(spec, v, inputs, not keep)
    else:
        states, cache = [[layer[0]] for layer in final], None
    memory = keys = mask = keys_t = None
    if spec.attention:
        memory = np.ascontiguousarray(top.transpose(1, 0, 2)[inv])  # (B, S, E), rows in the caller's order
        memory[np.arange(memory.shape[1])[None, :] >= lengths[:, None]] = 0.0
        keys = project_keys(spec, v, memory, fixed=not keep)
        mask = source_mask(lengths, memory.shape[1], dt)
        if not keep:
            keys_t = np.ascontiguousarray(keys.transpose(0, 2, 1))
    tape = (ps, tape, ids, perm) if keep else None
    return Encoded(states, memory, keys, mask, keys_t, np.asarray(lengths, dtype=np.int64), tape, cache)


def encode_backward(spec, v, g, encoded, dstates0, dmemory):
    """Backward of :func:`encode` (with ``keep=True``) given the gradients of the decoder's initial states.

    ``dstates0`` as :func:`sklstm._network.stack_backward` returns them for
    the decoder; ``dmemory`` (B, S, E) the gradient of the encoder outputs
    (None without attention). Adds into the gradient views ``g``.
    """
    dfinal = None
    if spec.bridged:
        dfinal = []
        for k, (sh, sc, h) in enumerate(encoded.bridge):
            dh, dc = dstates0[k][0]
            dzh = dh * (1.0 - h * h)
            g[f"bridge.h_l{k}.weight"] += dzh.T @ sh
            g[f"bridge.h_l{k}.bias"] += dzh.sum(axis=0)
            dsh = dzh @ v[f"bridge.h_l{k}.weight"]
            dsc = None
            if spec.has_cell_state:
                g[f"bridge.c_l{k}.weight"] += dc.T @ sc
                g[f"bridge.c_l{k}.bias"] += dc.sum(axis=0)
                dsc = dc @ v[f"bridge.c_l{k}.weight"]
            dfinal.append((dsh, dsc))
    if spec.features:
        return
    enc = spec.encoder
    ps, tape, ids, perm = encoded.tape
    ge = spec.part(g, "encoder.")
    if dfinal is None:
        dstates = [[(dstates0[k][0][0][perm], None if dstates0[k][0][1] is None else dstates0[k][0][1][perm])]
                   for k in range(len(spec.hidden))]
    else:
        dstates = []
        for k, (dsh, dsc) in enumerate(dfinal):
            h = spec.hidden[k]
            cols = [slice(d * h, (d + 1) * h) for d in range(enc.n_dirs)]
            dstates.append([(dsh[perm, c], None if dsc is None else dsc[perm, c]) for c in cols])
    S, B = ids.shape
    dtop = np.zeros((S, B, enc.head_size), dtype=v["head.weight"].dtype)
    if dmemory is not None:
        dtop[...] = dmemory[perm, :S].transpose(1, 0, 2)
    dx, _ = net.stack_backward(ps, ge, dtop, tape, dstates=dstates, input_grad=True)
    embedding_backward(ids, ps.lens, dx, ge["embedding.weight"], 0)


# ---------------------------------------------------------------------------- the target side
def decoder_inputs(spec, y, tlens):
    """Time-major decoder inputs ``<bos> y_0 .. y_{T-2}`` and targets ``y`` of a batch, 0 at padding.

    Returns
    -------
    inputs, targets : int64 ndarrays of shape (T, B)
    """
    T = int(tlens.max())
    targets = np.ascontiguousarray(y[:, :T].T, dtype=np.int64)
    inputs = np.zeros_like(targets)
    inputs[0] = spec.bos
    inputs[1:] = targets[:-1]
    inputs[np.arange(T)[:, None] >= tlens[None, :]] = 0
    return inputs, targets


def decode_teacher_forced(spec, v, encoded, inputs, tlens, *, use_blas=False, keep=False, ws=None,
                          dropout=0.0, rng=None):
    """The decoder over given inputs (time-major, rows sorted by decreasing ``tlens``) and attention.

    Returns
    -------
    feat : ndarray of shape (T, B, H)
        What the output layer reads at every step (undefined at padding).
    cache : tuple or None
        What :func:`decode_backward` needs (``keep=True``).
    """
    dec = spec.decoder
    vd = spec.part(v, "decoder.")
    dt = v["head.weight"].dtype
    T, B = inputs.shape
    x = net.scratch(ws, ("dec-embedded",), (T, B, dec.n_features), dt)
    embedding_forward(inputs, tlens, vd["embedding.weight"], x)
    ps = net.Pass(dec, vd, tlens, use_blas, keep=keep, ws=ws)
    top, tape, _ = net.stack_forward(ps, x, encoded.states, dropout, rng)
    att = None
    if spec.attention:
        valid = np.arange(T)[:, None] < tlens[None, :]
        q = np.where(valid[:, :, None], top, 0).transpose(1, 0, 2).astype(dt, copy=False)
        out, att = attend(spec, v, np.ascontiguousarray(q), encoded.memory, encoded.keys, encoded.mask,
                          encoded.keys_t, encoded.src_lens)
        feat = out.transpose(1, 0, 2)
    else:
        feat = top
    return feat, ((ps, tape, inputs, att) if keep else None)


def decode_backward(spec, v, g, cache, dfeat):
    """Backward of :func:`decode_teacher_forced`: returns the decoder's initial-state and memory gradients."""
    ps, tape, inputs, att = cache
    dmemory = None
    if att is not None:
        dq, dmemory = attend_backward(spec, v, g, att, dfeat.transpose(1, 0, 2))
        dtop = np.ascontiguousarray(dq.transpose(1, 0, 2))
    else:
        dtop = dfeat
    gd = spec.part(g, "decoder.")
    dx, dstates0 = net.stack_backward(ps, gd, dtop, tape, input_grad=True)
    embedding_backward(inputs, ps.lens, dx, gd["embedding.weight"], 0)
    return dstates0, dmemory


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def head_log_probs(spec, v, feat, head_t=None):
    """Log-probabilities (float64, (n, V)) of the output layer on features ``feat`` (n, H).

    ``head_t``: the output weight already transposed (a decoding loop keeps it).
    """
    logits = np.empty((feat.shape[0], spec.target_vocab), dtype=feat.dtype)
    linear_forward(np.ascontiguousarray(feat), net.transposed(v["head.weight"]) if head_t is None else head_t,
                   v["head.bias"], logits, False)
    return _log_softmax(logits.astype(np.float64))


class Seq2SeqObjective(RecurrentObjective):
    """Cross-entropy of the target tokens (``<eos>`` included) given the source, over one flat vector.

    The loss of a mini-batch is the mean over its target tokens (as torch's
    ``CrossEntropyLoss(ignore_index=0)``); the L2 penalty is
    ``0.5 * alpha * sum(W**2) / n_tokens``. Below a ``teacher_forcing_ratio``
    of one, each decoder input is, with probability ``1 - ratio``, the
    model's own most likely token at the previous step instead of the true
    one (scheduled sampling, Bengio et al. 2015; no gradient flows through
    the choice).

    Parameters
    ----------
    spec : Seq2SeqSpec
    options : TrainOptions
    teacher_forcing_ratio : float
    """

    def __init__(self, spec, options=TrainOptions(), teacher_forcing_ratio=1.0):
        super().__init__(spec, "softmax", options)
        self.teacher_forcing_ratio = float(teacher_forcing_ratio)

    def with_options(self, **changes) -> "Seq2SeqObjective":
        """The same objective with some options changed."""
        return Seq2SeqObjective(self.spec, replace(self.options, **changes), self.teacher_forcing_ratio)

    def init_params(self, rng, dtype) -> np.ndarray:
        """A new flat parameter vector (:meth:`Seq2SeqSpec.init_params`)."""
        return self.spec.init_params(rng, dtype)

    def training_bytes(self, batch, steps, itemsize) -> int:
        """Activations of both stacks (``steps`` steps each) plus the vocabulary-wide logits."""
        spec = self.spec
        per_step = 0
        for h in spec.hidden:
            per_step += (3 if spec.bidirectional else 1) * (2 * CELL_GATES[spec.cell] * h + 6 * h)
        return int(batch) * int(steps) * (per_step + 2 * spec.target_vocab) * itemsize

    def _penalty_count(self, batch) -> float:
        return float(np.count_nonzero(batch.y))

    def _l2_mask(self) -> np.ndarray:
        return self.spec.weight_mask()

    def loss_and_grad(self, flat, grad, batch, rng=None, workspace=None, n_threads=1) -> float:
        """Loss and gradient of a mini-batch of pairs (as :meth:`RecurrentObjective.loss_and_grad`)."""
        # scheduled sampling draws from its own seed per batch and part: the result never depends on
        # the thread count, and it needs no dropout generator
        self._sampling_seed = None
        if self.teacher_forcing_ratio < 1.0:
            self._sampling_seed = [int((rng or np.random.default_rng(0)).integers(2 ** 62)), 0]
        return super().loss_and_grad(flat, grad, batch, rng, workspace, n_threads)

    def _run_part(self, flat, grad, batch, rows, rng, workspace, denom=None):
        seed = None
        if self._sampling_seed is not None:
            seed = [self._sampling_seed[0], 0 if rows is None else int(rows[0]) + 1]
        denom = float(np.count_nonzero(batch.y))  # the whole mini-batch's target tokens
        return self.pair_loss_and_grad(flat, grad, batch if rows is None else batch.take(rows), rng,
                                       workspace, denom, seed)

    def pair_loss_and_grad(self, flat, grad, batch, rng=None, ws=None, denom=None, sampling_seed=None):
        """Loss of a batch of pairs (summed over target tokens, divided by ``denom``) and its gradient.

        Written into ``grad`` (overwritten); no L2 penalty, no clipping.
        ``sampling_seed`` seeds scheduled sampling (``teacher_forcing_ratio < 1``).
        """
        spec, o = self.spec, self.options
        v = spec.views(flat)
        grad[:] = 0.0
        g = spec.views(grad)
        y = np.asarray(batch.y, dtype=np.int64)
        tlens = np.count_nonzero(y, axis=1).astype(np.int64)
        perm = np.argsort(-tlens, kind="stable")
        tl = np.ascontiguousarray(tlens[perm])
        if denom is None:
            denom = float(tl.sum())
        wse = None if ws is None else ws.child("encoder")
        wsd = None if ws is None else ws.child("decoder")
        encoded = encode(spec, v, batch.X[perm], batch.lengths[perm], use_blas=o.use_blas, keep=True, ws=wse,
                         dropout=o.dropout, rng=rng)
        inputs, targets = decoder_inputs(spec, y[perm], tl)
        if self.teacher_forcing_ratio < 1.0:
            from ._decoding import scheduled_inputs

            inputs = scheduled_inputs(spec, v, encoded, inputs, tl, self.teacher_forcing_ratio,
                                      np.random.default_rng(sampling_seed or 0))
        feat, cache = decode_teacher_forced(spec, v, encoded, inputs, tl, use_blas=o.use_blas, keep=True,
                                            ws=wsd, dropout=o.dropout, rng=rng)
        T = inputs.shape[0]
        valid = np.arange(T)[:, None] < tl[None, :]
        f = np.ascontiguousarray(feat[valid])
        mask = None
        if o.dropout > 0.0:
            mask = net.dropout_mask(rng, f.shape, o.dropout, f.dtype)
            f = f * mask
        logits = net.scratch(ws, ("logits",), (f.shape[0], spec.target_vocab), f.dtype)
        linear_forward(f, net.transposed(v["head.weight"]), v["head.bias"], logits, o.use_blas)
        total = softmax_cross_entropy_(logits, targets[valid], denom)
        g["head.weight"] += logits.T @ f
        g["head.bias"] += logits.sum(axis=0)
        df = logits @ v["head.weight"]
        if mask is not None:
            df *= mask
        dfeat = np.zeros(feat.shape, dtype=f.dtype)
        dfeat[valid] = df
        dstates0, dmemory = decode_backward(spec, v, g, cache, dfeat)
        encode_backward(spec, v, g, encoded, dstates0, dmemory)
        return total


def log_likelihoods(spec, flat, X, lengths, y, batch_size=64):
    """Teacher-forced log-likelihood of each target given its source (nats, ``<eos>`` included).

    Fixed-order arithmetic: a pair's result does not depend on the other
    pairs of its batch.

    Parameters
    ----------
    spec : Seq2SeqSpec
    flat : ndarray of shape (n_params,)
    X : ndarray of shape (n, S, 1) or (n, 1, F)
    lengths : int64 ndarray of shape (n,)
    y : int64 ndarray of shape (n, T)
        Targets ending in ``<eos>``, 0-padded.

    Returns
    -------
    loglik : float64 ndarray of shape (n,)
    counts : int64 ndarray of shape (n,)
        Target tokens scored per pair.
    """
    v = spec.views(flat)
    n = X.shape[0]
    tlens_all = np.count_nonzero(y, axis=1).astype(np.int64)
    out = np.zeros(n, dtype=np.float64)
    order = np.argsort(-tlens_all, kind="stable")
    for start in range(0, n, batch_size):
        rows = order[start:start + batch_size]
        tl = np.ascontiguousarray(tlens_all[rows])
        smax = int(lengths[rows].max())
        encoded = encode(spec, v, X[rows, :smax], lengths[rows])
        inputs, targets = decoder_inputs(spec, y[rows], tl)
        feat, _ = decode_teacher_forced(spec, v, encoded, inputs, tl)
        valid = np.arange(inputs.shape[0])[:, None] < tl[None, :]
        tt, bb = np.nonzero(valid)
        lp = head_log_probs(spec, v, feat[tt, bb])
        np.add.at(out, rows[bb], lp[np.arange(tt.size), targets[tt, bb]])
    return out, tlens_all


def attention_maps(spec, flat, X, lengths, y, batch_size=64):
    """Teacher-forced attention weights of each pair: target steps by source steps.

    The softmax over the source steps of every decoder step (the step that
    writes target token ``t``, ``<eos>`` included), computed with the
    training-time products: equal to the weights of decoding up to rounding.

    Parameters
    ----------
    spec : Seq2SeqSpec
        With ``attention``.
    flat : ndarray of shape (n_params,)
    X : ndarray of shape (n, S, 1)
    lengths : int64 ndarray of shape (n,)
    y : int64 ndarray of shape (n, T)
        Targets ending in ``<eos>``, 0-padded.

    Returns
    -------
    weights : list of float64 ndarrays of shape (n_target_tokens_i, lengths[i])
    """
    v = spec.views(flat)
    tlens_all = np.count_nonzero(y, axis=1).astype(np.int64)
    out = [None] * X.shape[0]
    order = np.argsort(-tlens_all, kind="stable")  # the decoder reads rows by decreasing target length
    for start in range(0, X.shape[0], batch_size):
        rows = order[start:start + batch_size]
        tl = np.ascontiguousarray(tlens_all[rows])
        encoded = encode(spec, v, X[rows, :int(lengths[rows].max())], lengths[rows])
        inputs, _ = decoder_inputs(spec, y[rows], tl)
        # without the transposed keys attend() takes its training path, which keeps the weights
        _, cache = decode_teacher_forced(spec, v, encoded._replace(keys_t=None), inputs, tl, keep=True)
        att = cache[3]
        for j, i in enumerate(rows):
            out[i] = att.weights[j, :tl[j], :lengths[i]].astype(np.float64)
    return out
