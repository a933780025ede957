"""``python -m sklstm``: train and score a model on an embedded default task.

Commands
--------
``python -m sklstm demo [--cell CELL] [--epochs N] [--seed S]``
    Trains an LSTM classifier on a generated variable-length sequence task
    (is the sum of the first feature, over a sequence of 5 to 30 steps,
    positive?), prints the test accuracy next to a majority baseline.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np


def _demo(args) -> int:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split

    from . import LSTMClassifier

    rng = np.random.default_rng(args.seed)
    n = 600
    X = [rng.normal(size=(int(rng.integers(5, 31)), 3)).astype(np.float32) for _ in range(n)]
    y = np.array([int(s[:, 0].sum() > 0) for s in X])
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=args.seed, stratify=y)
    clf = LSTMClassifier(hidden_layer_sizes=(32,), cell=args.cell, max_iter=args.epochs,
                         learning_rate_init=0.01, batch_size=32, random_state=args.seed)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed epoch budget is the point here
        clf.fit(X_tr, y_tr)
    elapsed = time.perf_counter() - t0
    baseline = max(np.mean(y_te), 1 - np.mean(y_te))
    print("task: sign of the sum of a noisy variable-length sequence (lengths 5-30, 3 features)")
    print(f"cell={args.cell}  train={len(X_tr)}  test={len(X_te)}  epochs={clf.n_iter_}  fit {elapsed:.1f}s")
    print(f"test accuracy: {clf.score(X_te, y_te):.3f}   (majority baseline {baseline:.3f})")
    return 0


def main(argv=None) -> int:
    """Entry point of ``python -m sklstm``.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (defaults to ``sys.argv[1:]``).

    Returns
    -------
    status : int
        Process exit status.
    """
    parser = argparse.ArgumentParser(prog="python -m sklstm", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="train and score on the embedded default task")
    demo.add_argument("--cell", default="lstm", choices=["lstm", "lstm1997", "gru", "rnn"])
    demo.add_argument("--epochs", type=int, default=30)
    demo.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command in (None, "demo"):
        if args.command is None:
            args = demo.parse_args([])
        return _demo(args)
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover
    return 2


if __name__ == "__main__":
    sys.exit(main())
