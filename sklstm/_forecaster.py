"""``LSTMForecaster``: one global recurrent model over many series, with point forecasts and intervals.

The recipe of the forecasting competitions' neural winners, as a
scikit-learn estimator with sktime's vocabulary: every series is cut into
windows (each forecast origin, ``window`` steps of history), each window is
scaled by its own level (DeepAR), optionally after a log transform and the
M4 classical deseasonalisation, and one network learns from the windows of
all series at once (ES-RNN, N-BEATS, DeepAR are global models). The head
writes ``horizon`` values at once (direct strategy) or one (recursive), and
optionally quantiles trained with the pinball loss, calibrated on each
series' held-out last window.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state

from ._base import BaseRecurrent
from ._forecast_intervals import IntervalMixin
from ._forecast_state import persistent_state, restore_state
from ._forecast_data import (Seasonality, as_covariates, as_series_list, forecast_steps, last_window,
                             pad_inputs, unscale, windows)
from ._losses import PinballLoss
from ._objectives import Batch, RecurrentObjective, TrainOptions, forward
from ._optimizers import make_optimizer
from ._regressor import LSTMRegressor
from ._sklearn_compat import Interval, StrOptions
from ._spec import NetworkSpec
from ._training import LoopConfig, LoopState, TrainingLoop, Validation

__all__ = ["LSTMForecaster"]

_SHARED = ("hidden_layer_sizes", "cell", "dropout", "solver", "learning_rate", "learning_rate_init", "alpha",
           "batch_size", "max_iter", "shuffle", "random_state", "tol", "n_iter_no_change", "early_stopping",
           "verbose", "clip_value", "clip_norm", "dtype")


class LSTMForecaster(IntervalMixin, BaseEstimator):
    """A global LSTM forecaster: one model over one or many series, point forecasts and intervals.

    Parameters
    ----------
    horizon : int, default=1
        Steps the network forecasts at once (``strategy="direct"``); longer
        forecasts chain blocks, feeding the forecasts back.
    window : int or None, default=None
        History steps of an input window (None: ``max(2 * horizon, 2 *
        seasonal_period, 8)``). Series shorter than the window give shorter
        windows: a series needs ``horizon + 1`` values to train on and one
        to forecast from.
    seasonal_period : int or None, default=None
        Seasonal period (12 for monthly data); used by ``deseasonalize`` and
        the default window.
    strategy : {"direct", "recursive"}, default="direct"
        Forecast ``horizon`` steps at once, or one step fed back.
    scaling : bool, default=True
        Scale each window by its own level (the mean absolute value of its
        history, or the mean of the log values with ``log``): one model
        learns the shape of series of any size.
    log : bool, default=False
        Model the logarithm of the series (it must be positive).
    deseasonalize : bool, default=False
        Divide each series by its multiplicative seasonal indices (the M4
        competition's 90% autocorrelation test and classical decomposition;
        needs ``seasonal_period``), forecast, then multiply back. Series
        shorter than ``3 * seasonal_period``, with a value <= 0 or failing
        the test keep indices of 1 (also new series given to ``predict``).
    quantiles : tuple of float or None, default=(0.05, 0.95)
        Quantile levels trained with the pinball loss next to the point
        forecast (``predict_quantiles``, ``predict_interval``).
    future_covariates : bool, default=True
        Covariates ``X`` are known in advance (calendar, planned
        promotions): each window also reads those of its forecast steps, and
        ``predict`` needs them. False: they are observed with the series
        only (past-observed), windows read their history, and forecasts
        reach the horizon at most.
    n_models : int, default=1
        Networks trained from different seeds whose outputs are averaged
        (on M3 monthly, 3 models: sMAPE 13.73, where single networks give
        13.76-14.10 by seed, for three times the fit;
        ``benchmarks/RESULTS.md``). The training record (``loss_curve_``,
        ...) is the first model's.
    hidden_layer_sizes, cell, dropout, solver, learning_rate, learning_rate_init, alpha, batch_size, \
