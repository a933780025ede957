"""Forecasting the monthly airline passengers (1949-1960) two years ahead.

The LSTM models the yearly growth ``log y_t - log y_{t-12}``; we compare a
direct 24-step forecast (multi-output regression), a recursive one-step
forecast, and the seasonal naive forecast (same month last year), and show
time-series cross-validation.

    python examples/airline_forecast.py
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import TimeSeriesSplit, cross_val_score

from sklstm import LSTMRegressor
from sklstm.datasets import load_airline
from sklstm.forecasting import forecast, make_windows

warnings.simplefilter("ignore", ConvergenceWarning)

log_y = np.log(load_airline())
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
