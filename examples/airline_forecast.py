"""Forecasting the monthly airline passengers (1949-1960): LSTMForecaster and two recipes by hand.

1. ``LSTMForecaster`` (the forecaster of ``sklstm.forecasting``): logs, the
   M4 deseasonalisation, windows scaled by their own level, a 90% interval
   from its quantile head; evaluated over three rolling forecast origins
   against seasonal naive baselines, and drawn with ``ForecastDisplay``
   (``airline_forecast.png`` when matplotlib is installed).
2. ``LSTMRegressor`` on windows of the yearly growth ``log y_t - log y_{t-12}``:
   a direct 24-step forecast and a recursive one, with time-series
   cross-validation.

    python examples/airline_forecast.py
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import TimeSeriesSplit, cross_val_score

from sklstm import LSTMRegressor
from sklstm.datasets import load_airline
from sklstm.forecasting import LSTMForecaster, forecast, make_windows

warnings.simplefilter("ignore", ConvergenceWarning)
y = load_airline()


def smape(f, t):
    return np.mean(200 * np.abs(f - t) / (np.abs(f) + np.abs(t)))


# 1. the forecaster over rolling origins, 12 months ahead each
scores = {"LSTMForecaster": [], "seasonal naive": []}
for origin in (96, 108, 120):
    model = LSTMForecaster(horizon=12, seasonal_period=12, window=24, log=True, deseasonalize=True,
                           hidden_layer_sizes=32, learning_rate_init=0.01, max_iter=200, random_state=0)
    model.fit(y[:origin])
    truth = y[origin:origin + 12]
    scores["LSTMForecaster"].append(smape(model.predict(fh=12), truth))
    scores["seasonal naive"].append(smape(y[origin - 12:origin], truth))
for name, s in scores.items():
    print(f"{name:15s} mean sMAPE over origins 96, 108, 120: {np.mean(s):5.2f}")
interval = model.predict_interval(fh=12, coverage=0.9)
print("1959 forecast with 90% interval:", np.round(model.predict(fh=12)).astype(int).tolist())
print("lower:", np.round(interval[:, 0]).astype(int).tolist())
print("upper:", np.round(interval[:, 1]).astype(int).tolist())
try:
    import matplotlib

    matplotlib.use("Agg")
    from sklstm.inspection import ForecastDisplay

    ForecastDisplay.from_estimator(model, y_true=y[120:132]).figure_.savefig("airline_forecast.png")
    print("figure: airline_forecast.png")
except ImportError:
    pass

# 2. by hand: an LSTMRegressor on windows of the yearly growth of the logs
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


params = dict(hidden_layer_sizes=(8,), learning_rate_init=0.01, batch_size=16, max_iter=200, random_state=0)
X24, y24 = make_windows(z, window=12, horizon=24)
direct = LSTMRegressor(**params).fit(X24, y24)
X1, y1 = make_windows(z, window=12)
one_step = LSTMRegressor(**params).fit(X1, y1)

print(f"direct 24-step forecast RMSE:    {rmse(to_passengers(direct.predict(z[None, -12:, None])[0])):6.1f}")
print(f"recursive forecast RMSE:         {rmse(to_passengers(forecast(one_step, z, 24, window=12))):6.1f}")
print(f"seasonal naive RMSE:             {rmse(np.exp(np.concatenate([train[-12:], train[-12:]]))):6.1f}")
scores = cross_val_score(LSTMRegressor(**params), X1, y1, cv=TimeSeriesSplit(4),
                         scoring="neg_root_mean_squared_error")
print("TimeSeriesSplit RMSE of one-step growth forecasts (standardised):", np.round(-scores, 2))
