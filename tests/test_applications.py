"""Applications: bundled data, long-lag tasks, forecasting, streaming, recurrent features."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline

from sklstm import GRUClassifier, LSTMClassifier, LSTMRegressor, RecurrentFeatures
from sklstm.datasets import (REBER_SYMBOLS, load_airline, load_japanese_vowels, make_adding_problem,
                             make_embedded_reber, make_temporal_order)
from sklstm.forecasting import forecast, make_windows

from conftest import CELLS, sign_of_sum

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_japanese_vowels_is_bundled_and_learnable():
    X, y = load_japanese_vowels("train")
    Xt, yt = load_japanese_vowels("test")
    assert len(X) == 270 and len(Xt) == 370 and sorted(set(y)) == list(range(1, 10))
    lengths = [len(x) for x in X + Xt]
    assert min(lengths) == 7 and max(lengths) == 29 and X[0].shape[1] == 12
    clf = LSTMClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=15,
                         random_state=0).fit(X, y)
    assert clf.score(Xt, yt) > 0.6
    with pytest.raises(ValueError, match="subset"):
        load_japanese_vowels("valid")


def test_airline_series():
    y = load_airline()
    assert y.shape == (144,) and y[0] == 112 and y[-1] == 432


def test_adding_problem_definition():
    X, y = make_adding_problem(50, 20, random_state=0)
    assert X.shape == (50, 20, 2) and (X[:, :, 1].sum(1) == 2).all()
    np.testing.assert_allclose(y, (X[:, :, 0] * X[:, :, 1]).sum(1), rtol=1e-6)
    assert (X[:, :10, 1].sum(1) == 1).all()  # one marker in each half
    X2, y2 = make_adding_problem(50, 20, random_state=0)
    np.testing.assert_array_equal(X, X2)
    _, yb = make_adding_problem(20000, 10, random_state=1)
    assert abs(np.mean((yb - 1.0) ** 2) - 1 / 6) < 0.01  # the trivial baseline MSE 0.167


def test_lstm_bridges_a_lag_the_rnn_cannot():
    X, y = make_adding_problem(600, 40, random_state=0)
    Xt, yt = make_adding_problem(200, 40, random_state=1)
    kw = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, batch_size=32, max_iter=25, random_state=0)
    lstm = LSTMRegressor(**kw).fit(X, y)
    mse = np.mean((lstm.predict(Xt) - yt) ** 2)
    assert mse < 0.05, mse


def test_temporal_order_and_reber():
    X, y = make_temporal_order(40, 30, random_state=0)
    assert X.shape == (40, 30, 8) and set(y) <= {0, 1, 2, 3}
    sym = X.argmax(2)
    assert (sym[:, 0] == 6).all() and (sym[:, -1] == 7).all() and ((sym == 4) | (sym == 5)).sum(1).min() == 2
    Xr, yr = make_embedded_reber(30, random_state=0)
    for x, t in zip(Xr, yr):
        s = "".join(REBER_SYMBOLS[i] for i in x.argmax(1)) + t[-1]
        assert s[0] == "B" and s[-1] == "E" and s[1] == s[-2] and s[2] == "B"
    clf = LSTMClassifier(hidden_layer_sizes=(12,), return_sequences=True, max_iter=3).fit(Xr, yr)
    assert len(clf.predict(Xr[:2])[1]) == len(Xr[1])


def test_make_windows_and_time_series_split():
    s = np.arange(30.0)
    X, y = make_windows(s, window=5, horizon=3, stride=2)
    assert X.shape == (12, 5, 1) and y.shape == (12, 3)
    np.testing.assert_array_equal(y[0], [5, 6, 7])
    np.testing.assert_array_equal(X[1, :, 0], [2, 3, 4, 5, 6])
    m = np.stack([s, -s], 1)
    X2, y2 = make_windows(m, window=4, target=1)
    assert X2.shape == (26, 4, 2) and y2[0] == -4
    Xa, ya = make_windows([np.arange(6.0), np.arange(10.0, 17)], window=3)
    assert len(Xa) == 3 + 4 and ya[3] == 13  # no window spans two series
    with pytest.raises(ValueError, match="longer"):
        make_windows(np.arange(3.0), window=3)
    with pytest.raises(ValueError, match="window"):
        make_windows(s, window=0)
    series = np.sin(np.arange(120) / 4)
    X, y = make_windows(series, window=12)
    scores = cross_val_score(LSTMRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0), X, y,
                             cv=TimeSeriesSplit(3))
    assert scores.shape == (3,)


def test_recursive_forecast_follows_a_sine():
    series = np.sin(np.arange(300) / 5)
    X, y = make_windows(series, window=20)
    reg = LSTMRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=40,
                        random_state=0).fit(X, y)
    fut = forecast(reg, series[:250], steps=10, window=20)
    assert fut.shape == (10,)
    assert np.abs(fut - series[250:260]).max() < 0.25
    direct = LSTMRegressor(hidden_layer_sizes=(8,), max_iter=2).fit(*make_windows(series, 20, horizon=4))
    assert direct.predict(X[:3]).shape == (3, 4)
    with pytest.raises(ValueError, match="every feature"):
        forecast(direct, series, steps=2)


@pytest.mark.parametrize("cell", CELLS)
def test_stream_equals_predict_on_every_prefix(cell, rng):
    X, y = sign_of_sum(rng, 20, 7, 3)
    clf = LSTMClassifier(hidden_layer_sizes=(5, 4), cell=cell, max_iter=2, random_state=0).fit(X, y)
    reg = LSTMRegressor(hidden_layer_sizes=(4,), cell=cell, max_iter=2, random_state=0)
    reg.fit(X, X[:, :, :2].sum(1))
    for est in (clf, reg):
        s = est.stream()
        for seq in X[:3]:
            s.reset()
            for t in range(len(seq)):
                np.testing.assert_array_equal(s.step(seq[t]), est.predict(seq[None, :t + 1])[0])
            assert s.n_steps_ == len(seq)
    s = clf.stream()
    np.testing.assert_array_equal(s.step_proba(X[0, 0]), clf.predict_proba(X[:1, :1])[0])
    with pytest.raises(ValueError, match="features"):
        s.step(np.zeros(2))
    with pytest.raises(ValueError, match="NaN"):
        s.step(np.array([np.nan, 0, 0]))
    bi = GRUClassifier(hidden_layer_sizes=(3,), bidirectional=True, max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="unidirectional"):
        bi.stream()


def test_recurrent_features_in_a_pipeline(rng):
    X = [rng.normal(size=(int(rng.integers(3, 10)), 2)) for _ in range(80)]
    y = np.array([int(x[:, 0].sum() > 0) for x in X])
    pipe = make_pipeline(RecurrentFeatures(LSTMClassifier(hidden_layer_sizes=(8,), max_iter=30,
                                                          learning_rate_init=0.02, random_state=0)),
                         LogisticRegression())
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.8
    H = pipe[0].transform(X)
    assert H.shape == (80, 8) and H.dtype == np.float64
    np.testing.assert_array_equal(H, pipe[0].estimator_.hidden_state(X))
    assert list(pipe[0].get_feature_names_out())[:2] == ["h0", "h1"]
