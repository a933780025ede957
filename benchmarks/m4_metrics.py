"""Accuracy measures and classical benchmarks of the M4 competition, in NumPy/SciPy.

The conventions are those of the M4 competition's R code
(``Benchmarks and Evaluation.R`` of the M4-methods repository):

- sMAPE = mean of ``200 * |y - f| / (|y| + |f|)``, over every horizon step
  of every series;
- MASE = mean of ``|y - f| / s``, where ``s`` is the in-sample mean absolute
  error of the seasonal naive forecast of period ``m`` (``m = 12`` monthly);
- OWA = ``0.5 * (sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2)`` on the totals
  (the means over all series), not averaged per series;
- MSIS = mean scaled interval score of a central ``1 - alpha`` interval,
  scaled like MASE.

The benchmarks deseasonalise with a classical multiplicative decomposition
(R's ``decompose``: centred moving average, seasonal indices averaged per
position from the start of the series and normalised to mean 1) when the
series passes M4's seasonality test (the 90% autocorrelation test of R's
``SeasonalityTest``: the lag-``m`` autocorrelation exceeds
``1.645 * sqrt((1 + 2 * sum_{k<m} r_k^2) / n)``, series of at least ``3 m``
values only). The forecasts of the deseasonalised series are multiplied by
the seasonal indices of the matching positions.

Only NumPy and SciPy are needed: SES is fitted here (smoothing parameter
and initial level by least squares, as R's ``ses``), so the metrics and the
baselines run without statsmodels.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.signal import lfilter

__all__ = [
    "smape", "mase_scale", "mase", "msis", "owa", "interval_coverage",
    "acf", "seasonality_test", "seasonal_indices", "deseasonalize",
    "naive", "seasonal_naive", "naive2", "ses", "ses_forecast", "theta_classic",
    "M4Baselines",
]


def _flat(a):
    return np.asarray(a, dtype=np.float64).reshape(-1)


# ---------------------------------------------------------------- accuracy


def smape(y, f):
    """Symmetric MAPE of the M4 competition, in percent (0 to 200).

    Parameters
    ----------
    y : array-like
        Actual values (any shape; flattened).
    f : array-like
        Forecasts, the same number of values as ``y``.

    Returns
    -------
    float
        ``mean(200 * |y - f| / (|y| + |f|))``. A step where both ``y`` and
        ``f`` are 0 counts as 0.

    Examples
    --------
    >>> smape([100.0, 100.0], [110.0, 90.0])  # doctest: +ELLIPSIS
    10.0...
    """
    y, f = _flat(y), _flat(f)
    if y.shape != f.shape:
        raise ValueError(f"y and f differ in size: {y.size} and {f.size}")
    den = np.abs(y) + np.abs(f)
    err = np.divide(200.0 * np.abs(y - f), den, out=np.zeros_like(den), where=den > 0)
    return float(err.mean())


def mase_scale(insample, m=1):
    """In-sample mean absolute error of the seasonal naive forecast: MASE's denominator.

    Parameters
    ----------
    insample : array-like of shape (n,)
        The training series.
    m : int, default=1
        Seasonal period (12 for monthly data in M4; 1 gives the naive scale).

    Returns
    -------
    float
        ``mean(|x[t] - x[t - m]|)`` over ``t = m, ..., n - 1``.
    """
    x = _flat(insample)
    if x.size <= m:
        raise ValueError(f"the series needs more than m={m} values, got {x.size}")
    return float(np.mean(np.abs(x[m:] - x[:-m])))


def mase(insample, y, f, m=1):
    """Mean absolute scaled error of one series (M4: scaled by the seasonal naive's in-sample MAE).

    Parameters
    ----------
    insample : array-like of shape (n,)
        The training series.
    y : array-like of shape (h,)
        Actual future values.
    f : array-like of shape (h,)
        Forecasts.
    m : int, default=1
        Seasonal period of the scale.

    Returns
    -------
    float
        ``mean(|y - f|) / mase_scale(insample, m)``.
    """
    y, f = _flat(y), _flat(f)
    return float(np.mean(np.abs(y - f)) / mase_scale(insample, m))


def msis(insample, y, lower, upper, m=1, alpha=0.05):
    """Mean scaled interval score of a central ``1 - alpha`` interval (M4's MSIS).

    Parameters
    ----------
    insample : array-like of shape (n,)
        The training series.
    y : array-like of shape (h,)
        Actual future values.
    lower, upper : array-like of shape (h,)
        Interval bounds.
    m : int, default=1
        Seasonal period of the scale.
    alpha : float, default=0.05
        One minus the nominal coverage (M4 used 0.05).

    Returns
    -------
    float
        ``mean((u - l) + 2/alpha * (l - y) * [y < l] + 2/alpha * (y - u) * [y > u]) / scale``.
    """
    y, lo, up = _flat(y), _flat(lower), _flat(upper)
    score = (up - lo) + 2.0 / alpha * ((lo - y) * (y < lo) + (y - up) * (y > up))
    return float(np.mean(score) / mase_scale(insample, m))


def owa(smape_total, mase_total, smape_naive2, mase_naive2):
    """Overall weighted average of the M4 competition, from the totals.

    Parameters
    ----------
    smape_total, mase_total : float
        The method's sMAPE and MASE over the whole set.
    smape_naive2, mase_naive2 : float
        Naive2's sMAPE and MASE over the same set.

    Returns
    -------
    float
        ``0.5 * (smape_total / smape_naive2 + mase_total / mase_naive2)``;
        Naive2 itself scores 1.

    Examples
    --------
    >>> owa(12.0, 0.9, 15.0, 1.0)  # doctest: +ELLIPSIS
    0.85...
    """
    return 0.5 * (smape_total / smape_naive2 + mase_total / mase_naive2)


def interval_coverage(y, lower, upper):
    """Share of actual values inside their intervals (bounds included).

    Parameters
    ----------
    y, lower, upper : array-like
        Actual values and interval bounds (flattened).

    Returns
    -------
    float
        Fraction in ``[0, 1]``.
    """
    y, lo, up = _flat(y), _flat(lower), _flat(upper)
    return float(np.mean((y >= lo) & (y <= up)))


# ---------------------------------------------------------------- seasonality


def acf(x, k):
    """Sample autocorrelation at lag ``k`` (R's ``acf``: full-sample mean and variance).

    Parameters
    ----------
    x : array-like of shape (n,)
        The series.
    k : int
        Lag, ``0 <= k < n``.

    Returns
    -------
    float
        ``sum_t (x[t] - mean)(x[t + k] - mean) / sum_t (x[t] - mean)^2``.
    """
    x = _flat(x)
    d = x - x.mean()
    den = float(d @ d)
    if den == 0.0:
        return 0.0
    return float(d[k:] @ d[:x.size - k]) / den


def seasonality_test(x, m, tcrit=1.645):
    """M4's seasonality test: the lag-``m`` autocorrelation against its 90% limit.

    Parameters
    ----------
    x : array-like of shape (n,)
        The series.
    m : int
        Seasonal period. ``m <= 1`` is never seasonal.
    tcrit : float, default=1.645
        Critical value (1.645: the 90% two-sided normal quantile).

    Returns
    -------
    bool
        ``|r_m| > tcrit * sqrt((1 + 2 * sum_{k=1}^{m-1} r_k^2) / n)``; False
        for series shorter than ``3 m`` (as in M4's ``SeasonalityTest``).
    """
    x = _flat(x)
    if m <= 1 or x.size < 3 * m:
        return False
    r = np.array([acf(x, k) for k in range(1, m + 1)])
    limit = tcrit * np.sqrt((1.0 + 2.0 * np.sum(r[:-1] ** 2)) / x.size)
    return bool(abs(r[-1]) > limit)


def seasonal_indices(x, m):
    """Multiplicative seasonal indices of a classical decomposition (R's ``decompose``).

    Parameters
    ----------
    x : array-like of shape (n,)
        A positive series of at least ``2 m`` values.
    m : int
        Seasonal period (> 1).

    Returns
    -------
    ndarray of shape (m,)
        Index ``j`` belongs to the positions ``j, j + m, j + 2m, ...`` counted
        from the start of the series; the indices average to 1.
    """
    x = _flat(x)
    n = x.size
    if m < 2 or n < 2 * m:
        raise ValueError(f"need m >= 2 and at least 2*m values, got m={m}, n={n}")
    if m % 2 == 0:
        w = np.r_[0.5, np.ones(m - 1), 0.5] / m
    else:
        w = np.ones(m) / m
    half = w.size // 2
    trend = np.full(n, np.nan)
    trend[half:n - half] = np.convolve(x, w, mode="valid")
    ratio = x / trend
    figure = np.array([np.nanmean(ratio[j::m]) for j in range(m)])
    return figure / figure.mean()


def deseasonalize(x, m, h=0, test=True):
    """Deseasonalise a series as M4's benchmarks do, and the indices of the next ``h`` steps.

    Parameters
    ----------
    x : array-like of shape (n,)
        A positive series.
    m : int
        Seasonal period.
    h : int, default=0
        Forecast horizon whose seasonal indices to return.
    test : bool, default=True
        Apply :func:`seasonality_test` first; a series that fails it (or
        ``m <= 1``) keeps indices of 1. False always decomposes (``m > 1``).

    Returns
    -------
    xd : ndarray of shape (n,)
        ``x`` divided by its seasonal indices.
    si_in : ndarray of shape (n,)
        The indices of the sample.
    si_out : ndarray of shape (h,)
        The indices of steps ``n, ..., n + h - 1``: multiply a forecast of
        ``xd`` by them.
    """
    x = _flat(x)
    n = x.size
    seasonal = m > 1 and (seasonality_test(x, m) if test else n >= 2 * m)
    if not seasonal:
        return x.copy(), np.ones(n), np.ones(h)
    fig = seasonal_indices(x, m)
    si_in = fig[np.arange(n) % m]
    si_out = fig[(n + np.arange(h)) % m]
    return x / si_in, si_in, si_out


# ---------------------------------------------------------------- benchmarks


def naive(x, h):
    """Naive forecast: the last value, ``h`` times.

    Parameters
    ----------
    x : array-like of shape (n,)
        The series.
    h : int
        Horizon.

    Returns
    -------
    ndarray of shape (h,)
    """
    return np.full(h, _flat(x)[-1])


def seasonal_naive(x, h, m):
    """Seasonal naive forecast: the value one period before, repeated.

    Parameters
    ----------
    x : array-like of shape (n,)
        The series, at least ``m`` values.
    h : int
        Horizon.
    m : int
        Seasonal period.

    Returns
    -------
    ndarray of shape (h,)
        ``f[k] = x[n - m + (k mod m)]``.
    """
    x = _flat(x)
    return x[x.size - m + np.arange(h) % m]


def naive2(x, h, m):
    """Naive2: the naive forecast of the deseasonalised series, reseasonalised (M4's benchmark).

    Parameters
    ----------
    x : array-like of shape (n,)
        A positive series.
    h : int
        Horizon.
    m : int
        Seasonal period.

    Returns
    -------
    ndarray of shape (h,)
    """
    xd, _, si_out = deseasonalize(x, m, h)
    return naive(xd, h) * si_out


def ses(x, bounds=(1e-4, 0.9999)):
    """Fit simple exponential smoothing by least squares of the one-step errors.

    The smoothing parameter is searched in ``bounds`` (those of R's ``ets``);
    for each value the initial level that minimises the sum of squared
    one-step errors is exact (the errors are linear in it).

    Parameters
    ----------
    x : array-like of shape (n,)
        The series (n >= 2).
    bounds : tuple of float, default=(1e-4, 0.9999)
        Range of the smoothing parameter.

    Returns
    -------
    alpha : float
        Smoothing parameter.
    level0 : float
        Initial level (the forecast of ``x[0]``).
    level : float
        Final level: the forecast of every future step.
    sse : float
        Sum of squared one-step errors.
    """
    x = _flat(x)
    n = x.size

    def solve(a):
        z = lfilter([a], [1.0, a - 1.0], x)          # level with an initial level of 0
        prev = np.r_[0.0, z[:-1]]                     # one-step forecasts of x[0..n-1]
        w = (1.0 - a) ** np.arange(n)                 # weight of the initial level in them
        r = x - prev
        l0 = float(r @ w) / float(w @ w)
        e = r - l0 * w
        return float(e @ e), l0, float(z[-1] + (1.0 - a) ** n * l0)

    res = minimize_scalar(lambda a: solve(a)[0], bounds=bounds, method="bounded",
                          options={"xatol": 1e-6})
    best = (float(res.x),) + solve(res.x)
    # the bounded search can miss an optimum at an end of the range
    for a in bounds:
        cand = (float(a),) + solve(a)
        if cand[1] < best[1]:
            best = cand
    alpha, sse, l0, level = best
    return alpha, l0, level, sse


def ses_forecast(x, h):
    """SES forecast of ``h`` steps (flat at the final level).

    Parameters
    ----------
    x : array-like of shape (n,)
        The series.
    h : int
        Horizon.

    Returns
    -------
    ndarray of shape (h,)
    """
    return np.full(h, ses(x)[2])


def theta_classic(x, h):
    """M4's classical Theta method (``Theta.classic`` of the M4 R code), without deseasonalisation.

    The average of the linear trend's extrapolation (theta line 0) and the
    SES forecast of the theta line 2, ``2 x - trend``.

    Parameters
    ----------
    x : array-like of shape (n,)
        The (deseasonalised) series.
    h : int
        Horizon.

    Returns
    -------
    ndarray of shape (h,)
    """
    x = _flat(x)
    n = x.size
    t = np.arange(1, n + 1, dtype=np.float64)
    slope, intercept = np.polyfit(t, x, 1)
    line0_in = intercept + slope * t
    line0_out = intercept + slope * np.arange(n + 1, n + h + 1, dtype=np.float64)
    line2_out = ses_forecast(2.0 * x - line0_in, h)
    return 0.5 * line2_out + 0.5 * line0_out


class M4Baselines:
    """The M4 benchmarks of one series, sharing one deseasonalisation.

    Parameters
    ----------
    x : array-like of shape (n,)
        A positive training series.
    h : int
        Horizon.
    m : int
        Seasonal period.

    Attributes
    ----------
    seasonal_ : bool
        Whether the series passed the seasonality test.
    xd_ : ndarray of shape (n,)
        Deseasonalised series.
    si_out_ : ndarray of shape (h,)
        Seasonal indices of the forecast steps.
    """

    def __init__(self, x, h, m):
        self.x = _flat(x)
        self.h, self.m = int(h), int(m)
        self.seasonal_ = self.m > 1 and seasonality_test(self.x, self.m)
        self.xd_, _, self.si_out_ = deseasonalize(self.x, self.m, self.h)

    def naive2(self):
        """Naive2 forecast (see :func:`naive2`).

        Returns
        -------
        ndarray of shape (h,)
        """
        return naive(self.xd_, self.h) * self.si_out_

    def seasonal_naive(self):
        """Seasonal naive forecast (see :func:`seasonal_naive`).

        Returns
        -------
        ndarray of shape (h,)
        """
        return seasonal_naive(self.x, self.h, self.m)

    def ses(self):
        """SES of the deseasonalised series, reseasonalised (M4's "SES").

        Returns
        -------
        ndarray of shape (h,)
        """
        return ses_forecast(self.xd_, self.h) * self.si_out_

    def theta(self):
        """Classical Theta of the deseasonalised series, reseasonalised (M4's "Theta").

        Returns
        -------
        ndarray of shape (h,)
        """
        return theta_classic(self.xd_, self.h) * self.si_out_
