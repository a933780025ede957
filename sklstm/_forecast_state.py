"""Saving and restoring a fitted :class:`sklstm.forecasting.LSTMForecaster` (for :mod:`sklstm.persistence`).

Plain values and arrays only; on load every type and shape is checked
against the network before any attribute is set, so a malformed or hostile
file is refused with a ``ValueError`` and never half-loaded.
"""

from __future__ import annotations

import numpy as np

from ._losses import PinballLoss
from ._spec import NetworkSpec
from ._state import LOOP_SCHEMA, _restore_optimizer, check_loop_attributes, loop_attributes, restore_rng

__all__ = ["persistent_state", "restore_state"]

_KEYS = {"spec", "coefs_flat_", "optimizer", "rng", "y_", "X_", "seasonal_indices_", "single", "adjust",
         "coverage", "other_models"}


def persistent_state(est) -> dict:
    """The fitted state of ``est`` as plain values and arrays ({} when unfitted)."""
    if not hasattr(est, "coefs_flat_"):
        return {}
    out = {"spec": est._spec.to_dict(), "coefs_flat_": est.coefs_flat_,
           "optimizer": {"kind": est._optimizer.solver, "state": est._optimizer.state()},
           "rng": est._rng.bit_generator.state, "y_": list(est.y_),
           "X_": None if est.X_ is None else list(est.X_),
           "seasonal_indices_": None if est.seasonal_indices_ is None else list(est.seasonal_indices_),
           "single": bool(est._single), "other_models": list(getattr(est, "_models", [None])[1:]),
           "adjust": {repr(k): v for k, v in est._interval_adjust.items()},
           "coverage": None if est.interval_coverage_ is None else
           {repr(k): v for k, v in est.interval_coverage_.items()}}
    out.update(loop_attributes(est))
    return out


def _arrays(items, what, ndim, n=None):
    if not isinstance(items, list) or not items or (n is not None and len(items) != n):
        raise ValueError(f"{what} must be a list of one array per series")
    for a in items:
        if not isinstance(a, np.ndarray) or a.ndim != ndim or a.dtype != np.float64 \
                or not np.isfinite(a).all():
            raise ValueError(f"{what} holds something else than finite float64 arrays of {ndim} dimension(s)")
    return items


def restore_state(est, state) -> None:
    """Inverse of :func:`persistent_state`, checking everything before setting anything."""
    if not state:
        return
    if not _KEYS <= set(state) or set(state) - _KEYS - set(LOOP_SCHEMA):
        raise ValueError("unexpected forecaster state")
    spec = NetworkSpec.from_dict(state["spec"])
    flat = state["coefs_flat_"]
    if not isinstance(flat, np.ndarray) or flat.dtype not in (np.float32, np.float64) \
            or flat.shape != (spec.n_params,) or not np.isfinite(flat).all():
        raise ValueError("coefs_flat_ does not match the network")
    steps = est._step_count()
    q = est._quantiles()
    if spec.n_outputs != steps * (1 + len(q)) or spec.bidirectional or spec.vocab_size:
        raise ValueError("the network does not match this forecaster's horizon, strategy and quantiles")
    others = state["other_models"]
    if not isinstance(others, list) or len(others) != est.n_models - 1 or not all(
            isinstance(m, np.ndarray) and m.dtype == flat.dtype and m.shape == flat.shape
            and np.isfinite(m).all() for m in others):
        raise ValueError("the other models do not match n_models or the network")
    series = _arrays(state["y_"], "y_", 1)
    cov = None if state["X_"] is None else _arrays(state["X_"], "X_", 2, len(series))
    n_cov = 0 if cov is None else cov[0].shape[1]
    if spec.n_features != (1 if cov is None else 2 + n_cov) or (cov is not None and any(
            c.shape != (s.size, n_cov) for c, s in zip(cov, series))):
        raise ValueError("the covariates do not match the network or the series")
    seasonal = state["seasonal_indices_"]
    if seasonal is not None:
        _arrays(seasonal, "seasonal_indices_", 1, len(series))
        if est.seasonal_period is None or any(a.size != est.seasonal_period for a in seasonal):
            raise ValueError("seasonal_indices_ do not match seasonal_period")
    if not isinstance(state["single"], bool) or (state["single"] and len(series) != 1):
        raise ValueError("bad single-series flag")
    adjust, coverage = {}, None
    if not isinstance(state["adjust"], dict):
        raise ValueError("bad interval adjustments")
    for k, v in state["adjust"].items():
        try:
            c = float(k)
        except ValueError:
            raise ValueError("bad interval adjustments") from None
        if not isinstance(v, np.ndarray) or v.shape != (steps,) or not np.isfinite(v).all():
            raise ValueError("bad interval adjustments")
        adjust[c] = v
    if state["coverage"] is not None:
        if not isinstance(state["coverage"], dict):
            raise ValueError("bad interval coverage")
        coverage = {}
        for k, v in state["coverage"].items():
            if not isinstance(v, dict) or not all(isinstance(x, (int, float)) for x in v.values()):
                raise ValueError("bad interval coverage")
            coverage[float(k)] = v
    check_loop_attributes(state, flat)
    optimizer = _restore_optimizer(est._solver_params(), state["optimizer"], spec.n_params,
                                   flat.dtype)
    rng = restore_rng(state["rng"])
    for k in LOOP_SCHEMA:
        if k in state:
            setattr(est, k, state[k])
    est._spec, est.coefs_flat_, est._optimizer, est._rng = spec, flat, optimizer, rng
    est._models = [flat] + others
    est._loss_fn = PinballLoss(steps, q)
    est.y_, est.X_, est.seasonal_indices_, est._single = series, cov, seasonal, state["single"]
    est.n_series_, est.n_covariates_ = len(series), n_cov
    est._interval_adjust, est.interval_coverage_ = adjust, coverage
    est._fitted_params = est._structure()
