"""return_sequences=True: per-step targets, outputs in the form X came in, scores over valid steps."""

import numpy as np
import pytest

from sklstm import LSTMClassifier, LSTMRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_sequence_tagging_ragged(rng):
    X = [rng.normal(size=(int(rng.integers(2, 9)), 2)) for _ in range(60)]
    y = [np.where(np.cumsum(x[:, 0]) > 0, "up", "down") for x in X]
    clf = LSTMClassifier(hidden_layer_sizes=(8,), return_sequences=True, max_iter=60,
                         learning_rate_init=0.03, random_state=0).fit(X, y)
    pred = clf.predict(X)
    assert isinstance(pred, list) and [len(p) for p in pred] == [len(x) for x in X]
    assert set(np.concatenate(pred)) <= {"up", "down"}
    assert clf.score(X, y) > 0.8
    proba = clf.predict_proba(X)
    assert proba[0].shape == (len(X[0]), 2)


def test_per_step_regression_forms(rng):
    X = rng.normal(size=(50, 7, 2))
    lengths = rng.integers(2, 8, size=50)
    for i, L in enumerate(lengths):
        X[i, L:] = np.nan
    y = np.cumsum(np.nan_to_num(X[:, :, :1]), axis=1)
    y[np.isnan(X[:, :, :1])] = np.nan
    reg = LSTMRegressor(hidden_layer_sizes=(8,), return_sequences=True, max_iter=80,
                        learning_rate_init=0.03, random_state=0).fit(X, y)
    out = reg.predict(X)
    assert out.shape == (50, 7, 1)
    assert np.isnan(out[np.isnan(X[:, :, :1])]).all() and not np.isnan(out[~np.isnan(X[:, :, :1])]).any()
    assert reg.score(X, y) > 0.5
    Xl = [X[i, :L] for i, L in enumerate(lengths)]
    outl = reg.predict(Xl)
    assert isinstance(outl, list)
    for i, L in enumerate(lengths):
        np.testing.assert_array_equal(outl[i], out[i, :L])


def test_padding_never_counts_in_the_loss(rng):
    X = [rng.normal(size=(int(rng.integers(2, 6)), 2)) for _ in range(20)]
    y = [x[:, 0] for x in X]
    T = max(len(x) for x in X)
    Y = np.full((20, T), 123.0)  # padded targets must be NaN ...
    with pytest.raises(ValueError, match="NaN padding"):
        LSTMRegressor(return_sequences=True, max_iter=1).fit(X, Y)
    for i, a in enumerate(y):
        Y[i, :len(a)] = a
        Y[i, len(a):] = np.nan
    a = LSTMRegressor(hidden_layer_sizes=(3,), return_sequences=True, max_iter=2, random_state=0).fit(X, Y)
    b = LSTMRegressor(hidden_layer_sizes=(3,), return_sequences=True, max_iter=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(a.coefs_flat_, b.coefs_flat_)


def test_multiclass_per_step_probabilities_are_over_classes(rng):
    """Softmax runs over the class axis of (n, T, k) outputs (regression test: it once ran over T)."""
    from sklstm.datasets import make_embedded_reber

    X, y = make_embedded_reber(300, random_state=0)
    clf = LSTMClassifier(hidden_layer_sizes=(16,), return_sequences=True, learning_rate_init=0.01,
                         batch_size=32, max_iter=30, random_state=0).fit(X[:250], y[:250])
    proba = clf.predict_proba(X[250:])
    pred = clf.predict(X[250:])
    for p, lab, x in zip(proba, pred, X[250:]):
        assert p.shape == (len(x), len(clf.classes_))
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
        np.testing.assert_array_equal(clf.classes_[p.argmax(axis=1)], lab)
    # the long-lag symbol (second to last target repeats the second symbol) is learned
    critical = np.mean([p[-2] == t[-2] for p, t in zip(pred, y[250:])])
    assert critical > 0.9
