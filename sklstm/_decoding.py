"""Decoding an encoder-decoder: greedy, beam search, and scheduled sampling's inputs.

Every function runs the decoder one step at a time from carried states
(:func:`sklstm._network.step`), batched over sources (and beams), with the
fixed-order products of prediction: a source's output never depends on the
other sources of its batch.

Scores are model log-likelihoods (nats) of the output tokens followed by
``<eos>``, the same numbers :func:`sklstm._seq2seq.log_likelihoods` gives
for the pair. An output is cut at ``max_new_tokens`` tokens; a cut output
is scored as if ``<eos>`` followed it and flagged.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _network as net
from ._kernels._fpenv import flush_denormals
from ._seq2seq import attend, encode, head_log_probs
from ._threads import compute_threads, pool

__all__ = ["Decoded", "greedy", "beam_search", "scheduled_inputs", "generate"]


class Decoded(NamedTuple):
    """Outputs of a decoding run, one per source.

    ``tokens`` a list of int64 arrays (without ``<eos>``), ``scores`` their
    log-likelihoods with the ``<eos>``, ``cut`` whether the output reached
    ``max_new_tokens`` without ending.
    """

    tokens: list
    scores: np.ndarray
    cut: np.ndarray


class _Stepper:
    """One decoder step for ``R`` rows: embedding, recurrence from the carried states, attention, head."""

    def __init__(self, spec, v, encoded, rows=None):
        self.spec, self.v = spec, v
        self.vd = spec.part(v, "decoder.")
        take = (lambda a: a) if rows is None else (lambda a: None if a is None else a[rows])
        self.states = [[(take(h), take(c)) for h, c in layer] for layer in encoded.states]
        self.memory, self.keys, self.mask = take(encoded.memory), take(encoded.keys), take(encoded.mask)
        self.keys_t, self.src_lens = take(encoded.keys_t), take(encoded.src_lens)
        self.head_t = net.transposed(v["head.weight"])  # transposed once, not at every step
        # tokens a decoder never writes
        self.banned = [0, spec.bos]

    def __call__(self, tokens):
        """Advance every row by reading ``tokens`` (R,); the next token's log-probabilities (R, V)."""
        x = np.ascontiguousarray(self.vd["embedding.weight"][tokens])
        self.states, top = net.step(self.spec.decoder, self.vd, self.states, x)
        feat = top
        if self.spec.attention:
            out, _ = attend(self.spec, self.v, np.ascontiguousarray(top[:, None, :]), self.memory, self.keys,
                            self.mask, self.keys_t, self.src_lens)
            feat = out[:, 0]
        lp = head_log_probs(self.spec, self.v, feat, self.head_t)
        lp[:, self.banned] = -np.inf
        return lp

    def reorder(self, rows):
        """Keep the state of row ``rows[i]`` as row ``i`` (beam search's reordering)."""
        self.states = [[(h[rows], None if c is None else c[rows]) for h, c in layer] for layer in self.states]


def greedy(spec, v, encoded, max_new_tokens) -> Decoded:
    """The most likely token at every step, for every source of ``encoded`` at once."""
    n = encoded.src_lens.shape[0]
    step = _Stepper(spec, v, encoded)
    tok = np.full(n, spec.bos, dtype=np.int64)
    written = []  # the tokens of each step (memory grows with the outputs, not with max_new_tokens)
    score = np.zeros(n, dtype=np.float64)
    live = np.ones(n, dtype=bool)
    for t in range(max_new_tokens + 1):
        lp = step(tok)
        if t == max_new_tokens:  # out of budget: scored as if it ended here
            score[live] += lp[live, spec.eos]
            live &= np.argmax(lp, axis=1) != spec.eos  # <eos> comes next: ended on time, not cut
            break
        tok = np.argmax(lp, axis=1).astype(np.int64)
        score[live] += lp[live, tok[live]]
        grow = live & (tok != spec.eos)
        written.append(np.where(grow, tok, -1))
        live = grow
        if not live.any():
            break
    steps = np.array(written, dtype=np.int64).reshape(len(written), n)
    return Decoded([steps[:, i][steps[:, i] >= 0] for i in range(n)], score, live)


def rank_key(scores, n_tokens, length_penalty):
    """Ranking of hypotheses by ``scores / (n_tokens + 1) ** length_penalty`` (higher is better).

    Computed in logarithms, so no penalty overflows: a log-likelihood is at
    most 0, and ``-log(-score) + p * log(n + 1)`` orders as the ratio does.
    """
    with np.errstate(divide="ignore"):
        return -np.log(-np.minimum(scores, 0.0)) + float(length_penalty) * np.log(n_tokens + 1.0)


def _top_k(flat, k):
    """Indices of the ``k`` largest entries of each row, best first, ties by index (reproducible)."""
    return np.argsort(-flat, axis=1, kind="stable")[:, :k]


