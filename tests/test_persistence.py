"""sklstm.save / sklstm.load: bitwise round trips, atomic writes, hostile files rejected."""

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import sklstm
from sklstm import GRUClassifier, GRURegressor, LSTMClassifier, LSTMRegressor
from sklstm.preprocessing import SequenceScaler

from conftest import TINY

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _fitted(rng):
    X = rng.normal(size=(40, 5, 2))
    y_lab = np.array(["neg", "pos"])[(X[:, :, 0].sum(1) > 0).astype(int)]
    y3 = np.digitize(X[:, :, 1].sum(1), [-1, 1])
    Y = np.stack([X[:, :, 0].sum(1) > 0, X[:, :, 1].sum(1) > 0], 1).astype(int)
    small = TINY
    return X, [
        (LSTMClassifier(**small).fit(X, y_lab), y_lab),
        (GRUClassifier(solver="sgd", **small).fit(X, y3), y3),
        (LSTMClassifier(cell="lstm1997", early_stopping=True, solver="rmsprop", **small).fit(X, Y), Y),
        (LSTMRegressor(bidirectional=True, dtype="float64", **small).fit(X, X[:, -1]), X[:, -1]),
        (GRURegressor(cell="rnn", hidden_layer_sizes=(3, 2), max_iter=2).fit(list(X), X[:, 0, 0]),
         X[:, 0, 0]),
    ]


def test_round_trip_is_bitwise_and_training_continues(tmp_path, rng):
    X, models = _fitted(rng)
    for i, (est, y) in enumerate(models):
        p = tmp_path / f"m{i}.sklstm"
        sklstm.save(est, p)
        back = sklstm.load(p)
        assert type(back) is type(est) and back.get_params() == est.get_params()
        out = "predict_proba" if hasattr(est, "predict_proba") else "predict"
        np.testing.assert_array_equal(getattr(back, out)(X), getattr(est, out)(X))
        np.testing.assert_array_equal(back.coefs_flat_, est.coefs_flat_)
        est.partial_fit(X, y)
        back.partial_fit(X, y)
        np.testing.assert_array_equal(back.coefs_flat_, est.coefs_flat_)


def test_pandas_string_labels_and_feature_names(tmp_path, rng):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(rng.normal(size=(30, 3)), columns=["a", "b", "c"])
    y = pd.Series(np.where(df["a"] > 0, "up", "down"), dtype=object)
    clf = LSTMClassifier(hidden_layer_sizes=(3,), max_iter=2).fit(df, y)
    sklstm.save(clf, tmp_path / "p.sklstm")
    back = sklstm.load(tmp_path / "p.sklstm")
    assert list(back.feature_names_in_) == ["a", "b", "c"]
    np.testing.assert_array_equal(back.predict(df), clf.predict(df))


def test_scaler_and_unfitted_round_trip(tmp_path, rng):
    X = [rng.normal(size=(int(rng.integers(1, 6)), 2)) for _ in range(10)]
    sc = SequenceScaler().fit(X)
    sklstm.save(sc, tmp_path / "s.sklstm")
    back = sklstm.load(tmp_path / "s.sklstm")
    for a, b in zip(back.transform(X), sc.transform(X)):
        np.testing.assert_array_equal(a, b)
    sklstm.save(LSTMRegressor(hidden_layer_sizes=(7, 3)), tmp_path / "u.sklstm")
    u = sklstm.load(tmp_path / "u.sklstm")
    assert u.hidden_layer_sizes == (7, 3) and not hasattr(u, "coefs_flat_")


def test_out_of_scope_objects_are_refused(tmp_path):
    from sklearn.pipeline import make_pipeline

    with pytest.raises(TypeError, match="joblib or skops"):
        sklstm.save(make_pipeline(SequenceScaler()), tmp_path / "x")


