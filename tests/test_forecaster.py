"""LSTMForecaster: a global model over many series, intervals, new series, persistence, bad input."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone

import sklstm
from sklstm._forecast_data import Seasonality, windows
from sklstm._losses import PinballLoss
from sklstm.forecasting import LSTMForecaster

TINY = dict(hidden_layer_sizes=8, max_iter=3, random_state=0)


def _series(n_series=6, seed=0, period=6):
    """Seasonal series of different lengths and levels (a global model must scale them)."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n_series):
        n = int(rng.integers(30, 50))
        t = np.arange(n)
        level = rng.uniform(5, 500)
        season = 1 + 0.3 * np.sin(2 * np.pi * (t + k) / period)
        out.append(level * season * (1 + 0.01 * rng.standard_normal(n)))
    return out


def _fit(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of the tiny epoch budgets
        return est.fit(*args, **kwargs)


def _smape(f, y):
    return float(np.mean([np.mean(200 * np.abs(a - b) / (np.abs(a) + np.abs(b))) for a, b in zip(f, y)]))


def test_a_global_model_learns_the_shape_of_series_of_any_size():
    series = _series(20, period=6)
    train, test = [s[:-6] for s in series], [s[-6:] for s in series]
    model = _fit(LSTMForecaster(horizon=6, seasonal_period=6, hidden_layer_sizes=16, max_iter=40,
                                learning_rate_init=0.01, random_state=0), train)
    flat = [np.full(6, s[-6:].mean()) for s in train]  # the level without the season
    got = _smape(model.predict(), test)
    assert got < _smape(flat, test) / 2 and got < 5.0, (got, _smape(flat, test))


def test_shapes_of_fh_single_and_many_series():
    series = _series(3)
    many = _fit(LSTMForecaster(horizon=4, **TINY), series)
    out = many.predict(fh=4)
    assert isinstance(out, list) and len(out) == 3 and all(o.shape == (4,) for o in out)
    assert [o.shape for o in many.predict(fh=[2, 4])] == [(2,)] * 3
    np.testing.assert_array_equal(many.predict(fh=[2, 4])[0], out[0][[1, 3]])
    one = _fit(LSTMForecaster(horizon=4, **TINY), series[0])
    assert isinstance(one.predict(), np.ndarray) and one.predict().shape == (4,)
    # beyond the horizon: blocks chained, the first block unchanged
    long = one.predict(fh=10)
    assert long.shape == (10,)
    np.testing.assert_allclose(long[:4], one.predict(fh=4))


def test_new_series_without_refitting_and_update():
    series = _series(4)
    model = _fit(LSTMForecaster(horizon=3, **TINY), series[:3])
    before = model.coefs_flat_.copy()
    new = model.predict(fh=3, y=series[3])
    assert new.shape == (3,)
    np.testing.assert_array_equal(model.coefs_flat_, before)
    # the fitted series forecast as new series give the same numbers
    np.testing.assert_allclose(model.predict(y=series[:3]), model.predict())
    # update: the forecast moves to the new end, as if the longer series were given as new
    model.update([np.array([s[-1] * 1.1, s[-1] * 1.2]) for s in series[:3]])
    longer = [np.concatenate([s, [s[-1] * 1.1, s[-1] * 1.2]]) for s in series[:3]]
    np.testing.assert_allclose(model.predict(), model.predict(y=longer))
    with pytest.raises(ValueError, match="fitted on 3"):
        model.update([np.ones(2)])


def test_recursive_strategy_feeds_one_step_forecasts_back():
    s = _series(1)[0]
    model = _fit(LSTMForecaster(horizon=5, strategy="recursive", quantiles=None, **TINY), s)
    assert model._spec.n_outputs == 1
    f = model.predict(fh=5)
    # step 2 is the one-step forecast from the series extended by step 1's forecast
    np.testing.assert_allclose(f[1], model.predict(fh=1, y=np.r_[s, f[0]])[0], rtol=1e-6)


def test_quantiles_are_monotone_and_intervals_cover_on_held_out_windows():
    series = _series(12)
    model = _fit(LSTMForecaster(horizon=4, quantiles=(0.05, 0.25, 0.75, 0.95), early_stopping=True,
                                hidden_layer_sizes=8, max_iter=15, learning_rate_init=0.01,
                                random_state=0), series)
    qs = model.predict_quantiles(fh=4)
    assert qs[0].shape == (4, 4)
    assert all(np.all(np.diff(q, axis=1) >= 0) for q in qs)
    iv = model.predict_interval(fh=4, coverage=0.9)
    assert all(np.all(i[:, 0] <= i[:, 1]) for i in iv)
    inner = model.predict_interval(fh=4, coverage=0.5)
    assert all(i.shape == j.shape == (4, 2) for i, j in zip(iv, inner))
    cov = model.interval_coverage_
    assert set(cov) == {0.9, 0.5}
    # conformal calibration reaches the nominal coverage on the windows it was calibrated on
    assert cov[0.9]["held_out_after"] >= 0.9 and cov[0.5]["held_out_after"] >= 0.5
    assert cov[0.9]["n_windows"] == 12
    with pytest.raises(ValueError, match="coverage=0.8"):
        model.predict_interval(coverage=0.8)
    with pytest.raises(ValueError, match="trained horizon"):
        model.predict_interval(fh=5)
    with pytest.raises(ValueError, match="not among"):
        model.predict_quantiles(alpha=0.4)


def test_pinball_loss_gradient_by_finite_differences():
    rng = np.random.default_rng(0)
    loss = PinballLoss(3, (0.1, 0.9))
    z = rng.normal(size=(5, 9))
    y = rng.normal(size=(5, 3))
    w = rng.uniform(0.5, 2, size=5)
    value, grad = loss(z, y, w, 4.0)
    eps = 1e-6
    for i, j in [(0, 0), (1, 4), (4, 8), (2, 5)]:
        zp, zm = z.copy(), z.copy()
        zp[i, j] += eps
        zm[i, j] -= eps
        fd = (loss(zp, y, w, 4.0)[0] - loss(zm, y, w, 4.0)[0]) / (2 * eps)
        assert grad[i, j] == pytest.approx(fd, abs=1e-6)
    # the pinball loss of a quantile forecast by hand
    one = PinballLoss(1, (0.9,))
    v, _ = one(np.array([[0.0, 1.0]]), np.array([[3.0]]), np.ones(1), 1.0)
    assert v == pytest.approx(9.0 + 0.9 * 2.0)


def test_windows_scale_each_window_by_its_own_level():
    s = np.arange(1.0, 21.0)
    xs, ys, levels = windows(s, window=5, horizon=2, log=False, scaling=True)
    assert len(xs) == ys.shape[0] == 14  # origins 5..18
    np.testing.assert_allclose(levels[0], np.mean(s[:5]))
    np.testing.assert_allclose(xs[0][:, 0], s[:5] / levels[0])
    np.testing.assert_allclose(ys[0], s[5:7] / levels[0])
    # a series shorter than window + horizon: one origin, with the history it has
    short, ys2, _ = windows(s[:4], window=5, horizon=2, log=False, scaling=True)
    assert [x.shape[0] for x in short] == [2] and ys2.shape == (1, 2)


def test_m4_seasonality_test_and_indices():
    t = np.arange(72)
    seasonal = 100 * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
    idx = Seasonality(12).indices(seasonal)
    assert idx.mean() == pytest.approx(1.0)
    assert np.argmax(idx) == 3 and np.argmin(idx) == 9  # sin peaks at t = 3, troughs at t = 9
    noise = 100 + np.random.default_rng(1).normal(size=72)  # (a 90% test: seed 0's noise passes it)
    np.testing.assert_array_equal(Seasonality(12).indices(noise), np.ones(12))  # not seasonal: no indices
    np.testing.assert_array_equal(Seasonality(12).indices(seasonal[:30]), np.ones(12))  # too short


def test_deseasonalize_and_log_round_trip_through_the_forecast():
    t = np.arange(96)
    s = 50 * (1 + 0.3 * np.sin(2 * np.pi * t / 12)) * np.exp(0.01 * t)
    model = _fit(LSTMForecaster(horizon=12, seasonal_period=12, deseasonalize=True, log=True,
                                hidden_layer_sizes=16, max_iter=60, learning_rate_init=0.01, random_state=0),
                 s[:-12])
    assert not np.allclose(model.seasonal_indices_[0], 1.0)
    assert _smape([model.predict()], [s[-12:]]) < 5.0


def test_covariates_known_in_advance():
    rng = np.random.default_rng(1)
    n = 60
    promo = (rng.random(n + 4) < 0.3).astype(float)
    y = 10 + 5 * promo[:n] + 0.1 * rng.standard_normal(n)
    model = _fit(LSTMForecaster(horizon=2, window=6, hidden_layer_sizes=16, max_iter=80,
                                learning_rate_init=0.01,
                                quantiles=None, random_state=0), y, X=promo[:n, None])
    future = np.array([[1.0], [0.0]])
    f = model.predict(fh=2, X=future)
    assert f[0] > f[1] + 2.0, f  # the promotion is read
    with pytest.raises(ValueError, match="covariates"):
        model.predict(fh=2)
    with pytest.raises(ValueError, match="rows"):
        model.predict(fh=2, X=np.ones((3, 1)))


def test_clone_pickle_and_safe_file_round_trips(tmp_path):
    series = _series(3)
    model = _fit(LSTMForecaster(horizon=3, seasonal_period=6, deseasonalize=True, early_stopping=True,
                                quantiles=(0.1, 0.9), **TINY), series)
    assert clone(model).get_params() == model.get_params()
    want = model.predict(), model.predict_interval(coverage=0.8)
    for back in (pickle.loads(pickle.dumps(model)),):
        np.testing.assert_array_equal(back.predict()[0], want[0][0])
    path = tmp_path / "f.sklstm"
    sklstm.save(model, path)
    back = sklstm.load(path)
    for a, b in zip(back.predict(), want[0]):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(back.predict_interval(coverage=0.8), want[1]):
        np.testing.assert_array_equal(a, b)
    assert back.interval_coverage_ == model.interval_coverage_


def test_hostile_saved_state_is_refused():
    model = _fit(LSTMForecaster(horizon=3, **TINY), _series(2))
    state = model._persistent_state()
    for key, bad in [("coefs_flat_", np.zeros(3, np.float32)), ("y_", [np.array([np.nan])]),
                     ("single", "yes"), ("adjust", {"x": np.zeros(3)}), ("spec", {"cell": "evil"})]:
        broken = dict(state, **{key: bad})
        fresh = LSTMForecaster(horizon=3, **TINY)
        with pytest.raises(ValueError):
            fresh._restore_state(broken)
        assert not hasattr(fresh, "coefs_flat_")
    with pytest.raises(ValueError, match="horizon"):
        LSTMForecaster(horizon=4, **TINY)._restore_state(state)


@pytest.mark.parametrize("y,kwargs,match", [
    (np.array([1.0, np.nan, 3.0] * 10), {}, "NaN"),
    ([np.arange(1.0, 30.0), np.array([1.0, 2.0])], {"horizon": 3}, r"y\[1\] has 2 value"),
    (np.r_[np.ones(20), 0.0], {"log": True}, "log=True"),
    (np.ones((10, 2)), {}, "1D"),
    (np.arange(1.0, 30.0), {"deseasonalize": True}, "seasonal_period"),
    (np.arange(1.0, 30.0), {"device": "cuda"}, "GPU"),
    (np.arange(1.0, 30.0), {"quantiles": (0.5, 1.5)}, "quantiles"),
])
def test_bad_input_gets_clear_errors(y, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        LSTMForecaster(**{**TINY, **kwargs}).fit(y)


def test_bad_fh_and_unfitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        LSTMForecaster().predict()
    model = _fit(LSTMForecaster(horizon=2, **TINY), np.arange(1.0, 40.0))
    for fh in (0, [0, 1], [1.5], "3"):
        with pytest.raises(ValueError, match="fh"):
            model.predict(fh=fh)


def test_past_observed_covariates():
    rng = np.random.default_rng(2)
    n = 80
    driver = rng.normal(size=n + 3)
    y = 10 + np.r_[0.0, 2.0 * driver[:-1]][:n] + 0.05 * rng.standard_normal(n)  # y_t follows x_{t-1}
    model = _fit(LSTMForecaster(horizon=1, window=4, hidden_layer_sizes=16, max_iter=80,
                                learning_rate_init=0.01, quantiles=None, future_covariates=False,
                                random_state=0), y, X=driver[:n, None])
    f = model.predict(fh=1)  # no future covariates needed
    assert abs(f[0] - (10 + 2.0 * driver[n - 1])) < 1.0, (f, 10 + 2.0 * driver[n - 1])
    new = model.predict(fh=1, y=y[:40], X=driver[:40, None])  # a new series: its own rows only
    assert abs(new[0] - (10 + 2.0 * driver[39])) < 1.0
    with pytest.raises(ValueError, match="beyond the horizon"):
        model.predict(fh=2)


def test_n_models_average_the_outputs_of_networks_from_different_seeds(tmp_path):
    from sklstm._objectives import forward

    series = _series(4)
    one = _fit(LSTMForecaster(horizon=3, quantiles=(0.1, 0.9), **TINY), series)
    three = _fit(LSTMForecaster(horizon=3, quantiles=(0.1, 0.9), n_models=3, **TINY), series)
    assert len(three._models) == 3 and three._models[0] is three.coefs_flat_
    assert not np.array_equal(three._models[0], three._models[1])
    x, level = _last_input(three, series[0])
    want = np.mean([forward(three._spec, m, x, np.array([x.shape[1]])) for m in three._models], axis=0)
    got = three._outputs(x, np.array([x.shape[1]]))
    np.testing.assert_allclose(got[0, :, 0], want[0, :3], rtol=1e-6)
    assert not np.allclose(three.predict()[0], one.predict()[0])
    path = tmp_path / "three.sklstm"
    sklstm.save(three, path)
    back = sklstm.load(path)
    for a, b in zip(back.predict(), three.predict()):
        np.testing.assert_array_equal(a, b)
    state = three._persistent_state()
    with pytest.raises(ValueError, match="n_models"):
        LSTMForecaster(horizon=3, quantiles=(0.1, 0.9), n_models=2, **TINY)._restore_state(state)


def _last_input(model, s):
    from sklstm._forecast_data import last_window

    x, level = last_window(model._transform(s, None), model._window(), model.log, model.scaling)
    return x[None].astype(model.coefs_flat_.dtype), level


def test_covariate_columns_are_checked_on_every_path():
    rng = np.random.default_rng(3)
    y = 10 + rng.normal(size=40)
    X2 = rng.normal(size=(40, 2))
    model = _fit(LSTMForecaster(horizon=2, window=5, quantiles=None, **TINY), y, X=X2)
    for bad in (rng.normal(size=(2, 3)), rng.normal(size=(2, 1))):
        with pytest.raises(ValueError, match="column"):
            model.predict(fh=2, X=bad)
    with pytest.raises(ValueError, match="column"):
        model.predict(fh=2, y=y[:10], X=rng.normal(size=(12, 3)))
    with pytest.raises(ValueError, match="column"):
        model.update(np.ones(2), X_new=rng.normal(size=(2, 1)))
    with pytest.raises(ValueError, match="X_new"):
        model.update(np.ones(2))
    plain = _fit(LSTMForecaster(horizon=2, quantiles=None, **TINY), y)
    with pytest.raises(ValueError, match="without covariates"):
        plain.predict(fh=2, X=X2[:2])
    with pytest.raises(ValueError, match="without covariates"):
        plain.update(np.ones(2), X_new=X2[:2])
    plain.update(11.0)  # one new value of the one series
    assert plain.y_[0].size == 41


def test_parameters_changed_after_fit_are_refused():
    model = _fit(LSTMForecaster(horizon=3, quantiles=(0.05, 0.95), **TINY), _series(2))
    for change in ({"quantiles": (0.1, 0.9)}, {"log": True}, {"window": 3}, {"horizon": 5},
                   {"strategy": "recursive"}):
        model.set_params(**change)
        with pytest.raises(ValueError, match="changed since fit"):
            model.predict()
        model.set_params(horizon=3, quantiles=[0.05, 0.95], log=False, window=None, strategy="direct")
    assert len(model.predict()) == 2  # set back (a list equal to the tuple): accepted
    model.set_params(max_iter=7)  # training parameters do not change the fitted network
    model.predict()


def test_recursive_strategy_has_intervals_for_its_one_step_and_unfitted_is_clear():
    from sklearn.exceptions import NotFittedError

    model = _fit(LSTMForecaster(horizon=4, strategy="recursive", **TINY), _series(1)[0])
    assert model.predict_interval().shape == (1, 2)
    assert model.predict_quantiles().shape == (1, 2)
    with pytest.raises(ValueError, match="trained horizon"):
        model.predict_interval(fh=2)
    for method in ("predict_interval", "predict_quantiles", "predict"):
        with pytest.raises(NotFittedError):
            getattr(LSTMForecaster(), method)()


def test_calibrated_quantiles_move_with_the_interval():
    model = _fit(LSTMForecaster(horizon=2, quantiles=(0.1, 0.9), early_stopping=True, **TINY), _series(6))
    qs = model.predict_quantiles(fh=2)
    iv = model.predict_interval(fh=2, coverage=0.8)
    for q, i in zip(qs, iv):
        np.testing.assert_allclose(np.sort(q, axis=1), i, rtol=1e-12)
