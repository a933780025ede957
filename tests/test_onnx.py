"""ONNX export (sklstm.onnx): onnxruntime's outputs equal predict / predict_proba to 1e-5.

Needs the onnx extra (onnx, skl2onnx, onnxruntime); skipped without it
(``.ci/run`` reruns these tests with the extra installed).
"""

import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklstm import GRUClassifier, GRURegressor, LSTMClassifier, LSTMRegressor, RecurrentFeatures

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")

from sklstm.onnx import pad_sequences, to_onnx  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)


def _session(onx):
    onnx.checker.check_model(onx)
    return ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])


def _run(onx, X):
    sess = _session(onx)
    return sess.run(None, {sess.get_inputs()[0].name: X})


def _data(n=10, F=3, seed=0, tmax=7):
    rng = np.random.default_rng(seed)
    X = [rng.normal(size=(int(t), F)) for t in rng.integers(1, tmax + 1, size=n)]
    X[0] = rng.normal(size=(tmax, F))  # one full-length sequence
    return X


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "lstm1997"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("hidden", [(5,), (6, 4)])
def test_regressor_matches_predict_every_cell(cell, bidirectional, hidden):
    X = _data()
    y = np.array([x[:, 0].sum() for x in X])
    est = _fit(LSTMRegressor(hidden_layer_sizes=hidden, cell=cell, bidirectional=bidirectional, max_iter=2,
                             random_state=0), X, y)
    onx = to_onnx(est)
    ops = [n.op_type for n in onx.graph.node]
    assert ops.count({"gru": "GRU", "rnn": "RNN"}.get(cell, "LSTM")) == len(hidden)  # ONNX's own operators
    assert "Loop" not in ops and "Scan" not in ops
    padded = pad_sequences(X)
    out = _run(onx, padded)[0]
    assert out.shape == (len(X), 1)
    np.testing.assert_allclose(out[:, 0], est.predict(X), **TOL)          # ragged
    np.testing.assert_allclose(out[:, 0], est.predict(padded), **TOL)     # NaN-padded block
    one = _run(onx, pad_sequences(X[3:4]))[0]                              # one sequence alone
    np.testing.assert_allclose(one[:, 0], est.predict(X[3:4]), **TOL)
    # extra padding never changes a result
    wide = np.concatenate([padded, np.full((len(X), 4, 3), np.nan, np.float32)], axis=1)
    np.testing.assert_allclose(_run(onx, wide)[0], out, rtol=0, atol=1e-6)


def test_random_unpadded_input_and_multi_output():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(12, 6, 2))
    y = np.stack([X.sum(axis=(1, 2)), X[:, -1, 0]], axis=1)
    est = _fit(GRURegressor(hidden_layer_sizes=(7,), max_iter=2, random_state=0), X, y)
    out = _run(to_onnx(est, X), X.astype(np.float32))[0]
    assert out.shape == (12, 2)
    np.testing.assert_allclose(out, est.predict(X), **TOL)


def test_lstm1997_forget_gate_held_at_one_over_a_thousand_steps():
    rng = np.random.default_rng(2)
    X = [rng.normal(size=(t, 2)) * 0.5 for t in (1000, 600, 900)]
    y = np.array([1.0, -1.0, 0.5])
    est = _fit(LSTMRegressor(hidden_layer_sizes=(4,), cell="lstm1997", max_iter=1, random_state=0), X, y)
    np.testing.assert_allclose(_run(to_onnx(est), pad_sequences(X))[0][:, 0], est.predict(X), **TOL)


@pytest.mark.parametrize("labels", [np.array([3, 7]), np.array(["neg", "pos"]), np.array(["a", "b", "c"]),
                                    np.array([1.0, 2.0, 5.0]), np.array([False, True])])
@pytest.mark.parametrize("zipmap", [False, True, "columns"])
def test_classifier_labels_and_probabilities(labels, zipmap):
    X = _data(n=12)
    y = labels[np.arange(12) % len(labels)]
    est = _fit(LSTMClassifier(hidden_layer_sizes=(6,), bidirectional=True, max_iter=2, random_state=0), X, y)
    onx = to_onnx(est, options={"zipmap": zipmap})
    outs = _run(onx, pad_sequences(X))
    proba = est.predict_proba(X)
    expected = est.predict(X)
    np.testing.assert_array_equal(outs[0], expected.astype(outs[0].dtype))
    if zipmap is False:
        np.testing.assert_allclose(outs[1], proba, **TOL)
    elif zipmap is True:  # a list of {class: probability} dicts, as skl2onnx's classifiers give
        got = np.array([[d[k] for k in sorted(d)] for d in outs[1]])
        np.testing.assert_allclose(got, proba, **TOL)
    else:  # one output per class
        np.testing.assert_allclose(np.stack(outs[1:], axis=1), proba, **TOL)


