"""The estimators drive the kernels end to end through the public API."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklstm import GRUClassifier, GRURegressor, LSTMClassifier, LSTMRegressor

from conftest import CELLS, sign_of_sum

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _sign_task(rng, n=120, T=12, F=2):
    return sign_of_sum(rng, n, T, F, dtype=np.float32)


@pytest.mark.parametrize("cell", CELLS)
def test_classifier_learns_each_cell(cell, rng):
    X, y = _sign_task(rng)
    clf = LSTMClassifier(hidden_layer_sizes=(8,), cell=cell, max_iter=40, learning_rate_init=0.02,
                         batch_size=16, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.85
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba)


def test_multiclass_string_labels_ragged(rng):
    X = [rng.normal(size=(int(rng.integers(2, 9)), 3)) for _ in range(90)]
    s = np.array([x[:, 0].sum() for x in X])
    y = np.where(s < -1, "neg", np.where(s > 1, "pos", "mid"))
    clf = GRUClassifier(hidden_layer_sizes=(12,), max_iter=60, learning_rate_init=0.02,
                        random_state=0).fit(X, y)
    assert list(clf.classes_) == ["mid", "neg", "pos"]
    assert clf.score(X, y) > 0.8
    assert clf.predict_proba(X).shape == (90, 3)


def test_regressor_learns_mean_multioutput(rng):
    X = rng.normal(size=(150, 10, 2)).astype(np.float32)
    y = np.stack([X[:, :, 0].mean(1), X[:, :, 1].max(1)], axis=1)
    reg = LSTMRegressor(hidden_layer_sizes=(16,), max_iter=80, learning_rate_init=0.01,
                        random_state=0).fit(X, y)
    pred = reg.predict(X)
    assert pred.shape == (150, 2) and pred.dtype == np.float64
    assert reg.score(X, y) > 0.7


def test_same_random_state_is_bitwise_reproducible(rng):
    X, y = _sign_task(rng, n=60)
    a = LSTMClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=3, dropout=0.2).fit(X, y)
    b = LSTMClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=3, dropout=0.2).fit(X, y)
    np.testing.assert_array_equal(a.coefs_flat_, b.coefs_flat_)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = LSTMClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=4).fit(X, y)
    assert not np.array_equal(a.coefs_flat_, c.coefs_flat_)


def test_convergence_warning_and_loss_curve(rng):
    X, y = _sign_task(rng, n=40)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        clf = LSTMClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    assert any(issubclass(r.category, ConvergenceWarning) for r in rec)
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 3


def test_state_dict_layout_and_init(rng):
    X, y = _sign_task(rng, n=30)
    clf = LSTMClassifier(hidden_layer_sizes=(4, 3), bidirectional=True, max_iter=1,
                         random_state=0)
    clf.fit(X, y)
    sd = clf.state_dict()
    assert sd["rnn.weight_ih_l0"].shape == (16, 2)
    assert sd["rnn.weight_hh_l0"].shape == (16, 4)
    assert sd["rnn.weight_ih_l1"].shape == (12, 8)
    assert sd["rnn.weight_ih_l1_reverse"].shape == (12, 8)
    assert sd["rnn.bias_hh_l1_reverse"].shape == (12,)
    assert sd["head.weight"].shape == (1, 6)
    # fresh init: orthogonal recurrent blocks, forget bias 1
    fresh = LSTMClassifier(hidden_layer_sizes=(4,), max_iter=1, learning_rate_init=1e-12,
                           random_state=0, alpha=0).fit(X, y).state_dict()
    for g in range(4):
        blk = fresh["rnn.weight_hh_l0"][4 * g:4 * g + 4].astype(np.float64)
        np.testing.assert_allclose(blk @ blk.T, np.eye(4), atol=1e-5)
    np.testing.assert_allclose(fresh["rnn.bias_ih_l0"][4:8], 1.0, atol=1e-6)
    np.testing.assert_allclose(fresh["rnn.bias_ih_l0"][:4], 0.0, atol=1e-6)


def test_load_state_dict_rejects_wrong_keys_and_shapes(rng):
    X, y = _sign_task(rng, n=20)
    clf = LSTMClassifier(hidden_layer_sizes=(4,), max_iter=1, random_state=0).fit(X, y)
    sd = clf.state_dict()
    bad = dict(sd)
    bad.pop("head.bias")
    with pytest.raises(KeyError, match="head.bias"):
        clf.load_state_dict(bad)
    bad = dict(sd)
    bad["head.weight"] = np.zeros((2, 4))
    with pytest.raises(ValueError, match="head.weight"):
        clf.load_state_dict(bad)
    sd["head.bias"] = np.array([3.0])
    clf.load_state_dict(sd)
    assert clf.state_dict()["head.bias"][0] == 3.0


def test_gru_subclasses_default_cell():
    assert GRUClassifier().get_params()["cell"] == "gru"
    assert GRURegressor().get_params()["cell"] == "gru"
    assert LSTMRegressor().get_params()["cell"] == "lstm"


def test_tabular_rows_are_one_step_sequences(rng):
    X2 = rng.normal(size=(50, 3))
    y = (X2[:, 0] > 0).astype(int)
    clf = LSTMClassifier(hidden_layer_sizes=(8,), max_iter=30, learning_rate_init=0.05,
                         random_state=0).fit(X2, y)
    np.testing.assert_array_equal(clf.predict(X2), clf.predict(X2[:, None, :]))
    assert clf.n_features_in_ == 3


def test_truncated_bptt_trains_and_rejects_bidirectional(rng):
    X, y = _sign_task(rng, n=60, T=20)
    clf = LSTMClassifier(hidden_layer_sizes=(6,), bptt_steps=5, max_iter=3, random_state=0).fit(X, y)
    assert np.isfinite(clf.loss_)
    with pytest.raises(ValueError, match="bptt_steps"):
        LSTMClassifier(bidirectional=True, bptt_steps=5, max_iter=1).fit(X, y)


def test_feature_count_mismatch_message(rng):
    X, y = _sign_task(rng, n=20)
    clf = LSTMClassifier(hidden_layer_sizes=(4,), max_iter=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"X\[:, :, None\]") as exc:
        clf.predict(X[:, :, :1])
    assert "transpose(0, 2, 1)" in str(exc.value)