def beam_search(spec, v, encoded, max_new_tokens, num_beams, length_penalty=1.0) -> Decoded:
    """Beam search with ``num_beams`` hypotheses per source, batched over sources and beams.

    A hypothesis ranks by ``score / (n_tokens + 1) ** length_penalty``
    (``+ 1`` for the ``<eos>``; :func:`rank_key`); 0 ranks by
    log-likelihood. The greedy output is a candidate too, so the result
    never ranks below it. The hypotheses are kept as back-pointers, one
    array per step.
    """
    n = encoded.src_lens.shape[0]
    K = int(num_beams)
    rows = np.repeat(np.arange(n), K)
    step = _Stepper(spec, v, encoded, rows)
    V = spec.target_vocab
    scores = np.full((n, K), -np.inf)
    scores[:, 0] = 0.0
    count = np.zeros((n, K), dtype=np.int64)
    done = np.zeros((n, K), dtype=bool)
    tok = np.full(n * K, spec.bos, dtype=np.int64)
    ar = np.arange(n)[:, None]
    origins, tokens_at = [], []  # per step: each beam's parent beam and the token it wrote (-1: none)
    for t in range(max_new_tokens + 1):
        lp = step(tok).reshape(n, K, V)
        if t == max_new_tokens:
            live = ~done
            scores[live] += lp[live][:, spec.eos]
            done |= np.argmax(lp, axis=2) == spec.eos  # <eos> comes next: ended on time, not cut
            break
        cand = scores[:, :, None] + lp
        cand[done] = -np.inf
        cand[done, 0] = scores[done]  # an ended hypothesis stays as it is
        flat = cand.reshape(n, K * V)
        best = _top_k(flat, K)
        origin, tok2 = best // V, best % V
        scores = flat[ar, best]
        was_done = done[ar, origin] | ~np.isfinite(scores)
        count = count[ar, origin]
        ended = ~was_done & (tok2 == spec.eos)
        grow = ~was_done & ~ended
        count = count + grow
        done = was_done | ended
        origins.append(origin)
        tokens_at.append(np.where(grow, tok2, -1))
        step.reorder((ar * K + origin).ravel())
        tok = np.where(grow, tok2, 0).ravel()
        if done.all():
            break
    cut = ~done & np.isfinite(scores)
    rank = rank_key(scores, count, length_penalty)
    pick = np.argmax(rank, axis=1)
    g = greedy(spec, v, encoded, max_new_tokens)
    g_rank = rank_key(g.scores, np.array([t.size for t in g.tokens]), length_penalty)
    tokens, out_scores, out_cut = [], np.empty(n), np.empty(n, dtype=bool)
    for i in range(n):
        k = pick[i]
        if g_rank[i] > rank[i, k]:
            tokens.append(g.tokens[i])
            out_scores[i], out_cut[i] = g.scores[i], g.cut[i]
            continue
        seq, b = [], k
        for s in range(len(origins) - 1, -1, -1):  # follow the back-pointers to the first step
            if tokens_at[s][i, b] >= 0:
                seq.append(tokens_at[s][i, b])
            b = origins[s][i, b]
        tokens.append(np.array(seq[::-1], dtype=np.int64))
        out_scores[i], out_cut[i] = scores[i, k], cut[i, k]
    return Decoded(tokens, out_scores, out_cut)


def generate(spec, flat, X, lengths, max_new_tokens, num_beams=1, length_penalty=1.0, batch_size=256,
             n_threads=None) -> Decoded:
    """Decode every source of a padded batch ``X`` (greedy for ``num_beams=1``), in batches of sources.

    Batches of similar source lengths run on ``n_threads`` threads (None:
    numba's thread count); a source's output does not depend on its batch,
    so the results are the same on any number of threads.
    """
    v = spec.views(flat)
    n = X.shape[0]
    if n_threads is None:
        n_threads = compute_threads()
    per = max(1, int(batch_size) // int(num_beams))
    if n_threads > 1:  # at least one batch per thread, when there are sources enough
        per = max(1, min(per, -(-n // int(n_threads))))
    tokens, scores, cut = [None] * n, np.empty(n), np.empty(n, dtype=bool)
    order = np.argsort(-np.asarray(lengths), kind="stable")  # similar lengths share a batch

    def run(start):
        with flush_denormals():  # per thread: the register is thread-local
            idx = order[start:start + per]
            smax = int(lengths[idx].max())
            encoded = encode(spec, v, X[idx, :smax], lengths[idx])
            if num_beams == 1:
                d = greedy(spec, v, encoded, max_new_tokens)
            else:
                d = beam_search(spec, v, encoded, max_new_tokens, num_beams, length_penalty)
        for j, i in enumerate(idx):
            tokens[i] = d.tokens[j]
        scores[idx], cut[idx] = d.scores, d.cut

    starts = range(0, n, per)
    if n_threads > 1 and len(starts) > 1:
        list(pool(min(int(n_threads), len(starts))).map(run, starts))
    else:
        for start in starts:
            run(start)
    return Decoded(tokens, scores, cut)


def scheduled_inputs(spec, v, encoded, inputs, tlens, ratio, rng):
    """Decoder inputs for scheduled sampling: each true input kept with probability ``ratio``.

    Otherwise the input at step ``t + 1`` is the model's most likely token
    after step ``t`` (the model run on the inputs chosen so far, without
    dropout). ``inputs`` (T, B) are the teacher-forced inputs; the first
    (``<bos>``) is always kept.
    """
    T, B = inputs.shape
    chosen = inputs.copy()
    keep = rng.random((T, B)) < ratio
    step = _Stepper(spec, v, encoded)
    for t in range(T - 1):
        lp = step(chosen[t])
        pred = np.argmax(lp, axis=1)
        swap = ~keep[t + 1] & (t + 1 < tlens)
        chosen[t + 1, swap] = pred[swap]
    return chosen
