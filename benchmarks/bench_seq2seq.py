"""Encoder-decoder speed of sklstm vs torch on CPU, side by side in one process: training and decoding.

The model: ``LSTMSeq2Seq``'s network at a character-level size (source and
target vocabularies of 40, embedding 32, one LSTM layer of 128 units,
unidirectional), with and without Luong attention, float32, on random
pairs of 20-30 source and 8-12 target tokens (plus ``<eos>``).

- Training: one optimizer step per mini-batch of 64 pairs (bucketed by
  source length), teacher forcing, Adam, global-norm clipping at 5.
  sklstm is timed as ``Seq2SeqObjective.loss_and_grad`` (with the
  estimator's workspace and thread count) + ``AdamOptimizer.update``;
  torch as the same module (``pack_padded_sequence`` for the encoder,
  ``cross_entropy(ignore_index=0)``, ``clip_grad_norm_``, ``torch.optim.Adam``).
  Throughput in target tokens (``<eos>`` included) per second. The
  "torch unpacked" column runs torch's encoder on the padded block without
  packing: faster, but wrong for the shorter sources of a batch (their
  final states are taken after the padding); it bounds what torch could
  gain there.
- Decoding: greedy and beam search (4 beams) for 64 sources and for 1,
  outputs capped at 12 tokens: ``LSTMSeq2Seq.predict`` (the public API,
  input checks included) against a batched torch greedy / beam loop of the
  same weights (copied with ``load_state_dict(strict=True)``) under
  ``no_grad``. The weights are the initial ones (a fit at a learning rate
  of 1e-6): nearly every output runs to the cap, the same steps on both
  sides (the benchmark checks that the outputs agree). sklstm's beam search also runs
  a greedy pass and keeps the greedy output when it ranks higher (its
  documented guarantee); the torch loop does not, so it does less work
  and may return a lower-ranked output.

The two libraries are timed in alternation (best of several runs each), on
the thread count of ``--threads`` (every BLAS, numba and torch pinned).
Ratios are torch time / sklstm time: above 1, sklstm is faster.

    python benchmarks/bench_seq2seq.py --threads 1 2
    python benchmarks/bench_seq2seq.py --quick
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from _common import header, paired_best_times, pin_threads, table

VOCAB, E, H, B = 40, 32, 128, 64
SOURCE_LENGTHS, TARGET_LENGTHS = (20, 30), (8, 12)
MAX_NEW_TOKENS, BEAMS = 12, 4


def make_pairs(n, seed=0):
    """``n`` random pairs of token ids: sources in [1, VOCAB), targets in [1, VOCAB - 2)."""
    rng = np.random.default_rng(seed)
    xs = [rng.integers(1, VOCAB, rng.integers(SOURCE_LENGTHS[0], SOURCE_LENGTHS[1] + 1))
          for _ in range(n)]
    ys = [rng.integers(1, VOCAB - 2, rng.integers(TARGET_LENGTHS[0], TARGET_LENGTHS[1] + 1))
          for _ in range(n)]
    ys[0][0] = VOCAB - 3  # the largest id: the model's target vocabulary is VOCAB with <bos> and <eos>
    return xs, ys


def fitted_model(xs, ys, attention):
    """An ``LSTMSeq2Seq`` fitted on the pairs for its spec, marks and weights (barely moved from the init).

    A learning rate of 1e-6 keeps the initial weights, under which ``<eos>``
    is no likelier than any token: nearly every output runs to
    ``MAX_NEW_TOKENS``, as long as a real target (a trained model on random
    pairs would learn to stop after a few tokens).
    """
    from sklstm import LSTMSeq2Seq

    est = LSTMSeq2Seq(hidden_layer_sizes=(H,), embedding_dim=E, attention=attention, batch_size=B,
                      max_iter=1, learning_rate_init=1e-6, max_new_tokens=MAX_NEW_TOKENS, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(xs, ys)


def batches(est, xs, ys):
    """Mini-batches of ``B`` pairs bucketed by source length, as sklstm ``Batch`` objects."""
    from sklstm._objectives import Batch
    from sklstm._pairs import pad_block

    order = np.argsort([len(x) for x in xs], kind="stable")
    out = []
    for s in range(0, len(order) - B + 1, B):
        idx = order[s:s + B]
        block, lengths = pad_block([xs[i] for i in idx])
        y = pad_block([np.append(ys[i], est._spec.eos) for i in idx])[0]
        out.append(Batch(block[:, :, None], lengths, y))
    return out


# ---------------------------------------------------------------------------- sklstm
def sklstm_epoch(est, data):
    """A function running one optimizer step per batch of ``data`` (a copy of the estimator's weights)."""
    from sklstm._network import Workspace
    from sklstm._objectives import TrainOptions
    from sklstm._optimizers import AdamOptimizer
    from sklstm._seq2seq import Seq2SeqObjective
    from sklstm._threads import compute_threads

    flat = est.coefs_flat_.copy()
    grad = np.empty_like(flat)
    objective = Seq2SeqObjective(est._spec, TrainOptions(clip_norm=5.0))
    opt = AdamOptimizer(flat.size, flat.dtype, 3e-3)
    ws = Workspace()

    def run():
        for batch in data:
            objective.loss_and_grad(flat, grad, batch, None, ws, compute_threads())
            opt.update(flat, grad)

    return run


def sklstm_decode(est, sources, num_beams):
    """A function decoding ``sources`` with ``LSTMSeq2Seq.predict``."""
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # outputs cut at max_new_tokens
            return est.predict(sources, num_beams=num_beams)

    return run


# ---------------------------------------------------------------------------- torch
def torch_model(est):
    """The torch module of ``est``'s network (names of ``state_dict``), with its weights."""
    import torch

    nn, spec = torch.nn, est._spec
    mod = nn.Module()
    mod.encoder = nn.Module()
    mod.encoder.embedding = nn.Embedding(spec.source_vocab, E, padding_idx=0)
    mod.encoder.rnn = nn.LSTM(E, H, batch_first=True)
    mod.decoder = nn.Module()
    mod.decoder.embedding = nn.Embedding(spec.target_vocab, E, padding_idx=0)
    mod.decoder.rnn = nn.LSTM(E, H, batch_first=True)
    if spec.attention:
        mod.attention = nn.Module()
        mod.attention.combine = nn.Linear(2 * H, H)
    mod.head = nn.Linear(H, spec.target_vocab)
    mod.load_state_dict({k: torch.from_numpy(v) for k, v in est.state_dict().items()}, strict=True)
    return mod


def _encode(torch, mod, src, lens, packed=True):
    """Encoder outputs (None without attention) and final ``(h, c)``, through ``pack_padded_sequence``.

    ``packed=False`` runs the padded block as it is: faster, but a shorter
    source's final state is then taken after its padding (wrong; a bound).
    """
    rnn = torch.nn.utils.rnn
    attention = hasattr(mod, "attention")
    if not packed:
        out, state = mod.encoder.rnn(mod.encoder.embedding(src))
        return (out if attention else None), state
    x = rnn.pack_padded_sequence(mod.encoder.embedding(src), lens, batch_first=True, enforce_sorted=False)
    out, state = mod.encoder.rnn(x)
    return (rnn.pad_packed_sequence(out, batch_first=True)[0] if attention else None), state


def _features(torch, mod, q, memory, lens):
    """What the head reads: ``q`` (n, T, H), or Luong dot attention over the valid source steps."""
    if memory is None:
        return q
    scores = torch.bmm(q, memory.transpose(1, 2))
    pad = torch.arange(memory.shape[1])[None, :] >= lens[:, None]
    scores = scores.masked_fill(pad[:, None, :], float("-inf"))
    context = torch.bmm(torch.softmax(scores, dim=2), memory)
    return torch.tanh(mod.attention.combine(torch.cat([context, q], dim=2)))


def _torch_batch(torch, est, batch):
    src = torch.from_numpy(np.ascontiguousarray(batch.X[:, :, 0]))
    lens = torch.from_numpy(batch.lengths)
    targets = torch.from_numpy(batch.y)
    bos = torch.full((targets.shape[0], 1), est._spec.bos, dtype=torch.int64)
    inputs = torch.cat([bos, targets[:, :-1]], 1)
    inputs[targets == 0] = 0
    return src, lens, inputs, targets


def torch_epoch(est, data, packed=True):
    """A function running one torch Adam step per batch of ``data`` (``packed``: as :func:`_encode`)."""
    import torch

    mod = torch_model(est)
    V = est._spec.target_vocab
    params = list(mod.parameters())
    opt = torch.optim.Adam(params, lr=3e-3)
    tb = [_torch_batch(torch, est, b) for b in data]

    def run():
        for src, lens, inputs, targets in tb:
            opt.zero_grad()
            memory, state = _encode(torch, mod, src, lens, packed)
            q, _ = mod.decoder.rnn(mod.decoder.embedding(inputs), state)
            logits = mod.head(_features(torch, mod, q, memory, lens))
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1),
                                                     ignore_index=0)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()

    return run


