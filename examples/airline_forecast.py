"""
Forecasting the monthly airline passengers
==========================================

The airline passengers of 1949-1960, with ``LSTMForecaster`` and with two
recipes by hand.

1. ``LSTMForecaster`` (the forecaster of ``sklstm.forecasting``): logs, the
   M4 deseasonalisation, windows scaled by their own level, a 90% interval
   from its quantile head; evaluated over three rolling forecast origins
   against the seasonal naive forecast, and drawn against the truth with
   ``ForecastDisplay``.
2. ``LSTMRegressor`` on windows of the yearly growth ``log y_t - log y_{t-12}``:
   a direct 24-step forecast and a recursive one, with time-series
   cross-validation.

::

    python examples/airline_forecast.py
    python examples/airline_forecast.py --quick    # one origin, fewer epochs (or SKLSTM_EXAMPLES_QUICK=1)
"""

import os
import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import TimeSeriesSplit, cross_val_score

from sklstm import LSTMRegressor
from sklstm.datasets import load_airline
from sklstm.forecasting import LSTMForecaster, forecast, make_windows

try:
    import matplotlib.pyplot as plt

    from sklstm.inspection import ForecastDisplay
except ImportError:  # the figures are optional: without matplotlib the script prints its results
    plt = None

QUICK = "--quick" in sys.argv or os.environ.get("SKLSTM_EXAMPLES_QUICK", "0") not in ("", "0")
warnings.simplefilter("ignore", ConvergenceWarning)
y = load_airline()


def smape(f, t):
    return np.mean(200 * np.abs(f - t) / (np.abs(f) + np.abs(t)))


# %%
# LSTMForecaster over rolling origins
# -----------------------------------
# Each origin fits on the months before it and forecasts the next 12.
origins, epochs = ((120,), 60) if QUICK else ((96, 108, 120), 200)
scores = {"LSTMForecaster": [], "seasonal naive": []}
for origin in origins:
    model = LSTMForecaster(horizon=12, seasonal_period=12, window=24, log=True, deseasonalize=True,
                           hidden_layer_sizes=32, learning_rate_init=0.01, max_iter=epochs, random_state=0)
    model.fit(y[:origin])
    truth = y[origin:origin + 12]
    scores["LSTMForecaster"].append(smape(model.predict(fh=12), truth))
    scores["seasonal naive"].append(smape(y[origin - 12:origin], truth))
for name, s in scores.items():
    print(f"{name:15s} mean sMAPE over origins {', '.join(map(str, origins))}: {np.mean(s):5.2f}")

# %%
# The 1959 forecast and its 90% interval
# --------------------------------------
# From the last origin (month 120), against what happened.
interval = model.predict_interval(fh=12, coverage=0.9)
print("1959 forecast with 90% interval:", np.round(model.predict(fh=12)).astype(int).tolist())
print("lower:", np.round(interval[:, 0]).astype(int).tolist())
print("upper:", np.round(interval[:, 1]).astype(int).tolist())
if plt is not None:
    display = ForecastDisplay.from_estimator(model, y_true=y[120:132])
    display.ax_.set_ylabel("passengers (thousands)")
    display.ax_.set_xlabel("month since January 1949")

# %%
# By hand: an LSTMRegressor on windows of the yearly growth
# ---------------------------------------------------------
# The last 24 months are held out. A direct model writes all 24 growth
# values at once; a one-step model is rolled forward by ``forecast``.
log_y = np.log(y)
train, test = log_y[:-24], log_y[-24:]
growth = train[12:] - train[:-12]
mu, sd = growth.mean(), growth.std()
z = (growth - mu) / sd


def to_passengers(z_future):
    hist = list(train)
    for g in z_future * sd + mu:
        hist.append(hist[-12] + g)
    return np.exp(np.array(hist[-24:]))


def rmse(pred):
    return np.sqrt(np.mean((pred - np.exp(test)) ** 2))


params = dict(hidden_layer_sizes=(8,), learning_rate_init=0.01, batch_size=16, max_iter=50 if QUICK else 200,
              random_state=0)
X24, y24 = make_windows(z, window=12, horizon=24)
direct = LSTMRegressor(**params).fit(X24, y24)
X1, y1 = make_windows(z, window=12)
one_step = LSTMRegressor(**params).fit(X1, y1)

forecasts = {"direct": to_passengers(direct.predict(z[None, -12:, None])[0]),
             "recursive": to_passengers(forecast(one_step, z, 24, window=12)),
             "seasonal naive": np.exp(np.concatenate([train[-12:], train[-12:]]))}
print(f"direct 24-step forecast RMSE:    {rmse(forecasts['direct']):6.1f}")
print(f"recursive forecast RMSE:         {rmse(forecasts['recursive']):6.1f}")
print(f"seasonal naive RMSE:             {rmse(forecasts['seasonal naive']):6.1f}")
scores = cross_val_score(LSTMRegressor(**params), X1, y1, cv=TimeSeriesSplit(4),
                         scoring="neg_root_mean_squared_error")
print("TimeSeriesSplit RMSE of one-step growth forecasts (standardised):", np.round(-scores, 2))

if plt is not None:
    fig, ax = plt.subplots(figsize=(8, 4))
    months = np.arange(len(y))
    ax.plot(months[-60:], y[-60:], color="k", label="actual")
    for name, values in forecasts.items():
        ax.plot(months[-24:], values, label=f"{name} (RMSE {rmse(values):.1f})")
    ax.axvline(len(y) - 24.5, color="0.6", linestyle=":")
    ax.set_xlabel("month since January 1949")
    ax.set_ylabel("passengers (thousands)")
    ax.set_title("1959-1960 forecast from 1958: LSTMRegressor on the yearly growth")
    ax.legend()
    plt.show()