def test_save_is_atomic(tmp_path, rng, monkeypatch):
    X, models = _fitted(rng)
    est = models[0][0]
    p = tmp_path / "model.sklstm"
    sklstm.save(est, p)
    before = p.read_bytes()

    def crash(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        sklstm.save(models[1][0], p)
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["model.sklstm"]  # no temporary left behind


def _rewrite(src, dst, meta_fn=None, arrays_fn=None):
    with np.load(src, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(arrays.pop("__meta__").tobytes())
    if meta_fn:
        meta_fn(meta)
    if arrays_fn:
        arrays_fn(arrays)
    blob = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(dst, "wb") as f:
        np.savez(f, __meta__=blob, **arrays)


def test_damaged_and_hostile_files_are_rejected(tmp_path, rng):
    X, models = _fitted(rng)
    good = tmp_path / "good.sklstm"
    sklstm.save(models[0][0], good)
    data = good.read_bytes()
    bad = tmp_path / "bad.sklstm"
    cases = {
        "truncated": data[: len(data) // 2],
        "garbage": b"\x00" * 100,
        "flipped": data[:200] + bytes([data[200] ^ 0xFF]) + data[201:],
        "empty": b"",
    }
    for name, blob in cases.items():
        bad.write_bytes(blob)
        with pytest.raises(ValueError, match="not a valid sklstm file"):
            sklstm.load(bad)

    def expect(meta_fn=None, arrays_fn=None, match="not a valid sklstm file"):
        _rewrite(good, bad, meta_fn, arrays_fn)
        with pytest.raises(ValueError, match=match):
            sklstm.load(bad)

    expect(lambda m: m.update(format_version=99), match="format version 99")
    expect(lambda m: m.update(format="other"))
    expect(lambda m: m.update({"class": "os.system"}), match="unknown class")
    expect(lambda m: m.update({"class": "Pipeline"}), match="unknown class")
    expect(lambda m: m["params"].update(cell="bogus"))
    expect(lambda m: m["params"].update(evil=1))
    expect(lambda m: m["state"].update(__class__="x"), match="unexpected attributes")
    expect(lambda m: m["state"].update(n_iter_={"__reduce__": ["os.system", ["echo hi"]]}))
    expect(lambda m: m["state"].update(n_iter_={"__array__": "missing"}))
    expect(lambda m: m["state"]["_optimizer"].update(kind="Popen"))
    expect(lambda m: m["state"]["_spec"].update(hidden=[10 ** 9]))
    expect(arrays_fn=lambda a: a.update({k: v[:-1] for k, v in a.items() if v.ndim == 1 and v.size > 20}))
    expect(arrays_fn=lambda a: a.update({k: np.full_like(v, np.nan) for k, v in a.items()
                                         if v.dtype.kind == "f" and v.size > 20}))
    # a pickled object array inside the archive is never unpickled
    with zipfile.ZipFile(bad, "a") as zf:
        buf = io.BytesIO()
        np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
        zf.writestr("evil.npy", buf.getvalue())
    with pytest.raises(ValueError, match="not a valid sklstm file"):
        sklstm.load(bad)
    # a plain pickle is not an sklstm file either
    bad.write_bytes(pickle.dumps(models[0][0]))
    with pytest.raises(ValueError, match="not a valid sklstm file"):
        sklstm.load(bad)


def test_loading_writes_nothing(tmp_path, rng):
    X, models = _fitted(rng)
    p = tmp_path / "m.sklstm"
    sklstm.save(models[3][0], p)
    before = sorted(os.listdir(tmp_path))
    mtime = p.stat().st_mtime_ns
    sklstm.load(p)
    assert sorted(os.listdir(tmp_path)) == before and p.stat().st_mtime_ns == mtime


def test_skops_loads_the_estimators(tmp_path, rng):
    sio = pytest.importorskip("skops.io")
    X, models = _fitted(rng)
    for est, _ in models:
        p = tmp_path / "m.skops"
        sio.dump(est, p)
        back = sio.load(p, trusted=sio.get_untrusted_types(file=p))
        out = "predict_proba" if hasattr(est, "predict_proba") else "predict"
        np.testing.assert_array_equal(getattr(back, out)(X), getattr(est, out)(X))


def test_deep_json_and_huge_array_headers_are_rejected(tmp_path, rng):
    X, models = _fitted(rng)
    good = tmp_path / "good.sklstm"
    sklstm.save(models[0][0], good)
    bad = tmp_path / "bad.sklstm"
    blob = np.frombuffer(b"[" * 200000, dtype=np.uint8)
    with open(bad, "wb") as f:
        np.savez(f, __meta__=blob)
    with pytest.raises(ValueError, match="not a valid sklstm file"):
        sklstm.load(bad)
    header = {"descr": "<f8", "fortran_order": False, "shape": (100000, 100000, 100)}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    bad.write_bytes(good.read_bytes())
    with zipfile.ZipFile(bad, "a") as zf:
        zf.writestr("huge.npy", buf.getvalue())
    with pytest.raises(ValueError, match="not a valid sklstm file"):
        sklstm.load(bad)
    assert oct(good.stat().st_mode & 0o777) != oct(0o600)