class _TorchStepper:
    """One decoder step of the torch module for every row (states carried), log-probabilities out."""

    def __init__(self, torch, mod, spec, src, lens, repeat=1):
        self.torch, self.mod, self.spec = torch, mod, spec
        memory, state = _encode(torch, mod, src, lens)
        self.state = tuple(s.repeat_interleave(repeat, dim=1) for s in state)
        self.memory = None if memory is None else memory.repeat_interleave(repeat, dim=0)
        self.lens = lens.repeat_interleave(repeat)

    def __call__(self, tok):
        """Advance every row by reading ``tok`` (R,); the next token's log-probabilities (R, V)."""
        torch, mod = self.torch, self.mod
        q, self.state = mod.decoder.rnn(mod.decoder.embedding(tok)[:, None], self.state)
        lp = torch.log_softmax(mod.head(_features(torch, mod, q, self.memory, self.lens))[:, 0], dim=1)
        lp[:, [0, self.spec.bos]] = float("-inf")  # never written
        return lp

    def reorder(self, rows):
        """Keep the state of row ``rows[i]`` as row ``i`` (beam search's reordering)."""
        self.state = tuple(s[:, rows] for s in self.state)


def torch_greedy(torch, mod, spec, src, lens, budget):
    """Greedy outputs (list of int64 arrays, without ``<eos>``) and their log-likelihoods."""
    n = src.shape[0]
    step = _TorchStepper(torch, mod, spec, src, lens)
    tok = torch.full((n,), spec.bos, dtype=torch.int64)
    out = torch.zeros((n, budget), dtype=torch.int64)
    count = torch.zeros(n, dtype=torch.int64)
    score = torch.zeros(n, dtype=torch.float64)
    live = torch.ones(n, dtype=torch.bool)
    for t in range(budget + 1):
        lp = step(tok)
        if t == budget:
            score += torch.where(live, lp[:, spec.eos].double(), 0.0)
            break
        tok = lp.argmax(dim=1)
        score += torch.where(live, lp.gather(1, tok[:, None])[:, 0].double(), 0.0)
        grow = live & (tok != spec.eos)
        out[grow, t] = tok[grow]
        count += grow
        live = grow
        if not bool(live.any()):
            break
    return [out[i, :count[i]].numpy() for i in range(n)], score


