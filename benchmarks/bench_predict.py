"""Prediction latency and throughput of sklstm vs torch on CPU, side by side in one process.

sklstm is timed through ``est.predict`` with all input validation; torch as a
bare ``nn.LSTM`` + ``nn.Linear`` call under ``torch.no_grad()``.

    python benchmarks/bench_predict.py --threads 1 2
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from _common import best_time, header, paired_best_times, pin_threads, table


def make_sklstm(cell, T, F, H):
    from sklstm import LSTMRegressor

    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, T, F)).astype(np.float32)
    est = LSTMRegressor(hidden_layer_sizes=(H,), cell=cell, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, X[:, -1, 0])
    return est


def make_torch(cell, F, H):
    import torch

    torch.manual_seed(0)
    rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](F, H, batch_first=True).eval()
    head = torch.nn.Linear(H, 1).eval()

    def call(x):
        with torch.no_grad():
            _, h = rnn(x)
            h_n = h[0] if isinstance(h, tuple) else h
            return head(h_n[-1])

    return call


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
        for cell in args.cells:
            est = make_sklstm(cell, T, F, H)
            for n in (1, 1024):
                X = np.random.default_rng(1).standard_normal((n, T, F)).astype(np.float32)
                if have_torch:  # timed in alternation: the ratio survives a drifting machine
                    call = make_torch(cell, F, H)
                    xt = torch.from_numpy(X)
                    t_s, t_t = paired_best_times([lambda: est.predict(X), lambda: call(xt)],
                                                 2 * args.min_time)
                else:
                    t_s = best_time(lambda: est.predict(X), args.min_time)
                row = {"cell": cell, "threads": threads, "batch": n, "(T,F,H)": f"({T},{F},{H})",
                       "sklstm us/call": f"{t_s * 1e6:,.1f}", "torch us/call": "-", "ratio": "-"}
                if have_torch:
                    row["torch us/call"] = f"{t_t * 1e6:,.1f}"
                    row["ratio"] = f"{t_t / t_s:.2f}x"
                rows.append(row)
                print(row, flush=True)
    table(rows, ["cell", "threads", "batch", "(T,F,H)", "sklstm us/call", "torch us/call", "ratio"])


if __name__ == "__main__":
    main()
