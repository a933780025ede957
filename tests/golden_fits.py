"""Golden fits: weights and predictions after a few epochs, recorded before a refactor.

``python tests/golden_fits.py record`` writes ``tests/fixtures/golden_fits.npz``
(with the CPU it was recorded on); ``tests/test_golden_fits.py`` refits every
configuration and compares bit for bit on that CPU (closely elsewhere: another
instruction set rounds differently). Re-record only when a change of the
arithmetic is intended, and say so in the commit.
"""

import os
import sys

import numpy as np

from conftest import CELLS, SOLVERS  # noqa: E402  (every cell and solver sklstm has)
PATH = os.path.join(os.path.dirname(__file__), "fixtures", "golden_fits.npz")


def configs():
    """name -> (estimator class name, parameters, data kind)."""
    out = {}
    for cell in CELLS:
        for solver in SOLVERS:
            out[f"reg-{cell}-{solver}"] = ("LSTMRegressor", dict(cell=cell, solver=solver), "reg")
    base = dict(cell="lstm", solver="adam")
    out["clf-early"] = ("LSTMClassifier", dict(base, early_stopping=True, n_iter_no_change=2), "clf")
    out["clf-class-weight"] = ("LSTMClassifier", dict(base, class_weight="balanced"), "clf-imbalanced")
    out["clf-multiclass"] = ("LSTMClassifier", dict(base, cell="gru"), "clf3")
    out["reg-bidirectional"] = ("LSTMRegressor", dict(base, bidirectional=True), "reg")
    out["reg-stacked-dropout"] = ("LSTMRegressor", dict(base, hidden_layer_sizes=(5, 4), dropout=0.2), "reg")
    out["reg-bptt"] = ("LSTMRegressor", dict(base, bptt_steps=3), "reg")
    out["reg-sequences"] = ("LSTMRegressor", dict(base, cell="gru", return_sequences=True), "seq")
    out["reg-sgd-adaptive"] = ("LSTMRegressor", dict(cell="rnn", solver="sgd", learning_rate="adaptive",
                                                     tol=10.0, n_iter_no_change=1), "reg")
    out["reg-float64"] = ("LSTMRegressor", dict(base, dtype="float64", alpha=1e-2, clip_value=0.5), "reg")
    # 96 sequences in batches of 64: a batch that training cuts into two parts (_objectives.batch_parts)
    out["reg-two-parts"] = ("LSTMRegressor", dict(base, batch_size=64, dropout=0.1,
                                                  hidden_layer_sizes=(4, 3)), "reg96")
    return out


def data(kind):
    """Ragged float data: 48 sequences (96 for ``reg96``)."""
    rng = np.random.default_rng(7)
    X = [rng.normal(size=(int(rng.integers(3, 9)), 2)) for _ in range(96 if kind == "reg96" else 48)]
    s = np.array([x[:, 0].sum() for x in X])
    if kind in ("reg", "reg96"):
        return X, s
    if kind == "clf":
        return X, (s > 0).astype(int)
    if kind == "clf-imbalanced":
        return X, (s > 1.0).astype(int)
    if kind == "clf3":
        return X, np.digitize(s, [-0.7, 0.7])
    if kind == "seq":
        return X, [np.cumsum(x[:, 0]) for x in X]
    raise ValueError(kind)


def fit_one(name):
    """Fit configuration ``name``; returns (flat weights, predictions on the training X)."""
    import warnings

    import sklstm

    cls, params, kind = configs()[name]
    X, y = data(kind)
    params = dict(params)
    est = getattr(sklstm, cls)(hidden_layer_sizes=params.pop("hidden_layer_sizes", (4,)), max_iter=4,
                               batch_size=params.pop("batch_size", 48), learning_rate_init=0.01,
                               random_state=3, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    if kind == "seq":
        pred = np.concatenate(est.predict(X))
    elif cls == "LSTMClassifier":
        pred = est.predict_proba(X)
    else:
        pred = est.predict(X)
    return est.coefs_flat_.copy(), np.asarray(pred, dtype=np.float64)


def cpu_id():
    """The CPU name and features numba compiles for (bits are compared on the same one only)."""
    import llvmlite.binding as llvm

    return f"{llvm.get_host_cpu_name()}|{llvm.get_host_cpu_features().flatten()}"


def record():
    import numba

    numba.set_num_threads(1)
    arrays = {"cpu": np.array(cpu_id())}
    for name in configs():
        w, p = fit_one(name)
        arrays[name + "/weights"] = w
        arrays[name + "/predictions"] = p
    np.savez_compressed(PATH, **arrays)
    print(f"wrote {len(configs())} fits to {PATH}")


if __name__ == "__main__":
    if sys.argv[1:] != ["record"]:
        sys.exit("usage: python tests/golden_fits.py record")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    record()