def torch_beam(torch, mod, spec, src, lens, budget, K):
    """Beam search with ``K`` beams per source, batched; ranks by score / (n_tokens + 1)."""
    n, V = src.shape[0], spec.target_vocab
    step = _TorchStepper(torch, mod, spec, src, lens, K)
    scores = torch.full((n, K), float("-inf"))
    scores[:, 0] = 0.0
    hist = torch.zeros((n, K, budget), dtype=torch.int64)
    count = torch.zeros((n, K), dtype=torch.int64)
    done = torch.zeros((n, K), dtype=torch.bool)
    tok = torch.full((n * K,), spec.bos, dtype=torch.int64)
    ar = torch.arange(n)[:, None]
    for t in range(budget + 1):
        lp = step(tok).reshape(n, K, V)
        if t == budget:
            scores = torch.where(done, scores, scores + lp[:, :, spec.eos])
            break
        cand = (scores[:, :, None] + lp).masked_fill(done[:, :, None], float("-inf"))
        cand[:, :, 0] = torch.where(done, scores, cand[:, :, 0])  # an ended hypothesis stays as it is
        scores, best = cand.reshape(n, K * V).topk(K, dim=1)
        origin, tok2 = best // V, best % V
        was_done = done[ar, origin] | ~torch.isfinite(scores)
        hist, count = hist[ar, origin], count[ar, origin]
        grow = ~was_done & (tok2 != spec.eos)
        gi = grow.nonzero(as_tuple=True)
        hist[gi[0], gi[1], count[gi]] = tok2[gi]
        count = count + grow
        done = was_done | (tok2 == spec.eos)
        step.reorder((ar * K + origin).reshape(-1))
        tok = torch.where(grow, tok2, 0).reshape(-1)
        if bool(done.all()):
            break
    pick = (scores / (count + 1.0)).argmax(dim=1)
    return [hist[i, pick[i], :count[i, pick[i]]].numpy() for i in range(n)]


