"""Defects found while trying sklstm as a new user would (issue 16, point 8)."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.pipeline import make_pipeline

from sklstm import LSTMRegressor
from sklstm.preprocessing import SequenceScaler


def test_public_submodules_load_on_attribute_access():
    code = ("import sklstm\n"
            "print(sklstm.preprocessing.SequenceScaler.__name__, sklstm.forecasting.forecast.__name__,\n"
            "      sorted(set(sklstm._SUBMODULES) - set(dir(sklstm))))\n"
            "try:\n    sklstm.no_such_thing\nexcept AttributeError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "SequenceScaler forecast []"
    assert lines[1] == "module 'sklstm' has no attribute 'no_such_thing'"


def test_every_public_module_is_listed_as_a_lazy_submodule():
    import pkgutil

    import sklstm

    public = {m.name for m in pkgutil.iter_modules(sklstm.__path__) if not m.name.startswith("_")}
    assert public == set(sklstm._SUBMODULES)


@pytest.mark.parametrize("form", ["3d", "ragged"])
def test_sequence_scaler_passes_sequences_through_under_global_pandas_output(form):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 5, 2))
    Xin = X if form == "3d" else [x[: 2 + i % 3] for i, x in enumerate(X)]
    plain = SequenceScaler().fit_transform(Xin)
    with sklearn.config_context(transform_output="pandas"):
        out = SequenceScaler().fit_transform(Xin)
        assert isinstance(out, np.ndarray if form == "3d" else list)
        tab = SequenceScaler().fit_transform(X[:, 0])  # 2D tabular output is still wrapped
        assert isinstance(tab, pd.DataFrame) and list(tab.columns) == ["x0", "x1"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipe = make_pipeline(SequenceScaler(), LSTMRegressor(hidden_layer_sizes=(3,), max_iter=2,
                                                                 random_state=0))
            pred = pipe.fit(Xin, X[:, 0, 0]).predict(Xin)
    assert pred.shape == (12,)
    if form == "3d":
        np.testing.assert_array_equal(out, plain)
    else:
        np.testing.assert_array_equal(np.concatenate(out), np.concatenate(plain))
    scaler = SequenceScaler().set_output(transform="pandas").fit(X[:, 0])
    assert isinstance(scaler.transform(X[:, 0]), pd.DataFrame)
    assert isinstance(scaler.fit(X).transform(X), np.ndarray)


def test_streaming_from_a_memory_mapped_model_copies_the_weights_once(tmp_path, monkeypatch):
    import joblib

    from sklstm import _streaming

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 6, 2)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = LSTMRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, X[:, -1, 0])
    joblib.dump(est, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib", mmap_mode="r")
    assert not loaded.coefs_flat_.flags.writeable
    copies = []
    real = _streaming.writable
    monkeypatch.setattr(_streaming, "writable", lambda a: copies.append(a.size) or real(a))
    s, want = loaded.stream(), est.stream()
    for x_t in X[0]:
        np.testing.assert_array_equal(s.step(x_t), want.step(x_t))
    assert len(copies) == 2  # one per stream (the loaded one and the in-memory one), not one per step
