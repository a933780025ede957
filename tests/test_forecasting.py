"""forecasting.forecast: the whole-history forecast carries the state, the windowed one re-runs the window."""

import warnings

import numpy as np
import pytest

from sklstm import LSTMRegressor
from sklstm.forecasting import forecast, make_windows


def _rerun(reg, history, steps, window=None):
    """The definition: predict over the (last ``window`` steps of the) growing history, feed it back."""
    h = np.asarray(history, dtype=np.float64).reshape(len(history), -1)
    out = []
    for _ in range(steps):
        ctx = h if window is None else h[-window:]
        nxt = np.asarray(reg.predict(ctx[None]), dtype=np.float64).reshape(-1)
        out.append(nxt)
        h = np.vstack([h, nxt[None]])
    out = np.array(out)
    return out[:, 0] if np.ndim(history) == 1 else out


def _fit(series, **params):
    X, y = make_windows(series, window=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LSTMRegressor(hidden_layer_sizes=(6,), max_iter=3, random_state=0, **params).fit(X, y)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("n_features", [1, 2])
def test_whole_history_forecast_carries_the_state_with_the_same_results(cell, n_features, monkeypatch):
    t = np.arange(120) / 6.0
    series = np.sin(t) if n_features == 1 else np.stack([np.sin(t), np.cos(t)], axis=1)
    reg = _fit(series, cell=cell)
    want = _rerun(reg, series[:60], steps=7)

    def no_predict(X):
        raise AssertionError("the whole-history forecast re-ran predict")

    monkeypatch.setattr(reg, "predict", no_predict)
    got = forecast(reg, series[:60], steps=7)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_windowed_and_bidirectional_forecasts_rerun_predict():
    series = np.sin(np.arange(100) / 5.0)
    reg = _fit(series)
    np.testing.assert_array_equal(forecast(reg, series[:50], steps=5, window=8),
                                  _rerun(reg, series[:50], 5, window=8))
    bi = _fit(series, bidirectional=True)
    np.testing.assert_array_equal(forecast(bi, series[:50], steps=4), _rerun(bi, series[:50], 4))
