"""Language-model training throughput (tokens/s) of sklstm vs torch on CPU, side by side in one process.

Embedding + LSTM + softmax over a vocabulary of 100 characters and of
10,000 words (issue 20 point 4), trained on Python source code read from
the running installation (``sklstm.datasets.load_stdlib_source``): the
vocabulary is the most frequent tokens of 2,000,000 characters, the epoch
the first ``--chars`` characters. ``batch_size`` parallel streams,
truncated BPTT over ``bptt_steps`` tokens with the state carried from chunk
to chunk, Adam, global-norm clipping at 5, float32. sklstm is timed as
``LSTMLanguageModel(max_iter=1).fit`` (vectorizing and the loop included);
torch as ``nn.Embedding`` + ``nn.LSTM`` + ``nn.Linear`` + ``cross_entropy``
over the same chunks with detached states. The two run in alternation
(best of ``--repeats`` epochs each, after a warm-up).

``--head`` also times the output layer alone on one chunk's rows (logits,
softmax cross-entropy, weight and input gradients) as GFLOP/s of its three
products, against the float32 product peak of numpy's BLAS at the same
thread count.

    python benchmarks/bench_lm.py --threads 1 2 --head
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from _common import header, pin_threads, table

#: (analyzer, vocabulary, embedding_dim, hidden, streams, bptt_steps)
CONFIGS = [("char", 100, 32, 128, 32, 64), ("char", 100, 256, 256, 32, 64),
           ("word", 10_000, 128, 256, 32, 32)]
#: characters the vocabularies are taken from
VOCAB_CHARS = 2_000_000
_VOCABS = {}


def vocabulary(analyzer, V):
    """The ``V`` tokens (specials included) of the most frequent ``analyzer`` tokens of the source text."""
    if (analyzer, V) not in _VOCABS:
        from sklstm import LSTMLanguageModel
        from sklstm.datasets import load_stdlib_source

        lm = LSTMLanguageModel(analyzer=analyzer, max_features=V - 4)  # + <pad> <unk> <bos> <eos>
        lm._encode([load_stdlib_source(VOCAB_CHARS)], reset=True)
        assert lm.vocab_size_ == V, (analyzer, V, lm.vocab_size_)
        _VOCABS[analyzer, V] = list(lm.tokens_)
    return _VOCABS[analyzer, V]


def _estimator(analyzer, V, E, H, B, k):
    from sklstm import LSTMLanguageModel

    return LSTMLanguageModel(analyzer=analyzer, vocabulary=vocabulary(analyzer, V), embedding_dim=E,
                             hidden_layer_sizes=(H,), batch_size=B, bptt_steps=k, max_iter=1,
                             learning_rate_init=1e-3, clip_norm=5.0, random_state=0)


def sklstm_epoch(text, analyzer, V, E, H, B, k):
    """A function running one epoch, and the number of tokens it trains on."""
    from sklstm._language import stream_batches

    lm = _estimator(analyzer, V, E, H, B, k)
    n_tokens = int(stream_batches(lm._encode([text], reset=True)[0], B, k).lengths.sum())

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lm.fit([text])

    return run, n_tokens


def torch_epoch(text, analyzer, V, E, H, B, k):
    import torch

    from sklstm._language import stream_batches

    lm = _estimator(analyzer, V, E, H, B, k)
    stream = lm._encode([text], reset=True)[0]
    V = lm.vocab_size_
    data = stream_batches(stream, B, k)
    X = torch.from_numpy(data.X[:, :, 0].copy())
    y = torch.from_numpy(data.y.copy())
    torch.manual_seed(0)
    emb, rnn, head = torch.nn.Embedding(V, E, padding_idx=0), torch.nn.LSTM(E, H, batch_first=True), \
        torch.nn.Linear(H, V)
    params = list(emb.parameters()) + list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)

    def run():
        state = None
        for c in range(0, X.shape[0], B):
            xb, yb = X[c:c + B], y[c:c + B]
            L = int(data.lengths[c])
            opt.zero_grad()
            out, state = rnn(emb(xb[:, :L]), state)
            loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, V), yb[:, :L].reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            state = tuple(s.detach() for s in state)

    return run, int(data.lengths.sum())


def alternating_best(fns, repeats):
    """Seconds of each function's best run, the functions run in alternation after a warm-up each."""
    for fn in fns:
        fn()  # warm-up: compilation
    best = [np.inf] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def head_rows(V, H, n, threads, repeats=5):
    """GFLOP/s of sklstm's softmax layer on ``n`` rows, and of numpy's float32 product peak."""
    from sklstm._vocab_head import softmax_head

    rng = np.random.default_rng(0)
    feat = rng.standard_normal((n, H)).astype(np.float32)
    w = (rng.standard_normal((V, H)) * 0.05).astype(np.float32)
    b = np.zeros(V, np.float32)
    y = rng.integers(0, V, n)
    gw, gb = np.empty_like(w), np.empty_like(b)

    def head():
        softmax_head(feat, w, b, y, float(n), gw, gb, n_threads=threads)

    a = rng.standard_normal((1024, 1024)).astype(np.float32)
    (t_head, t_peak) = alternating_best([head, lambda: a @ a], repeats)
    return 3 * 2 * n * V * H / t_head / 1e9, 2 * 1024 ** 3 / t_peak / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--chars", type=int, default=60000, help="characters of the text per epoch")
    ap.add_argument("--head", action="store_true", help="also time the output layer alone")
    args = ap.parse_args()
    from sklstm.datasets import load_stdlib_source

    text = load_stdlib_source(args.chars)
    header("language-model training throughput, one epoch, Adam, float32")
    try:
        import torch  # noqa: F401

        have_torch = True
    except ImportError:
        have_torch = False
    rows = []
    for threads in args.threads:
        pin_threads(threads)
        for cfg in CONFIGS:
            run, n = sklstm_epoch(text, *cfg)
            row = {"threads": threads, "(analyzer,V,E,H,B,k)": cfg, "tokens": n}
            if have_torch:
                trun, tn = torch_epoch(text, *cfg)
                ours, theirs = alternating_best([run, trun], args.repeats)
                row.update({"sklstm tok/s": f"{n / ours:,.0f}", "torch tok/s": f"{tn / theirs:,.0f}",
                            "ratio": f"{(n / ours) / (tn / theirs):.2f}x"})
            else:
                row["sklstm tok/s"] = f"{n / alternating_best([run], args.repeats)[0]:,.0f}"
            if args.head:
                _, V, _, H, B, k = cfg
                ours, peak = head_rows(V, H, B * k, threads)
                row["head GFLOP/s (% of peak)"] = f"{ours:.0f} ({100 * ours / peak:.0f}%)"
            rows.append(row)
            print(row, flush=True)
    table(rows, list(rows[0]))


if __name__ == "__main__":
    main()
