"""Forecast accuracy on the airline series over rolling origins: LSTMForecaster against classical models.

The series is ``sklstm.datasets.load_airline()`` (144 monthly values,
1949-1960, bundled). From each forecast origin (by default 96, 108 and 120
months of history) every method forecasts the next ``h`` months (12 and 24
by default) from the history alone:

- seasonal naive: the value one year before;
- seasonal naive with growth (on logs): the value one year before times
  ``exp(g)`` per year ahead, ``g`` the mean yearly log growth of the history
  (``mean(log y[t] - log y[t - 12])``);
- Holt-Winters: statsmodels ``ExponentialSmoothing`` with an additive trend
  and multiplicative seasonality (parameters and initial states estimated),
  90% intervals from 2,000 simulated paths with multiplicative errors;
- airline ARIMA: statsmodels ``SARIMAX`` (0,1,1)x(0,1,1,12) of the logs,
  forecasts and 90% intervals transformed back with ``exp`` (the median);
- the LSTM: ``sklstm.forecasting.LSTMForecaster`` fitted on the history
  alone (``--forecaster`` names another ``module:Class`` of the same API),
  run by :func:`lstm_forecasts`; ``--seeds`` averages one model per seed.

Measures follow ``benchmarks/m4_metrics.py``: sMAPE, MASE (scaled by the
history's in-sample seasonal naive MAE, m = 12), and the empirical coverage
of the 90% intervals, pooled over origins and steps.

    python benchmarks/bench_airline.py --no-lstm
    python benchmarks/bench_airline.py --hidden 32 --window 24 --max-iter 200 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import m4_metrics as mm
from _common import table
from bench_m3 import _fmt, _forecaster_class

M = 12


def snaive_growth(x, h, m=M):
    """Seasonal naive with the mean yearly growth, on logs.

    Parameters
    ----------
    x : ndarray of shape (n,)
        Positive history, at least ``m + 1`` values.
    h : int
        Horizon.
    m : int, default=12
        Seasonal period.

    Returns
    -------
    ndarray of shape (h,)
        ``x[n - m + k % m] * exp(g * (k // m + 1))`` for step ``k = 0, ..., h - 1``.
    """
    lx = np.log(x)
    g = float(np.mean(lx[m:] - lx[:-m]))
    k = np.arange(h)
    return np.exp(lx[lx.size - m + k % m] + g * (k // m + 1))


def holt_winters(x, h, m=M, coverage=0.9, seed=0):
    """Holt-Winters, additive trend and multiplicative seasonality (statsmodels).

    Parameters
    ----------
    x : ndarray of shape (n,)
        Positive history.
    h : int
        Horizon.
    m : int, default=12
        Seasonal period.
    coverage : float, default=0.9
        Nominal coverage of the interval.
    seed : int, default=0
        Seed of the simulated paths.

    Returns
    -------
    forecast : ndarray of shape (h,)
    interval : ndarray of shape (h, 2)
        Quantiles of 2,000 simulated paths (multiplicative errors).
    """
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ExponentialSmoothing(x, trend="add", seasonal="mul", seasonal_periods=m,
                                   initialization_method="estimated").fit()
        sims = np.asarray(res.simulate(h, repetitions=2000, error="mul", anchor="end", random_state=seed))
    q = (1.0 - coverage) / 2
    return np.asarray(res.forecast(h)), np.quantile(sims, [q, 1.0 - q], axis=1).T


def airline_arima(x, h, m=M, coverage=0.9):
    """SARIMAX (0,1,1)x(0,1,1,m) of ``log(x)`` (statsmodels), back-transformed with ``exp``.

    Parameters
    ----------
    x : ndarray of shape (n,)
        Positive history.
    h : int
        Horizon.
    m : int, default=12
        Seasonal period.
    coverage : float, default=0.9
        Nominal coverage of the interval.

    Returns
    -------
    forecast : ndarray of shape (h,)
    interval : ndarray of shape (h, 2)
    """
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = SARIMAX(np.log(x), order=(0, 1, 1), seasonal_order=(0, 1, 1, m)).fit(disp=False)
        fc = res.get_forecast(h)
    return np.exp(np.asarray(fc.predicted_mean)), np.exp(np.asarray(fc.conf_int(alpha=1.0 - coverage)))


def lstm_params(args, h):
    """Keyword arguments of the forecaster from the command line.

    Parameters
    ----------
    args : argparse.Namespace
        The command line.
    h : int
        Horizon.

    Returns
    -------
    dict
    """
    params = dict(
        horizon=h, seasonal_period=M, window=args.window, deseasonalize=args.deseasonalize,
        log=args.log, scaling=True, hidden_layer_sizes=tuple(args.hidden), max_iter=args.max_iter,
        early_stopping=args.early_stopping,
    )
    for kv in args.param:
        k, _, v = kv.partition("=")
        try:
            params[k] = eval(v, {}, {})  # numbers, tuples, True/False/None from the command line
        except Exception:
            params[k] = v
    return params


def lstm_forecasts(history, h, args, coverage=0.9):
    """Fit the LSTM forecaster on one history and forecast ``h`` steps; seeds averaged.

    Parameters
    ----------
    history : ndarray of shape (n,)
        The series up to the forecast origin.
    h : int
        Horizon.
    args : argparse.Namespace
        The command line (``forecaster``, ``seeds`` and the options of :func:`lstm_params`).
    coverage : float, default=0.9
        Nominal coverage of the intervals.

    Returns
    -------
    forecast : ndarray of shape (h,)
    interval : ndarray of shape (h, 2)
        Lower and upper bounds, each averaged over the seeds.
    """
    cls = _forecaster_class(args.forecaster)
    params = lstm_params(args, h)
    point, iv = [], []
    for seed in args.seeds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = cls(random_state=seed, **params).fit([history])
        point.append(np.asarray(model.predict(fh=h)[0], dtype=np.float64).reshape(h))
        pi = model.predict_interval(fh=h, coverage=coverage)[0]
        iv.append(np.asarray(pi, dtype=np.float64).reshape(h, 2))
    return np.mean(point, axis=0), np.mean(iv, axis=0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--origins", type=int, nargs="+", default=[96, 108, 120], help="months of history")
    ap.add_argument("--horizons", type=int, nargs="+", default=[12, 24])
    ap.add_argument("--no-lstm", action="store_true", help="the classical methods only")
    ap.add_argument("--forecaster", default="sklstm.forecasting:LSTMForecaster", help="module:Class")
    ap.add_argument("--hidden", type=int, nargs="+", default=[32], help="hidden_layer_sizes")
    ap.add_argument("--window", type=int, default=24)
    ap.add_argument("--max-iter", type=int, default=200)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="one model per seed, averaged")
    ap.add_argument("--deseasonalize", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--log", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--early-stopping", action=argparse.BooleanOptionalAction, default=False)
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help="any other parameter of the forecaster (repeatable)")
    ap.add_argument("--threads", type=int, default=None, help="numba threads (default: numba's)")
    args = ap.parse_args()
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
    except ImportError:
        pass
    if args.threads is not None:
        import numba

        numba.set_num_threads(args.threads)

    from sklstm.datasets import load_airline

    y = load_airline()
    methods = {
        "Seasonal naive": lambda x, h: (mm.seasonal_naive(x, h, M), None),
        "Seasonal naive + growth (logs)": lambda x, h: (snaive_growth(x, h), None),
        "Holt-Winters (mul)": holt_winters,
        "Airline ARIMA (logs)": airline_arima,
    }
    if not args.no_lstm:
        label = "LSTM" + (f" x{len(args.seeds)} seeds" if len(args.seeds) > 1 else "")
        methods[label] = lambda x, h: lstm_forecasts(x, h, args)
        shown = {k: v for k, v in lstm_params(args, 0).items() if k != "horizon"}
        print(f"LSTM: {args.forecaster}(horizon=h, {shown}), seeds {args.seeds}", flush=True)

    for h in args.horizons:
        origins = [o for o in args.origins if o + h <= y.size]
        print(f"\n# airline, horizon {h}, origins {origins} (months of history)")
        rows = []
        for name, fn in methods.items():
            sm, ma, ys, los, ups, sec = [], [], [], [], [], 0.0
            for o in origins:
                x, test = y[:o], y[o:o + h]
                t0 = time.perf_counter()
                f, iv = fn(x, h)
                sec += time.perf_counter() - t0
                sm.append(mm.smape(test, f))
                ma.append(mm.mase(x, test, f, M))
                if iv is not None:
                    ys.append(test)
                    los.append(iv[:, 0])
                    ups.append(iv[:, 1])
            row = {f"sMAPE @{o}": f"{s:.2f}" for o, s in zip(origins, sm)}
            cover = mm.interval_coverage(np.concatenate(ys), np.concatenate(los), np.concatenate(ups)) \
                if ys else float("nan")
            row.update({"method": name, "mean sMAPE": f"{np.mean(sm):.2f}", "mean MASE": f"{np.mean(ma):.3f}",
                        "90% cover": _fmt(cover, ".2f"), "fit s": f"{sec:.1f}"})
            rows.append(row)
        table(rows, ["method"] + [f"sMAPE @{o}" for o in origins]
              + ["mean sMAPE", "mean MASE", "90% cover", "fit s"])


if __name__ == "__main__":
    main()