def test_multilabel_classifier():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(16, 5, 2))
    y = np.stack([X[:, :, 0].sum(1) > 0, X[:, :, 1].sum(1) > 0, X[:, 0, 0] > 0], axis=1).astype(int)
    est = _fit(GRUClassifier(hidden_layer_sizes=(6,), max_iter=2, random_state=0), X, y)
    label, proba = _run(to_onnx(est, options={"zipmap": False}), X.astype(np.float32))
    np.testing.assert_array_equal(label, est.predict(X))
    np.testing.assert_allclose(proba, est.predict_proba(X), **TOL)


def test_return_sequences_regressor_and_classifier():
    X = _data(n=8)
    ys = [np.cumsum(x[:, 0]) for x in X]
    reg = _fit(LSTMRegressor(hidden_layer_sizes=(5,), return_sequences=True, max_iter=2, random_state=0),
               X, ys)
    padded = pad_sequences(X)
    out = _run(to_onnx(reg), padded)[0]
    assert out.shape == padded.shape[:2] + (1,)
    np.testing.assert_allclose(out[..., 0], reg.predict(padded), **TOL)  # NaN at the same padding steps
    labels = [np.where(x[:, 0] > 0, "up", "down") for x in X]
    clf = _fit(LSTMClassifier(hidden_layer_sizes=(5,), return_sequences=True, max_iter=2, random_state=0),
               X, labels)
    lab, proba = _run(to_onnx(clf), padded)  # zipmap (on by default) does not apply per step
    for i, (p, y_hat) in enumerate(zip(clf.predict_proba(X), clf.predict(X))):
        L = len(X[i])
        np.testing.assert_allclose(proba[i, :L], p, **TOL)
        assert np.isnan(proba[i, L:]).all()
        np.testing.assert_array_equal(lab[i, :L], y_hat)


def test_token_ids_through_the_embedding():
    rng = np.random.default_rng(4)
    ids = [rng.integers(1, 20, size=t) for t in (6, 2, 9, 4, 5, 3)]
    ids[1][0] = 0  # a padding id inside a sequence is read as the padding embedding, as sklstm does
    y = np.array([0, 1, 2, 0, 1, 2])
    est = _fit(LSTMClassifier(hidden_layer_sizes=(5,), embedding_dim=4, vocab_size=20, max_iter=2,
                              random_state=0), ids, y)
    onx = to_onnx(est, options={"zipmap": False})
    assert "Gather" in [n.op_type for n in onx.graph.node]
    label, proba = _run(onx, pad_sequences(ids, dtype=np.int64, padding_value=0))
    np.testing.assert_allclose(proba, est.predict_proba(ids), **TOL)
    np.testing.assert_array_equal(label, est.predict(ids))
    with pytest.raises(ValueError, match="token ids"):
        to_onnx(est, initial_types=[("X", skl2onnx.common.data_types.FloatTensorType([None, None, 1]))])


def test_float64_model_exports_in_float32():
    X = _data(seed=5)
    y = np.array([x.sum() for x in X])
    est = _fit(LSTMRegressor(hidden_layer_sizes=(5,), dtype="float64", max_iter=2, random_state=0), X, y)
    np.testing.assert_allclose(_run(to_onnx(est), pad_sequences(X))[0][:, 0], est.predict(X), **TOL)
    types = skl2onnx.common.data_types
    onx = to_onnx(est, initial_types=[("X", types.DoubleTensorType([None, None, 3]))])
    out = _run(onx, pad_sequences(X, dtype=np.float64))[0]
    assert out.dtype == np.float64
    np.testing.assert_allclose(out[:, 0], est.predict(X), **TOL)


@pytest.mark.parametrize("opset", [14, 17, None])
def test_opsets(opset):
    X = _data(seed=6)
    y = np.array([x.sum() for x in X])
    est = _fit(LSTMRegressor(hidden_layer_sizes=(4,), bidirectional=True, max_iter=1, random_state=0), X, y)
    onx = to_onnx(est, target_opset=opset)
    np.testing.assert_allclose(_run(onx, pad_sequences(X))[0][:, 0], est.predict(X), **TOL)


