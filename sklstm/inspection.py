"""Plots of fitted estimators (matplotlib, optional: ``pip install sklstm[plot]``)."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._importance import TimestepImportanceDisplay, timestep_importance

__all__ = ["LossCurveDisplay", "ForecastDisplay", "TimestepImportanceDisplay", "input_gradient_norms",
           "timestep_importance"]


def _axes(ax, display):
    """``ax``, or the axes of a new figure; a clear ImportError naming ``display`` without matplotlib."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"{display} needs matplotlib: pip install sklstm[plot]") from exc
    return plt.subplots()[1] if ax is None else ax


class LossCurveDisplay:
    """Training loss (and validation score) per epoch, in the style of sklearn's Display objects.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
    validation_scores : array-like of shape (n_epochs,) or None, default=None
    estimator_name : str or None, default=None

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes of the loss curve.
    ax_score_ : matplotlib Axes or None
        Twin axes of the validation score.
    figure_ : matplotlib Figure
    line_ : matplotlib Line2D
    line_score_ : matplotlib Line2D or None

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import LSTMRegressor
    >>> from sklstm.inspection import LossCurveDisplay
    >>> X = np.random.default_rng(0).normal(size=(30, 5, 1))
    >>> reg = LSTMRegressor(hidden_layer_sizes=(4,), max_iter=3).fit(X, X[:, -1, 0])
    >>> disp = LossCurveDisplay.from_estimator(reg)  # doctest: +SKIP
    """

    def __init__(self, loss_curve, validation_scores=None, estimator_name=None):
        self.loss_curve = np.asarray(loss_curve, dtype=float)
        self.validation_scores = None if validation_scores is None else np.asarray(validation_scores, float)
        self.estimator_name = estimator_name

    def plot(self, ax=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.

        Returns
        -------
        display : LossCurveDisplay
        """
        ax = _axes(ax, "LossCurveDisplay")
        epochs = np.arange(1, len(self.loss_curve) + 1)
        (self.line_,) = ax.plot(epochs, self.loss_curve, color="C0", label="training loss")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
        self.ax_score_ = self.line_score_ = None
        if self.validation_scores is not None and len(self.validation_scores):
            self.ax_score_ = ax.twinx()
            (self.line_score_,) = self.ax_score_.plot(
                np.arange(1, len(self.validation_scores) + 1), self.validation_scores,
                color="C1", label="validation score")
            self.ax_score_.set_ylabel("validation score")
        if self.estimator_name:
            ax.set_title(self.estimator_name)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, ax=None):
        """Plot the curves recorded by a fitted sklstm estimator.

        Parameters
        ----------
        estimator : fitted LSTMClassifier / LSTMRegressor
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : LossCurveDisplay
        """
        check_is_fitted(estimator, "loss_curve_")
        return cls(estimator.loss_curve_, getattr(estimator, "validation_scores_", None),
                   type(estimator).__name__).plot(ax=ax)


class ForecastDisplay:
    """A series' history, its forecast and the prediction interval band (optionally the truth).

    Parameters
    ----------
    history : array-like of shape (n_timesteps,)
    forecast : array-like of shape (n_steps,)
        The values of steps ``1..n_steps`` after the history.
    interval : array-like of shape (n_steps, 2) or None, default=None
        Lower and upper bounds.
    y_true : array-like of shape (n_steps,) or None, default=None
        What happened, to compare.
    coverage : float or None, default=None
        The interval's nominal coverage (for the legend).
    estimator_name : str or None, default=None

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    line_history_, line_forecast_, line_true_ : matplotlib Line2D (the last None without ``y_true``)
    band_ : matplotlib PolyCollection or None

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm.forecasting import LSTMForecaster
    >>> from sklstm.inspection import ForecastDisplay
    >>> y = 10 + np.sin(np.arange(60) / 2)
    >>> f = LSTMForecaster(horizon=6, hidden_layer_sizes=8, max_iter=5, random_state=0).fit(y)
    >>> disp = ForecastDisplay.from_estimator(f)  # doctest: +SKIP
    """

    def __init__(self, history, forecast, interval=None, y_true=None, coverage=None, estimator_name=None):
        self.history = np.asarray(history, dtype=float)
        self.forecast = np.asarray(forecast, dtype=float)
        self.interval = None if interval is None else np.asarray(interval, dtype=float)
        self.y_true = None if y_true is None else np.asarray(y_true, dtype=float)
        self.coverage = coverage
        self.estimator_name = estimator_name
        if self.history.ndim != 1 or self.forecast.ndim != 1:
            raise ValueError("history and forecast must be 1D (one series).")
        if self.interval is not None and self.interval.shape != (self.forecast.size, 2):
            raise ValueError(f"interval must have shape ({self.forecast.size}, 2); got "
                             f"{self.interval.shape}.")
        if self.y_true is not None and self.y_true.shape != self.forecast.shape:
            raise ValueError(f"y_true must have {self.forecast.size} values; got {self.y_true.size}.")

    def plot(self, ax=None):
        """Draw the history, the forecast, the band and the truth.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.

        Returns
        -------
        display : ForecastDisplay
        """
        ax = _axes(ax, "ForecastDisplay")
        n = self.history.size
        past = np.arange(n)
        future = np.arange(n, n + self.forecast.size)
        (self.line_history_,) = ax.plot(past, self.history, color="C0", label="history")
        # the forecast starts from the last observation, so the two lines join
        (self.line_forecast_,) = ax.plot(np.r_[n - 1, future], np.r_[self.history[-1], self.forecast],
                                         color="C1", label="forecast")
        self.band_ = None
        if self.interval is not None:
            label = "interval" if self.coverage is None else f"{self.coverage:.0%} interval"
            self.band_ = ax.fill_between(future, self.interval[:, 0], self.interval[:, 1], color="C1",
                                         alpha=0.25, label=label)
        self.line_true_ = None
        if self.y_true is not None:
            (self.line_true_,) = ax.plot(future, self.y_true, color="k", linestyle="--", label="actual")
        ax.set_xlabel("step")
        ax.legend()
        if self.estimator_name:
            ax.set_title(self.estimator_name)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, y=None, fh=None, coverage=0.9, y_true=None, series=0, X=None, ax=None):
        """Forecast with a fitted :class:`~sklstm.forecasting.LSTMForecaster` and plot it.

        Parameters
        ----------
        estimator : fitted LSTMForecaster
        y : array-like of shape (n_timesteps,) or None, default=None
            A series to forecast from (None: fitted series number ``series``,
            forecast exactly as ``estimator.predict`` does).
        fh : int or None, default=None
            Steps 1..fh (None: the horizon).
        coverage : float or None, default=0.9
            The interval to draw (None, or a model without quantiles, or
            steps beyond the network's: no band).
        y_true : array-like of shape (fh,) or None, default=None
        series : int, default=0
            Which fitted series, when ``y`` is None.
        X : covariates, as ``estimator.predict`` takes them (for every fitted series when ``y`` is None)
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : ForecastDisplay
        """
        check_is_fitted(estimator, "coefs_flat_")
        fh = estimator.horizon if fh is None else fh
        if isinstance(fh, bool) or not isinstance(fh, (int, np.integer)) or fh < 1:
            raise ValueError(f"fh must be an integer >= 1 (the display draws steps 1..fh); got {fh!r}.")
        fh = int(fh)
        interval = None
        want_band = coverage is not None and estimator._quantiles() and fh <= estimator._step_count()
        if y is None:
            if not 0 <= series < estimator.n_series_:
                raise ValueError(f"series must be in [0, {estimator.n_series_}); got {series}.")
            history = estimator.y_[series]

            def pick(out):
                return out if estimator.n_series_ == 1 else out[series]

            forecast = pick(estimator.predict(fh=fh, X=X))
            if want_band:
                interval = pick(estimator.predict_interval(fh=fh, coverage=coverage, X=X))
        else:
            history = np.asarray(y, dtype=float)
            forecast = estimator.predict(fh=fh, y=history, X=X)
            if want_band:
                interval = estimator.predict_interval(fh=fh, coverage=coverage, y=history, X=X)
        return cls(history, forecast, interval, y_true, coverage, type(estimator).__name__).plot(ax=ax)


def input_gradient_norms(estimator, X, y):
    """Mean norm of the loss gradient with respect to each input step (vanishing-gradient diagnostics).

    Backpropagates the training loss of ``(X, y)`` (no dropout, no
    truncation) and averages ``||dLoss/dx_t||`` over the sequences longer
    than ``t``: for an RNN on a long-lag task it decays geometrically
    towards the first steps, for an LSTM it does not (Hochreiter &
    Schmidhuber 1997). :func:`timestep_importance` differentiates the
    model's output instead of the loss, per sequence.

    Parameters
    ----------
    estimator : fitted LSTMRegressor or LSTMClassifier (one output per sequence)
    X : sequences, as the estimator's ``fit`` takes them
    y : targets, as the estimator's ``fit`` takes them

    Returns
    -------
    norms : ndarray of shape (T_max,), float64
    """
    from ._objectives import Batch

    check_is_fitted(estimator, "coefs_flat_")
    if estimator.return_sequences:
        raise ValueError("input_gradient_norms needs one output per sequence (return_sequences=False)")
    Xp, lengths = estimator._validate_X(X, reset=False)
    y_enc = estimator._encode_targets(y, lengths, reset=False)
    batch = Batch(Xp, lengths, y_enc, np.ones(len(lengths)))
    return estimator._objective().input_gradient_norms(estimator.coefs_flat_, batch)
