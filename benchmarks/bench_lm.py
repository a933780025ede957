"""Language-model training throughput (tokens/s) of sklstm vs torch on CPU, side by side in one process.

One epoch over Jane Austen's *Lady Susan* (bundled): ``batch_size`` parallel
streams, truncated BPTT over ``bptt_steps`` tokens with the state carried
from chunk to chunk, Adam, global-norm clipping at 5, float32. sklstm is
timed as ``LSTMLanguageModel(max_iter=1).fit`` (vectorizing and the loop
included); torch as ``nn.Embedding`` + ``nn.LSTM`` + ``nn.Linear`` +
``cross_entropy`` over the same chunks with detached states. The word-level
rows have a vocabulary of several thousand words: there the output softmax
product dominates the step.

    python benchmarks/bench_lm.py --threads 1 2
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from _common import header, pin_threads, table

#: (analyzer, embedding_dim, hidden, streams, bptt_steps)
CONFIGS = [("char", 32, 128, 32, 64), ("char", 256, 256, 32, 64), ("word", 128, 256, 32, 32)]


def _estimator(analyzer, E, H, B, k):
    from sklstm import LSTMLanguageModel

    return LSTMLanguageModel(analyzer=analyzer, embedding_dim=E, hidden_layer_sizes=(H,), batch_size=B,
                             bptt_steps=k, max_iter=1, learning_rate_init=1e-3, clip_norm=5.0, random_state=0)


def sklstm_epoch(text, analyzer, E, H, B, k):
    """A function running one epoch, and the number of tokens it trains on."""
    from sklstm._language import stream_batches

    lm = _estimator(analyzer, E, H, B, k)
    n_tokens = int(stream_batches(lm._encode([text], reset=True)[0], B, k).lengths.sum())

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lm.fit([text])

    return run, n_tokens


def torch_epoch(text, analyzer, E, H, B, k):
    import torch

    from sklstm._language import stream_batches

    lm = _estimator(analyzer, E, H, B, k)
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


def best_of(fn, repeats):
    fn()  # warm-up: compilation
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--chars", type=int, default=60000, help="characters of the text per epoch")
    args = ap.parse_args()
    from sklstm.datasets import load_lady_susan

    text = load_lady_susan()[:args.chars]
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
            ours = n / best_of(run, args.repeats)
            row = {"threads": threads, "(analyzer,E,H,B,k)": cfg, "tokens": n, "sklstm tok/s": f"{ours:,.0f}"}
            if have_torch:
                trun, tn = torch_epoch(text, *cfg)
                theirs = tn / best_of(trun, args.repeats)
                row.update({"torch tok/s": f"{theirs:,.0f}", "ratio": f"{ours / theirs:.2f}x"})
            rows.append(row)
            print(row, flush=True)
    table(rows, list(rows[0]))


if __name__ == "__main__":
    main()