def test_pipelines_through_skl2onnx_directly():
    """``import sklstm.onnx; skl2onnx.to_onnx(pipeline, ...)`` with scikit-learn steps beside sklstm's."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from skl2onnx.common.data_types import FloatTensorType

    from sklstm.preprocessing import SequenceScaler

    X = [x * 10 + 3 for x in _data(n=14, seed=7)]
    y = np.array([int(x[:, 1].mean() > 3) for x in X])
    types = [("X", FloatTensorType([None, None, 3]))]
    seq = _fit(make_pipeline(SequenceScaler(), LSTMClassifier(hidden_layer_sizes=(5,), max_iter=2,
                                                              random_state=0)), X, y)
    label, proba = _run(skl2onnx.to_onnx(seq, initial_types=types, options={"zipmap": False}),
                        pad_sequences(X))
    np.testing.assert_allclose(proba, seq.predict_proba(X), **TOL)
    np.testing.assert_array_equal(label, seq.predict(X))
    feats = _fit(make_pipeline(SequenceScaler(), RecurrentFeatures(LSTMRegressor(hidden_layer_sizes=(6,),
                                                                                 max_iter=2, random_state=0)),
                               StandardScaler(), LogisticRegression()), X, y)
    label, proba = _run(skl2onnx.to_onnx(feats, initial_types=types, options={"zipmap": False}),
                        pad_sequences(X))
    np.testing.assert_allclose(proba, feats.predict_proba(X), **TOL)
    np.testing.assert_array_equal(label, feats.predict(X))
    rng = np.random.default_rng(8)  # tabular rows: scikit-learn's scaler, then one-step sequences
    T = rng.normal(size=(30, 4)) * 5
    tab = _fit(make_pipeline(StandardScaler(), GRURegressor(hidden_layer_sizes=(5,), max_iter=2,
                                                            random_state=0)), T, T.sum(1))
    out = _run(skl2onnx.to_onnx(tab, T[:1].astype(np.float32)), T.astype(np.float32))[0]
    np.testing.assert_allclose(out[:, 0], tab.predict(T), rtol=1e-5, atol=1e-4)


_MODEL = {}


def _shared_model():
    if not _MODEL:
        X = _data(n=12, seed=9)
        est = _fit(LSTMRegressor(hidden_layer_sizes=(6, 5), bidirectional=True, max_iter=2, random_state=0),
                   X, np.array([x.sum() for x in X]))
        _MODEL["est"], _MODEL["sess"] = est, _session(to_onnx(est))
    return _MODEL["est"], _MODEL["sess"]


@settings(max_examples=25, deadline=None)
@given(lengths=st.lists(st.integers(1, 12), min_size=1, max_size=6), extra=st.integers(0, 3),
       seed=st.integers(0, 2**16))
def test_property_any_ragged_batch(lengths, extra, seed):
    est, sess = _shared_model()
    rng = np.random.default_rng(seed)
    X = [rng.normal(size=(t, 3)) for t in lengths]
    padded = pad_sequences(X)
    padded = np.concatenate([padded, np.full((len(X), extra, 3), np.nan, np.float32)], axis=1)
    np.testing.assert_allclose(sess.run(None, {"X": padded})[0][:, 0], est.predict(X), **TOL)


def test_refusals_and_errors():
    from sklearn.exceptions import NotFittedError

    from sklstm import LSTMLanguageModel, LSTMSeq2Seq
    from sklstm.text import TextVectorizer

    with pytest.raises(NotFittedError):
        to_onnx(LSTMRegressor(), initial_types=[("X", skl2onnx.common.data_types.FloatTensorType([None, 2]))])
    lm = _fit(LSTMLanguageModel(hidden_layer_sizes=(4,), embedding_dim=3, bptt_steps=4, max_iter=1,
                                random_state=0),
              ["ab ab", "ba"], None)
    with pytest.raises(TypeError, match="LSTMLanguageModel cannot be exported to ONNX"):
        to_onnx(lm, initial_types=[("X", skl2onnx.common.data_types.Int64TensorType([None, None]))])
    s2s = _fit(LSTMSeq2Seq(hidden_layer_sizes=(4,), max_iter=1, random_state=0), ["ab", "ba"], ["ba", "ab"])
    with pytest.raises(TypeError, match="LSTMSeq2Seq cannot be exported to ONNX: its predict is a"):
        to_onnx(s2s, initial_types=[("X", skl2onnx.common.data_types.Int64TensorType([None, None]))])
    tv = TextVectorizer().fit(["a b"])
    with pytest.raises(TypeError, match="tokenizes strings"):
        to_onnx(tv, initial_types=[("X", skl2onnx.common.data_types.StringTensorType([None]))])
    X = _data()
    est = _fit(LSTMClassifier(hidden_layer_sizes=(3,), max_iter=1), X, np.arange(len(X)) % 2)
    with pytest.raises(ValueError, match="target_opset"):
        to_onnx(est, target_opset=13)
    with pytest.raises(ValueError, match="padding_value"):
        pad_sequences([np.array([1, 2])], dtype=np.int64)
    with pytest.raises(ValueError, match="non-empty"):
        pad_sequences([np.ones((2, 1)), np.ones((0, 1))])


def test_missing_extra_gives_a_clear_import_error(monkeypatch):
    import sklstm.onnx as mod

    monkeypatch.setitem(sys.modules, "skl2onnx", None)
    with pytest.raises(ImportError, match=r'pip install "sklstm\[onnx\]"'):
        mod.to_onnx(LSTMRegressor())


def test_forget_gate_bias_gives_exactly_one_in_onnxruntime():
    """The 1997 cell's carousel c_t = c_{t-1} + i*g is exact: onnxruntime's sigmoid(_FORGET_ONE) is 1.0."""
    from onnx import TensorProto, helper, numpy_helper

    from sklstm._onnx_graph import _FORGET_ONE

    H = 4
    W, R = np.zeros((1, 4 * H, 1), np.float32), np.zeros((1, 4 * H, H), np.float32)
    B = np.zeros((1, 8 * H), np.float32)
    B[0, :H] = B[0, 2 * H:3 * H] = _FORGET_ONE  # input and forget gates at sigmoid(1e4)
    B[0, 3 * H:4 * H] = [0.3, -0.7, 1.1, 0.05]
    graph = helper.make_graph(
        [helper.make_node("LSTM", ["x", "W", "R", "B"], ["Y", "Yh", "Yc"], hidden_size=H)], "carousel",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, None, 1])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None] * k) for n, k in (("Y", 4), ("Yh", 3),
                                                                                      ("Yc", 3))],
        [numpy_helper.from_array(a, n) for a, n in ((W, "W"), (R, "R"), (B, "B"))])
    sess = _session(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    g = sess.run(None, {"x": np.zeros((1, 1, 1), np.float32)})[2][0, 0]
    c = sess.run(None, {"x": np.zeros((1000, 1, 1), np.float32)})[2][0, 0]
    acc = np.zeros(H, np.float32)
    for _ in range(1000):
        acc = acc + g
    np.testing.assert_array_equal(c, acc)  # f == 1 and i == 1 exactly, every step


def test_rows_predict_refuses_come_out_nan_never_a_silent_value():
    X = _data(n=8, seed=10)
    y = np.array([x.sum() for x in X])
    reg = _fit(LSTMRegressor(hidden_layer_sizes=(4,), max_iter=1, random_state=0), X, y)
    padded = pad_sequences(X)
    bad = padded.copy()
    bad[1] = np.nan            # no valid step
    bad[2, 0, 1] = np.nan      # NaN inside the sequence
    bad[3, 0, :] = np.nan      # an all-NaN step before valid ones is not padding
    bad[4, 0, 0] = np.inf
    for i in range(1, 5):
        with pytest.raises(ValueError):
            reg.predict(bad[i:i + 1])
    out = _run(to_onnx(reg), bad)[0][:, 0]
    assert np.isnan(out[1:5]).all()
    np.testing.assert_allclose(out[[0, 5, 6, 7]], reg.predict(X)[[0, 5, 6, 7]], **TOL)
    clf = _fit(LSTMClassifier(hidden_layer_sizes=(4,), return_sequences=True, max_iter=1, random_state=0),
               X, [np.arange(len(x)) % 2 for x in X])
    proba = _run(to_onnx(clf), bad)[1]
    assert np.isnan(proba[1:5]).all() and not np.isnan(proba[0]).any()
    ids = np.array([[3, 4, 0], [0, 0, 0]])
    tok = _fit(LSTMRegressor(hidden_layer_sizes=(4,), embedding_dim=2, vocab_size=6, max_iter=1,
                             random_state=0), [np.array([3, 4]), np.array([5])], [1.0, 2.0])
    out = _run(to_onnx(tok), ids)[0][:, 0]
    assert np.isnan(out[1]) and np.isclose(out[0], tok.predict([np.array([3, 4])])[0], **TOL)
