"""Prediction latency and throughput of sklstm vs torch on CPU, side by side in one process.

sklstm is timed through ``est.predict`` with all input validation; torch as a
bare ``nn.LSTM`` / ``nn.GRU`` + ``nn.Linear`` call under ``torch.no_grad()``.
Variants: 1 and 2 layers, bidirectional, LSTM and GRU; batches of 1 and
1024; and one streaming step (``est.stream().step(x_t)`` against the torch
module called on one step with its carried state).

    python benchmarks/bench_predict.py --threads 1 2
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from _common import best_time, header, paired_best_times, pin_threads, table


#: (cell, layers, bidirectional)
VARIANTS = [("lstm", 1, False), ("lstm", 2, False), ("lstm", 1, True), ("gru", 1, False)]


def make_sklstm(cell, T, F, H, layers=1, bidirectional=False):
    from sklstm import LSTMRegressor

    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, T, F)).astype(np.float32)
    est = LSTMRegressor(hidden_layer_sizes=(H,) * layers, cell=cell, bidirectional=bidirectional, max_iter=1,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, X[:, -1, 0])
    return est


def make_torch(cell, F, H, layers=1, bidirectional=False):
    import torch

    torch.manual_seed(0)
    kind = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    rnn = kind(F, H, num_layers=layers, batch_first=True, bidirectional=bidirectional).eval()
    head = torch.nn.Linear(H * (2 if bidirectional else 1), 1).eval()

    def call(x):
        with torch.no_grad():
            _, h = rnn(x)
            h_n = h[0] if isinstance(h, tuple) else h
            last = torch.cat([h_n[-2], h_n[-1]], dim=1) if bidirectional else h_n[-1]
            return head(last)

    state = {}

    def step(x_t):  # one timestep from the carried state, as a stream
        with torch.no_grad():
            out, state["h"] = rnn(x_t, state.get("h"))
            return head(out[:, -1])

    return call, step


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1])
    ap.add_argument("--cells", nargs="+", default=["lstm", "gru"])
    ap.add_argument("--min-time", type=float, default=1.0)
    args = ap.parse_args()
    header("prediction, float32, est.predict (validation included) vs torch no_grad module call")
    try:
        import torch

        have_torch = True
    except ImportError:
        have_torch = False
    T, F, H = 50, 8, 32
    rows = []
    for threads in args.threads:
        pin_threads(threads)
        for cell, layers, bi in VARIANTS:
            if cell not in args.cells:
                continue
            est = make_sklstm(cell, T, F, H, layers, bi)
            name = f"{cell}{' x2' if layers == 2 else ''}{' bi' if bi else ''}"
            call, step = make_torch(cell, F, H, layers, bi) if have_torch else (None, None)
            cases = [(n, np.random.default_rng(1).standard_normal((n, T, F)).astype(np.float32))
                     for n in ((1, 1024) if (layers, bi) == (1, False) else (1,))]
            if not bi:
                cases.append(("step", np.random.default_rng(2).standard_normal(F).astype(np.float32)))
            for n, X in cases:
                if n == "step":
                    stream = est.stream()
                    ours = (lambda s=stream, x=X: s.step(x))
                    theirs = (lambda x=torch.from_numpy(X.reshape(1, 1, F)): step(x)) if have_torch else None
                else:
                    ours = (lambda x=X: est.predict(x))
                    theirs = (lambda x=torch.from_numpy(X): call(x)) if have_torch else None
                if have_torch:  # timed in alternation: the ratio survives a drifting machine
                    t_s, t_t = paired_best_times([ours, theirs], 2 * args.min_time)
                else:
                    t_s = best_time(ours, args.min_time)
                row = {"model": name, "threads": threads, "batch": n, "(T,F,H)": f"({T},{F},{H})",
                       "sklstm us/call": f"{t_s * 1e6:,.1f}", "torch us/call": "-", "ratio": "-"}
                if have_torch:
                    row["torch us/call"] = f"{t_t * 1e6:,.1f}"
                    row["ratio"] = f"{t_t / t_s:.2f}x"
                rows.append(row)
                print(row, flush=True)
    table(rows, ["model", "threads", "batch", "(T,F,H)", "sklstm us/call", "torch us/call", "ratio"])


if __name__ == "__main__":
    main()