def torch_decode(est, mod, sources, num_beams):
    """A function decoding ``sources`` with the torch loops under ``no_grad``."""
    import torch

    from sklstm._pairs import pad_block

    block, lengths = pad_block(sources)
    src, lens = torch.from_numpy(block), torch.from_numpy(lengths)

    def run():
        with torch.no_grad():
            if num_beams == 1:
                return torch_greedy(torch, mod, est._spec, src, lens, MAX_NEW_TOKENS)[0]
            return torch_beam(torch, mod, est._spec, src, lens, MAX_NEW_TOKENS, num_beams)

    return run


def agreement(a, b):
    """How many outputs of two decoders are the same."""
    return sum(np.array_equal(x, y) for x, y in zip(a, b))


def main():
    """Time training and decoding at each ``--threads`` count; print the two tables."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1])
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds per contender and row (about)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer batches and shorter timings")
    args = ap.parse_args()
    if args.quick:
        args.min_time, args.repeats = min(args.min_time, 0.4), min(args.repeats, 3)
    n_batches = 4 if args.quick else 8
    header("encoder-decoder: training throughput (Adam step per batch) and decoding latency, float32")
    import torch

    torch.manual_seed(0)
    xs, ys = make_pairs(n_batches * B)
    train_rows, decode_rows = [], []
    for attention in (False, True):
        est = fitted_model(xs, ys, attention)
        data = batches(est, xs, ys)
        tokens = int(sum(np.count_nonzero(b.y) for b in data))
        mod = torch_model(est)
        one = [xs[int(np.argmin([abs(len(x) - 25) for x in xs]))]]
        for threads in args.threads:
            pin_threads(threads)
            t_s, t_t, t_u = paired_best_times(
                [sklstm_epoch(est, data), torch_epoch(est, data), torch_epoch(est, data, packed=False)],
                args.min_time, args.repeats)
            row = {"threads": threads, "attention": attention, "batches x pairs": f"{len(data)} x {B}",
                   "target tokens": tokens, "sklstm tok/s": f"{tokens / t_s:,.0f}",
                   "torch tok/s": f"{tokens / t_t:,.0f}", "ratio": f"{t_t / t_s:.2f}x",
                   "torch unpacked tok/s": f"{tokens / t_u:,.0f}", "ratio unpacked": f"{t_u / t_s:.2f}x"}
            train_rows.append(row)
            print(row, flush=True)
            for num_beams in (1, BEAMS):
                for sources in (xs[:B], one):
                    fs = sklstm_decode(est, sources, num_beams)
                    ft = torch_decode(est, mod, sources, num_beams)
                    outs = fs()
                    same = agreement(outs, ft())
                    t_s, t_t = paired_best_times([fs, ft], args.min_time, args.repeats)
                    row = {"threads": threads, "attention": attention,
                           "decoding": "greedy" if num_beams == 1 else f"beam {num_beams}",
                           "sources": len(sources), "sklstm ms": f"{1e3 * t_s:.2f}",
                           "torch ms": f"{1e3 * t_t:.2f}", "ratio": f"{t_t / t_s:.2f}x",
                           "mean output tokens": f"{np.mean([len(o) for o in outs]):.1f}",
                           "same outputs": f"{same}/{len(sources)}"}
                    decode_rows.append(row)
                    print(row, flush=True)
    print()
    table(train_rows, list(train_rows[0]))
    print()
    table(decode_rows, list(decode_rows[0]))


if __name__ == "__main__":
    main()
