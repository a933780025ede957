"""Time-series forecasting with the sequence estimators.

:class:`LSTMForecaster` is the forecaster: one global model over one or
many series, with scaling, point forecasts, quantiles and intervals, in
sktime's vocabulary (``fit(y)``, ``predict(fh)``, ``predict_interval``,
``update``). :func:`make_windows` turns one or several series into supervised pairs
(always 3D windows), and :func:`forecast` rolls a fitted one-step model
forward recursively. Direct multi-step forecasting is multi-output
regression on ``make_windows(..., horizon=h)``.
"""

from __future__ import annotations

import numpy as np

from ._forecaster import LSTMForecaster

__all__ = ["LSTMForecaster", "make_windows", "forecast"]


def _as_series(s, name="series"):
    a = np.asarray(s, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must be 1D (n_timesteps,) or 2D (n_timesteps, n_features); "
                         f"got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return a


def make_windows(series, window, horizon=1, stride=1, target=None):
    """Cut series into (window, future values) pairs.

    Parameters
    ----------
    series : array-like of shape (n_timesteps,) or (n_timesteps, n_features), or a list of ndarrays
        A list of numpy arrays is several series: the windows of each,
        concatenated in order (no window spans two series).
    window : int
        Steps per input window.
    horizon : int, default=1
        Future steps to predict after each window.
    stride : int, default=1
        Step between window starts.
    target : int or None, default=None
        Feature to predict; None predicts all features.

    Returns
    -------
    X : ndarray of shape (n_windows, window, n_features)
        Always 3D, so the estimators read every window as a sequence.
    y : ndarray
        ``(n_windows,)`` for one target and horizon 1, ``(n_windows, horizon)``
        for one target, ``(n_windows, horizon * n_targets)`` otherwise
        (step-major).

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm.forecasting import make_windows
    >>> X, y = make_windows(np.arange(6.0), window=3)
    >>> X.shape, y.tolist()
    ((3, 3, 1), [3.0, 4.0, 5.0])
    """
    for name, v, low in (("window", window, 1), ("horizon", horizon, 1), ("stride", stride, 1)):
        if not isinstance(v, (int, np.integer)) or v < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")
    # as for X everywhere in sklstm: a list of arrays is several series
    many = isinstance(series, (list, tuple)) and len(series) > 0 and all(
        isinstance(s, np.ndarray) for s in series)
    parts = [_as_series(s, f"series[{i}]") for i, s in enumerate(series)] if many else [_as_series(series)]
    F = parts[0].shape[1]
    if any(p.shape[1] != F for p in parts):
        raise ValueError("all series must have the same number of features")
    if target is not None and not 0 <= int(target) < F:
        raise ValueError(f"target must be in [0, {F}), got {target}")
    Xs, ys = [], []
    for a in parts:
        starts = np.arange(0, a.shape[0] - window - horizon + 1, stride)
        if starts.size == 0:
            continue
        idx = starts[:, None] + np.arange(window)[None, :]
        Xs.append(a[idx])
        fut = a[starts[:, None] + window + np.arange(horizon)[None, :]]  # (n, horizon, F)
        if target is not None:
            fut = fut[:, :, [int(target)]]
        ys.append(fut.reshape(len(starts), -1))
    if not Xs:
        raise ValueError(f"no series is longer than window + horizon = {window + horizon} steps")
    X = np.concatenate(Xs)
    y = np.concatenate(ys)
    if y.shape[1] == 1:
        y = y[:, 0]
    return X, y


def forecast(estimator, history, steps, window=None):
    """Recursive multi-step forecast with a fitted one-step regressor.

    Each prediction is appended to the history and fed back.

    Parameters
    ----------
    estimator : fitted LSTMRegressor / GRURegressor
        Trained on :func:`make_windows` pairs with ``horizon=1`` predicting
        every feature of the series.
    history : array-like of shape (n_timesteps,) or (n_timesteps, n_features)
    steps : int
        Future steps to produce.
    window : int or None, default=None
        Feed only the last ``window`` steps (as in training): every forecast
        step then re-runs the model over its window (the oldest step leaves
        the window, so no state can be carried). None feeds the whole
        history once and carries the recurrent state from step to step
        (:meth:`~sklstm.LSTMRegressor.stream`): each forecast step costs one timestep, with the
        same results as re-running ``predict`` over the growing history
        (a bidirectional model, or one without ``stream``, such as a
        ``Pipeline``, re-runs it).

    Returns
    -------
    future : ndarray of shape (steps,) or (steps, n_features)

    Examples
    --------
    >>> import numpy as np, warnings
    >>> from sklstm import LSTMRegressor
    >>> from sklstm.forecasting import make_windows, forecast
    >>> s = np.sin(np.arange(200) / 5)
    >>> X, y = make_windows(s, window=10)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     reg = LSTMRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, y)
    >>> forecast(reg, s, steps=3, window=10).shape
    (3,)
    """
    univariate = np.ndim(history) == 1
    h = _as_series(history, "history")
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if window is not None and (not isinstance(window, (int, np.integer)) or window < 1):
        raise ValueError(f"window must be None or an integer >= 1, got {window!r}")
    F = h.shape[1]
    if getattr(estimator, "n_features_in_", F) != F or getattr(estimator, "n_outputs_", F) != F:
        raise ValueError("forecast needs a model that reads and predicts every feature of the series "
                         f"({F}); train it on make_windows(series, window, horizon=1)")
    out = np.empty((steps, F))
    if window is None and hasattr(estimator, "stream") and not getattr(estimator, "bidirectional", False):
        stream = estimator.stream()
        for x_t in h[:-1]:
            stream.step(x_t)
        nxt = h[-1]
        for k in range(steps):
            nxt = np.asarray(stream.step(nxt), dtype=np.float64).reshape(F)
            out[k] = nxt
        return out[:, 0] if univariate else out
    for k in range(steps):
        ctx = h if window is None else h[-window:]
        nxt = np.asarray(estimator.predict(ctx[None, :, :]), dtype=np.float64).reshape(F)
        out[k] = nxt
        h = np.vstack([h, nxt[None, :]])
    return out[:, 0] if univariate else out