max_iter, shuffle, tol, n_iter_no_change, clip_value, clip_norm, dtype
        The network and its training, as in :class:`~sklstm.LSTMRegressor`.
    early_stopping : bool, default=False
        Hold out the last window of each series of at least ``2 * steps +
        1`` values (its last ``steps`` values as targets; ``steps`` is the
        horizon, or 1 for the recursive strategy), stop on its mean absolute
        error and keep the best weights; the intervals are then calibrated on
        it (conformalised quantiles). ``interval_coverage_`` reports the
        coverage on those windows before and after: the "after" is in-sample
        for the calibration, not an independent estimate. Without early
        stopping the intervals are the raw quantiles (they under-cover when
        the model overfits).
    random_state : int, RandomState instance or None, default=None
    verbose : bool, default=False
    device : {"cpu", "auto"}, default="cpu"
        CPU only for now.

    Attributes
    ----------
    n_series_ : int
    y_ : list of ndarray
        The series as fitted (and updated): what ``predict()`` forecasts from.
    seasonal_indices_ : list of ndarray or None
    interval_coverage_ : dict or None
        With ``early_stopping``: per interval coverage, the empirical coverage
        of the held-out windows before and after calibration.
    n_iter_, loss_, loss_curve_, validation_scores_, best_validation_score_
        As in :class:`~sklstm.LSTMRegressor`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm.forecasting import LSTMForecaster
    >>> t = np.arange(120)
    >>> series = [10 + np.sin(2 * np.pi * (t + k) / 12) for k in range(3)]
    >>> f = LSTMForecaster(horizon=6, seasonal_period=12, hidden_layer_sizes=16, max_iter=30,
    ...                    random_state=0).fit(series)
    >>> f.predict(fh=6)[0].shape
    (6,)
    """

    _parameter_constraints: dict = {
        **{k: BaseRecurrent._parameter_constraints[k] for k in _SHARED},
        "horizon": [Interval(Integral, 1, None, closed="left")],
        "window": [Interval(Integral, 1, None, closed="left"), None],
        "seasonal_period": [Interval(Integral, 2, None, closed="left"), None],
        "strategy": [StrOptions({"direct", "recursive"})],
        "scaling": ["boolean"],
        "log": ["boolean"],
        "deseasonalize": ["boolean"],
        "quantiles": ["array-like", None],
        "future_covariates": ["boolean"],
        "n_models": [Interval(Integral, 1, None, closed="left")],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
    }

    def __init__(self, *, horizon=1, window=None, seasonal_period=None, strategy="direct", scaling=True,
                 log=False, deseasonalize=False, quantiles=(0.05, 0.95), future_covariates=True, n_models=1,
                 hidden_layer_sizes=(32,), cell="lstm", dropout=0.0, solver="adam", learning_rate="constant",
                 learning_rate_init=3e-3, alpha=0.0, batch_size=64, max_iter=50, shuffle=True, tol=1e-4,
                 n_iter_no_change=10, early_stopping=False, verbose=False, clip_value=None, clip_norm=1.0,
                 random_state=None, device="cpu", dtype="float32"):
        self.horizon = horizon
        self.window = window
        self.seasonal_period = seasonal_period
        self.strategy = strategy
        self.scaling = scaling
        self.log = log
        self.deseasonalize = deseasonalize
        self.quantiles = quantiles
        self.future_covariates = future_covariates
        self.n_models = n_models
        self.hidden_layer_sizes = hidden_layer_sizes
        self.cell = cell
        self.dropout = dropout
        self.solver = solver
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.verbose = verbose
        self.clip_value = clip_value
        self.clip_norm = clip_norm
        self.random_state = random_state
        self.device = device
        self.dtype = dtype

    def _window(self):
        default = max(2 * int(self.horizon), 2 * int(self.seasonal_period or 0), 8)
        return default if self.window is None else int(self.window)

    def _step_count(self):
        """Values the network writes per forecast: the horizon, or 1 for the recursive strategy."""
        return 1 if self.strategy == "recursive" else int(self.horizon)

    def _solver_params(self):
        """The parameters with the solvers' others (momentum, betas, ...) at the regressor's defaults."""
        return {**LSTMRegressor().get_params(), **self.get_params(deep=False)}

    def _quantiles(self):
        q = () if self.quantiles is None else \
            tuple(float(v) for v in np.atleast_1d(np.asarray(self.quantiles, dtype=np.float64)))
        if not all(0 < v < 1 for v in q) or len(set(q)) != len(q):
            raise ValueError(f"quantiles must be distinct levels in (0, 1); got {self.quantiles!r}.")
        return tuple(sorted(q))

    def _transform(self, s, seasonal):
        """A series as the network sees it: deseasonalised by ``seasonal`` (indices or None), logged."""
        if seasonal is not None:
            s = s / Seasonality.factors(seasonal, 0, s.size)
        return np.log(s) if self.log else s

    def _inverse(self, f, seasonal, start):
        """Forecasts ``f`` (steps,) on the network's axis, from step ``start`` on, on the series' scale."""
        out = np.exp(f) if self.log else f
        if seasonal is not None:
            out = out * Seasonality.factors(seasonal, start, f.shape[-1])
        return out

    # ------------------------------------------------------------------ fit
    def fit(self, y, X=None):
        """Train one model on the windows of every series.

        Parameters
        ----------
        y : array-like of shape (n_timesteps,) or list of them
            One series, or several of different lengths.
        X : array-like of shape (n_timesteps, n_covariates), or a list of them, default=None
            Covariates known in advance (calendar, promotions), aligned with
            ``y``: each window also reads the covariates of its forecast
            steps.

        Returns
        -------
        self : LSTMForecaster
        """
        self._validate_params()
        if self.device == "cuda":
            raise ValueError("LSTMForecaster has no GPU path yet; use device='cpu' (or 'auto').")
        if self.deseasonalize and self.seasonal_period is None:
            raise ValueError("deseasonalize=True needs seasonal_period (e.g. 12 for monthly data).")
        h = self._step_count()
        series, self._single = as_series_list(y, "y", self.log, min_length=h + 1)
        self.y_ = series
        self.n_series_ = len(series)
        cov = as_covariates(X, len(series), "X", [s.size for s in series])
        self.X_ = cov
        self.n_covariates_ = 0 if cov is None else cov[0].shape[1]
        if cov is not None and any(c.shape[1] != self.n_covariates_ for c in cov):
            raise ValueError("every series needs the same covariates.")
        season = Seasonality(self.seasonal_period) if self.deseasonalize else None
        self.seasonal_indices_ = None if season is None else [season.indices(s) for s in series]
        train_x, train_y, val_x, val_y = [], [], [], []
        for i, s in enumerate(series):
            t = self._transform(s, None if self.seasonal_indices_ is None else self.seasonal_indices_[i])
            c = None if cov is None else cov[i]
            held = self.early_stopping and t.size >= 2 * h + 1
            cut = t.size - h if held else t.size
            xs, ys, _ = windows(t[:cut], self._window(), h, self.log, self.scaling,
                                None if c is None else c[:cut + (h if held else 0)],
                                self.future_covariates)
            train_x += xs
            train_y.append(ys)
            if held:
                xs, ys, _ = windows(t, self._window(), h, self.log, self.scaling, c, self.future_covariates,
                                    last=1)
                val_x += xs
                val_y.append(ys)
        if self.early_stopping and not val_x:
            raise ValueError(f"early_stopping needs a series of at least {2 * h + 1} values (a training "
                             "window and a held-out one).")
        dt = np.dtype(self.dtype)
        Xtr, Ltr = pad_inputs(train_x, dt)
        data = Batch(Xtr, Ltr, np.concatenate(train_y).astype(dt))
        validation = None
        if val_x:
            Xva, Lva = pad_inputs(val_x, dt)
            validation = Validation(Batch(Xva, Lva, np.concatenate(val_y)), self._validation_score)
        self.__dict__.pop("_models", None)
        rs = check_random_state(self.random_state)
        seeds = [rs.randint(2**31) for _ in range(self.n_models)]
        trained = []
        for seed in seeds[::-1]:  # model 0 last: its training record is the one published
            self._initialize(Xtr.shape[2], np.random.RandomState(seed))
            self._train(data, validation)
            trained.append(self.coefs_flat_)
        self._models = trained[::-1]
        self.interval_coverage_ = None
        self._interval_adjust = {}
        if validation is not None and self._quantiles():
            self._calibrate(validation.data)
        self._fitted_params = self._structure()
        return self

    def _initialize(self, n_features, rs):
        init_rng = np.random.default_rng(rs.randint(2**31))
        q = self._quantiles()
        self._loss_fn = PinballLoss(self._step_count(), q)
        self._spec = NetworkSpec(self.cell, n_features, BaseRecurrent._hidden_tuple(self), False,
                                 self._step_count() * (1 + len(q)))
        self.coefs_flat_ = self._spec.init_params(init_rng, np.dtype(self.dtype))
        self._optimizer = make_optimizer(self._solver_params(), self._spec.n_params, np.dtype(self.dtype))
        self._rng = np.random.default_rng(rs.randint(2**31))
        LoopState.new(self.early_stopping).publish(self)

    def _train(self, data, validation):
        state = LoopState.from_estimator(self)
        objective = RecurrentObjective(self._spec, self._loss_fn, TrainOptions(
            alpha=self.alpha, dropout=self.dropout, clip_value=self.clip_value, clip_norm=self.clip_norm))
        config = LoopConfig(self.max_iter, self.batch_size, self.shuffle, self.tol, self.n_iter_no_change,
                            self.verbose, "cpu", type(self).__name__)
        loop = TrainingLoop(config, objective, self.coefs_flat_, self._optimizer, self._rng)
        try:
            loop.fit_loop(state, data, self.max_iter, False, validation)
        finally:
            state.publish(self)

    def _outputs(self, X, lengths):
        """Network outputs (n, steps, 1 + n_quantiles) on the scaled axis, quantiles sorted (no crossing)."""
        models = getattr(self, "_models", None) or [self.coefs_flat_]  # in training: the one trained
        out = np.mean([forward(self._spec, m, X.astype(m.dtype), lengths).astype(np.float64) for m in models],
                      axis=0)
        out = out.reshape(len(lengths), 1 + len(self._quantiles()), self._step_count()).transpose(0, 2, 1)
        out[:, :, 1:] = np.sort(out[:, :, 1:], axis=2)
        return out

    def _validation_score(self, batch):
        out = self._outputs(batch.X, batch.lengths)
        return -float(np.abs(out[:, :, 0] - batch.y).mean())

    def _check_fitted(self):
        if not hasattr(self, "coefs_flat_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                                 "appropriate arguments before using this estimator.")
        fitted = getattr(self, "_fitted_params", None)
        now = self._structure()
        changed = [] if fitted is None else [k for k in now if now[k] != fitted[k]]
        if changed:
            raise ValueError(f"{', '.join(changed)} changed since fit ({fitted[changed[0]]!r} -> "
                             f"{now[changed[0]]!r}); the fitted network depends on them. Refit, or set them "
                             "back.")

    def _structure(self):
        """The parameters the fitted network and its windows depend on (normalised for comparison)."""
        keys = ("horizon", "window", "seasonal_period", "strategy", "scaling", "log", "deseasonalize",
                "quantiles", "future_covariates", "n_models", "cell", "hidden_layer_sizes")
        norm = {k: getattr(self, k) for k in keys}
        for k in ("quantiles", "hidden_layer_sizes"):
            norm[k] = None if norm[k] is None else tuple(np.atleast_1d(norm[k]).tolist())
        return norm

    def _series_for(self, y, X, needed):
        """The series to forecast from (fitted or new), their transforms and covariates."""
        if y is None:
            series, single = self.y_, self._single
            seasonal = self.seasonal_indices_
            cov = None
            if self.n_covariates_ and not self.future_covariates:
                if X is not None:
                    raise ValueError("this model's covariates are past-observed (future_covariates=False): "
                                     "it reads the fitted rows; pass new ones with update(y_new, X_new).")
                cov = self.X_  # past-observed: the fitted (and updated) rows are all it reads
            elif self.n_covariates_:
                if X is None:
                    raise ValueError(f"this model reads covariates: pass X with the {needed} future rows of "
                                     "each series.")
                fut = as_covariates(X, len(series), "X", [needed] * len(series), self.n_covariates_)
                cov = [np.concatenate([c, f]) for c, f in zip(self.X_, fut)]
        else:
            series, single = as_series_list(y, "y", self.log)
            seasonal = None
            if self.deseasonalize:
                season = Seasonality(self.seasonal_period)
                seasonal = [season.indices(s) for s in series]
            cov = None
            if self.n_covariates_:
                if X is None:
                    raise ValueError("this model reads covariates: pass X with the rows of each new series "
                                     f"and {needed} future rows.")
                extra = needed if self.future_covariates else 0
                cov = as_covariates(X, len(series), "X", [s.size + extra for s in series], self.n_covariates_)
        if X is not None and not self.n_covariates_:
            raise ValueError("this model was fitted without covariates; X must be None.")
        return series, single, seasonal, cov

    def _forecast(self, fh, y, X, quantile_mode=False):
        """Forecasts of every series for steps 1..max(fh), chaining blocks: (steps, single, results)."""
        self._check_fitted()
        steps = forecast_steps(fh)
        if steps is None:  # the horizon (quantiles: the network's own steps, 1 for the recursive strategy)
            steps = np.arange(1, (self._step_count() if quantile_mode else int(self.horizon)) + 1)
        need = int(steps.max())
        if quantile_mode and need > self._step_count():
            raise ValueError(f"quantiles and intervals reach the trained horizon ({self._step_count()} "
                             f"steps) only; fh asks for step {need}.")
        if self.n_covariates_ and not self.future_covariates and need > self._step_count():
            raise ValueError(f"past-observed covariates (future_covariates=False) are unknown beyond the "
                             f"horizon ({self._step_count()} steps); fh asks for step {need}.")
        series, single, seasonal, cov = self._series_for(y, X, need)
        results = []
        for i, s in enumerate(series):
            idx = None if seasonal is None else seasonal[i]
            point, first = self._forecast_one(s, idx, need, None if cov is None else cov[i])
            results.append((point, first, s.size, idx))
        return steps, single, results

    def _forecast_one(self, s, seasonal, need, cov):
        """Point forecasts (need,), and the first block's scaled outputs (steps, 1 + Q) with its level."""
        t = self._transform(s, seasonal)
        h = self._step_count()
        dt = self.coefs_flat_.dtype
        first = None
        while t.size < s.size + need:
            fut = None if cov is None or not self.future_covariates else cov[t.size:t.size + h]
            if fut is not None and fut.shape[0] < h:
                fut = np.concatenate([fut, np.repeat(fut[-1:], h - fut.shape[0], axis=0)])
            x, level = last_window(t, self._window(), self.log, self.scaling,
                                   None if cov is None else cov[:t.size], fut)
            out = self._outputs(x[None].astype(dt), np.array([x.shape[0]]))[0]  # (h, 1 + Q)
            if first is None:
                first = (out, level)
            t = np.concatenate([t, unscale(out[:, 0], level, self.log)])
        return self._inverse(t[s.size:s.size + need], seasonal, s.size), first

    def predict(self, fh=None, y=None, X=None):
        """Point forecasts of the fitted series (or of new series ``y``, without refitting).

        Parameters
        ----------
        fh : int, list of int or None, default=None
            An int: steps 1..fh; a list: those 1-based steps (returned in
            increasing order, each once); None: the trained horizon. Steps
            beyond the horizon chain blocks.
        y : array-like or list of array-like, default=None
            New series to forecast from their ends (the fitted ones when None).
        X : covariates of the forecast steps (and of ``y``'s steps when given)

        Returns
        -------
        forecast : ndarray of shape (n_steps,), or a list of them for several series
        """
        steps, single, results = self._forecast(fh, y, X)
        out = [point[steps - 1] for point, *_ in results]
        return out[0] if single else out

    def update(self, y_new, X_new=None):
        """Append new observations to the fitted series (no refit); ``predict`` then forecasts from their end.

        Parameters
        ----------
        y_new : array-like or list of array-like
            New values of each fitted series (in order).
        X_new : covariates of the new values, when the model reads covariates

        Returns
        -------
        self : LSTMForecaster
        """
        self._check_fitted()
        if self._single and np.ndim(y_new) == 0:
            y_new = [y_new]  # one new value of the one series
        new, _ = as_series_list(y_new, "y_new", self.log)
        if len(new) != self.n_series_:
            raise ValueError(f"y_new holds {len(new)} series; the model was fitted on {self.n_series_}.")
        if (X_new is None) != (not self.n_covariates_):
            why = "this model reads covariates: pass X_new with a row per new value." if X_new is None \
                else "this model was fitted without covariates; X_new must be None."
            raise ValueError(why)
        if self.n_covariates_:
            cov = as_covariates(X_new, len(new), "X_new", [s.size for s in new], self.n_covariates_)
            self.X_ = [np.concatenate([a, b]) for a, b in zip(self.X_, cov)]
        self.y_ = [np.concatenate([a, b]) for a, b in zip(self.y_, new)]
        return self

    # ------------------------------------------------------------- persistence (sklstm/_forecast_state.py)
    def _persistent_state(self) -> dict:
        return persistent_state(self)

    def _restore_state(self, state: dict) -> None:
        restore_state(self, state)
