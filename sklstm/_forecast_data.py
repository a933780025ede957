"""The data side of :class:`sklstm.forecasting.LSTMForecaster`: series in, scaled windows out.

- :func:`as_series_list`: one series or a list of them, checked (1D, finite,
  positive with ``log=True``), with the name of the offending series;
- :class:`Seasonality`: the M4 competition's classical multiplicative
  decomposition (a 90% autocorrelation test at the seasonal lag, then
  seasonal indices from a centred moving average), per series;
- :func:`windows`: the training pairs of a series (every forecast origin,
  the history cut to ``window`` steps, shorter at the series' start) and
  :func:`last_window`: the input of a forecast from a series' end, each
  scaled by its own level (the mean absolute value of its input, or the
  mean of the log values), with known-future covariates appended as
  extra steps.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

__all__ = ["as_series_list", "as_covariates", "pad_inputs", "forecast_steps", "Seasonality", "windows",
           "last_window", "unscale", "calibrate_intervals"]


def as_series_list(y, name="y", log=False, min_length=1):
    """``y`` as (list of float64 1D arrays, whether it was one series); clear errors naming the series."""
    single = not (isinstance(y, (list, tuple)) and len(y) > 0 and not np.isscalar(y[0]))
    items = [y] if single else list(y)
    out = []
    for i, s in enumerate(items):
        label = name if single else f"{name}[{i}]"
        try:
            a = np.asarray(s, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{label} must be a 1D array of numbers; got {type(s).__name__}.") from None
        if a.ndim != 1:
            raise ValueError(f"{label} must be one 1D series (or {name} a list of them); got shape "
                             f"{a.shape}.")
        if a.size < min_length:
            raise ValueError(f"{label} has {a.size} value(s); at least {min_length} needed.")
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:
            raise ValueError(f"{label} holds NaN or infinity at position {int(bad[0])}; fill or cut the gap "
                             "first.")
        if log and (a <= 0).any():
            raise ValueError(f"{label} holds a value <= 0 at position {int(np.argmax(a <= 0))}; log=True "
                             "needs positive values.")
        out.append(a)
    return out, single


def _acf(x, lag):
    x = x - x.mean()
    d = float(np.dot(x, x))
    return 0.0 if d == 0 else float(np.dot(x[lag:], x[:-lag])) / d


class Seasonality:
    """Multiplicative seasonal indices of each series (M4's test and classical decomposition).

    A series is seasonal when it is positive, has at least ``3 * m`` values
    and its autocorrelation at lag ``m`` exceeds ``1.645 * sqrt((1 + 2 *
    sum_{k<m} acf_k**2) / n)`` (90%); its indices are the mean ratio of the
    series to its centred moving average at each position of the season,
    normalised to average 1. Non-seasonal series get indices of 1.

    Parameters
    ----------
    m : int
        Seasonal period (>= 2).
    """

    def __init__(self, m):
        self.m = int(m)

    def indices(self, s):
        """Seasonal indices (m,) of series ``s``, aligned so that index ``k`` belongs to ``s[k::m]``."""
        m, n = self.m, s.size
        ones = np.ones(m)
        if n < 3 * m or (s <= 0).any():
            return ones
        acf = np.array([_acf(s, k) for k in range(1, m + 1)])
        limit = 1.645 * np.sqrt((1 + 2 * np.sum(acf[:-1] ** 2)) / n)
        if abs(acf[-1]) <= limit:
            return ones
        if m % 2:
            trend = np.convolve(s, np.ones(m) / m, mode="valid")
            start = m // 2
        else:
            w = np.r_[0.5, np.ones(m - 1), 0.5] / m
            trend = np.convolve(s, w, mode="valid")
            start = m // 2
        ratio = s[start:start + trend.size] / trend
        pos = (np.arange(start, start + trend.size)) % m
        idx = np.array([ratio[pos == k].mean() for k in range(m)])
        return idx / idx.mean()

    @staticmethod
    def factors(indices, start, n):
        """The indices of steps ``start .. start + n - 1`` of a series."""
        m = indices.size
        return indices[(np.arange(start, start + n)) % m]


def _level(x, log):
    """The scale of one input window: the mean of log values, or the mean absolute value (never 0)."""
    if log:
        return float(x.mean())
    lvl = float(np.abs(x).mean())
    return lvl if lvl > 0 else 1.0


def _scale(a, level, log):
    return a - level if log else a / level


def unscale(a, level, log):
    """Inverse of the window scaling (``level`` broadcast over the last axis)."""
    return a + level if log else a * level


def _inputs(hist, level, log, cov_past, cov_future, scaling):
    """Input sequence (steps, features): scaled history, then one step per future covariate row."""
    x = _scale(hist, level, log) if scaling else hist
    cols = [x[:, None]]
    if cov_past is None:
        return cols[0]
    flag = np.ones((hist.size, 1))
    seq = np.concatenate([cols[0], flag, cov_past], axis=1)
    if cov_future is not None and cov_future.shape[0]:
        fut = np.concatenate([np.zeros((cov_future.shape[0], 2)), cov_future], axis=1)
        seq = np.concatenate([seq, fut])
    return seq


def windows(s, window, horizon, log, scaling, cov=None, known_future=True, last=None):
    """Training pairs of one (transformed) series: every forecast origin with ``horizon`` future values.

    The origin ``t`` (the first forecast step) runs from ``min(window, n -
    horizon)`` to ``n - horizon``; the input is ``s[max(0, t - window):t]``
    (shorter near the start), scaled by its own level; the target is
    ``s[t:t + horizon]`` on the same scale. ``last``: only the last ``last``
    origins.

    Returns
    -------
    inputs : list of ndarrays of shape (steps, features)
    targets : ndarray of shape (n_pairs, horizon)
    levels : ndarray of shape (n_pairs,)
    """
    n = s.size
    t0 = max(1, min(window, n - horizon))
    origins = list(range(t0, n - horizon + 1))
    if last is not None:
        origins = origins[-last:]
    inputs, targets, levels = [], [], []
    for t in origins:
        hist = s[max(0, t - window):t]
        level = _level(hist, log) if scaling else (0.0 if log else 1.0)
        past = fut = None
        if cov is not None:
            past = cov[max(0, t - window):t]
            fut = cov[t:t + horizon] if known_future else None
        inputs.append(_inputs(hist, level, log, past, fut, scaling))
        targets.append(_scale(s[t:t + horizon], level, log) if scaling else s[t:t + horizon])
        levels.append(level)
    return inputs, np.array(targets).reshape(len(origins), horizon), np.array(levels)


def last_window(s, window, log, scaling, cov=None, cov_future=None):
    """The input of a forecast from the end of series ``s`` and its level."""
    hist = s[-window:]
    level = _level(hist, log) if scaling else (0.0 if log else 1.0)
    past = None if cov is None else cov[s.size - hist.size:s.size]
    return _inputs(hist, level, log, past, cov_future, scaling), level


def as_covariates(X, n_series, what, lengths=None, n_columns=None):
    """Covariates as a list of finite (n_steps, n_covariates) arrays, one per series, rows checked."""
    if X is None:
        return None
    items = [X] if n_series == 1 and not isinstance(X, (list, tuple)) else list(X)
    if len(items) != n_series:
        raise ValueError(f"{what} holds covariates for {len(items)} series; y has {n_series}.")
    out = []
    for i, a in enumerate(items):
        a = np.asarray(a, dtype=np.float64)
        a = a[:, None] if a.ndim == 1 else a
        if a.ndim != 2 or not np.isfinite(a).all():
            raise ValueError(f"covariates {i} of {what} must be a finite (n_steps, n_covariates) array.")
        if lengths is not None and a.shape[0] != lengths[i]:
            raise ValueError(f"covariates {i} of {what} have {a.shape[0]} rows; {lengths[i]} needed.")
        if n_columns is not None and a.shape[1] != n_columns:
            raise ValueError(f"covariates {i} of {what} have {a.shape[1]} column(s); the model was fitted "
                             f"with {n_columns}.")
        out.append(a)
    return out


def pad_inputs(seqs, dtype):
    """Ragged (steps, features) inputs as a zero-padded (n, T, F) block and lengths."""
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    out = np.zeros((len(seqs), int(lengths.max()), seqs[0].shape[1]), dtype=dtype)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s
    return out, lengths


def forecast_steps(fh):
    """``fh`` as sorted unique 1-based steps (an int: 1..fh; None stays None); clear errors."""
    if fh is None:
        return None
    if isinstance(fh, (Integral, np.integer)) and not isinstance(fh, bool):
        if fh < 1:
            raise ValueError(f"fh must be an integer >= 1 or a list of steps >= 1; got {fh!r}.")
        return np.arange(1, int(fh) + 1)
    steps = np.asarray(fh)
    if steps.ndim != 1 or steps.size == 0 or steps.dtype.kind not in "iu" or steps.min() < 1:
        raise ValueError(f"fh must be an integer >= 1 or a list of 1-based steps; got {fh!r}.")
    return np.unique(steps)


def calibrate_intervals(out, y, quantiles):
    """Conformalised quantile intervals (Romano et al. 2019) on held-out windows.

    For each symmetric pair of levels ``(q, 1 - q)``, the score of a value is
    how far it lies outside the pair's interval (negative inside); the
    adjustment of each step is the ``ceil((n + 1) c) / n`` quantile of the
    scores (``c = 1 - 2q``), so that the widened (or narrowed) interval
    covers the held-out values at the nominal rate.

    Parameters
    ----------
    out : ndarray of shape (n, steps, 1 + n_quantiles)
        Point forecast and sorted quantiles, on the scaled axis.
    y : ndarray of shape (n, steps)
    quantiles : tuple of float

    Returns
    -------
    adjust : dict
        Coverage -> (steps,) array added to the upper and subtracted from the lower bound.
    coverage : dict
        Coverage -> the held-out coverage before and after, and the number of windows.
    """
    adjust, coverage = {}, {}
    n = out.shape[0]
    for j, lo in enumerate(quantiles):
        k = next((i for i, v in enumerate(quantiles) if abs(v - (1.0 - lo)) < 1e-9), None)
        if lo >= 0.5 or k is None:
            continue
        c = round(1.0 - 2 * lo, 10)
        err = np.maximum(out[:, :, 1 + j] - y, y - out[:, :, 1 + k])  # (n, steps)
        adjust[c] = np.quantile(err, min(1.0, np.ceil((n + 1) * c) / n), axis=0, method="higher")
        coverage[c] = {"held_out_before": float((err <= 0).mean()),
                       "held_out_after": float((err <= adjust[c][None, :]).mean()), "n_windows": n}
    return adjust, coverage
