"""Quantile forecasts and calibrated prediction intervals of :class:`sklstm.forecasting.LSTMForecaster`.

A mixin over the forecaster's pinball-loss head: :meth:`IntervalMixin.predict_quantiles`,
:meth:`IntervalMixin.predict_interval`, and the conformal calibration of each symmetric pair
of levels on the held-out windows (:func:`sklstm._forecast_data.calibrate_intervals`).
"""

from __future__ import annotations

import numpy as np

from ._forecast_data import calibrate_intervals, unscale

__all__ = ["IntervalMixin"]


class IntervalMixin:
    """``predict_quantiles``, ``predict_interval`` and ``_calibrate`` over a fitted forecaster."""

    def _calibrate(self, batch):
        """Conformalised intervals: widen (or narrow) each symmetric pair to its held-out coverage."""
        self._interval_adjust, self.interval_coverage_ = calibrate_intervals(
            self._outputs(batch.X, batch.lengths), batch.y, self._quantiles())

    # ------------------------------------------------------------------ predict
    def predict_quantiles(self, fh=None, alpha=None, y=None, X=None):
        """Quantile forecasts from the pinball-loss head, within the network's steps.

        The network's steps are the horizon (direct strategy) or one step
        (recursive); calibrated models (``early_stopping``) move each
        symmetric pair of levels as :meth:`predict_interval` moves its bounds.

        Parameters
        ----------
        fh : int, list of int or None, default=None
        alpha : float, list of float or None, default=None
            Levels among ``quantiles`` (None: all of them).
        y, X : as in :meth:`predict`

        Returns
        -------
        quantiles : ndarray of shape (n_steps, n_alpha), or a list of them
        """
        self._check_fitted()
        q = self._quantiles()
        if not q:
            raise ValueError("this model has no quantile head; fit it with quantiles=(0.05, 0.95) or others.")
        levels = q if alpha is None else tuple(float(a) for a in np.atleast_1d(alpha))
        missing = [a for a in levels if not any(abs(a - v) < 1e-12 for v in q)]
        if missing:
            raise ValueError(f"alpha {missing} not among the trained quantiles {q}.")
        cols = [1 + min(range(len(q)), key=lambda j: abs(q[j] - a)) for a in levels]
        # a calibrated symmetric pair moves its quantiles as predict_interval moves its bounds
        shift = [(-1 if a < 0.5 else 1) * self._interval_adjust.get(round(abs(1 - 2 * a), 10), 0.0)
                 for a in levels]
        steps, single, results = self._forecast(fh, y, X, quantile_mode=True)
        out = []
        for _, (o, level), start, seasonal in results:
            vals = np.stack([self._inverse(unscale(o[:, c] + d, level, self.log), seasonal, start)
                             for c, d in zip(cols, shift)], axis=1)
            order = np.argsort(levels, kind="stable")  # no crossing after the pairs' own shifts
            vals[:, order] = np.sort(vals[:, order], axis=1)
            out.append(vals[steps - 1])
        return out[0] if single else out

    def predict_interval(self, fh=None, coverage=0.9, y=None, X=None):
        """Prediction intervals from a symmetric pair of trained quantiles (calibrated with early stopping).

        Parameters
        ----------
        fh : int, list of int or None, default=None
        coverage : float, default=0.9
            Needs the quantiles ``(1 - coverage) / 2`` and ``(1 + coverage) / 2``.
        y, X : as in :meth:`predict`

        Returns
        -------
        intervals : ndarray of shape (n_steps, 2) (lower, upper), or a list of them
        """
        self._check_fitted()
        q = self._quantiles()
        lo, hi = (1 - coverage) / 2, (1 + coverage) / 2
        js = [next((j for j, v in enumerate(q) if abs(v - a) < 1e-9), None) for a in (lo, hi)]
        if None in js:
            raise ValueError(f"coverage={coverage} needs the quantiles {lo:g} and {hi:g}; the model has {q}.")
        adjust = self._interval_adjust.get(round(hi - lo, 10), 0.0)
        steps, single, results = self._forecast(fh, y, X, quantile_mode=True)
        out = []
        for _, (o, level), start, seasonal in results:
            lower = self._inverse(unscale(o[:, 1 + js[0]] - adjust, level, self.log), seasonal, start)
            upper = self._inverse(unscale(o[:, 1 + js[1]] + adjust, level, self.log), seasonal, start)
            out.append(np.stack([np.minimum(lower, upper), np.maximum(lower, upper)], axis=1)[steps - 1])
        return out[0] if single else out
