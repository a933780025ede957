"""The persistence schema of a fitted recurrent estimator (used by :mod:`sklstm.persistence`).

:func:`persistent_state` turns a fitted estimator into plain values and
numpy arrays: the network description comes from :meth:`NetworkSpec.to_dict`,
the optimizer is saved under its solver name (:data:`sklstm._optimizers.SOLVERS`),
the random generator as its bit-generator state. :func:`restore_state`
checks every type, shape and value against the schema before any attribute
is set, so a malformed or hostile file is refused with a ``ValueError`` and
never half-loaded.
"""

from __future__ import annotations

import numpy as np

from ._losses import LOSSES
from ._spec import NetworkSpec
from ._optimizers import SOLVERS, make_optimizer

__all__ = ["SCHEMA", "LOOP_SCHEMA", "persistent_state", "restore_state", "restore_rng", "loop_attributes",
           "check_loop_attributes"]

#: attribute -> the type it must have on load
SCHEMA = {
    "n_features_in_": int, "feature_names_in_": np.ndarray, "coefs_flat_": np.ndarray,
    "loss_": float, "loss_curve_": list, "best_loss_": float, "validation_scores_": (list, type(None)),
    "best_validation_score_": (float, type(None)), "n_iter_": int, "t_": int, "n_outputs_": int,
    "classes_": np.ndarray, "_y_ndim": int, "_loss": str, "_no_improvement_count": int,
    "_best_coefs": (np.ndarray, type(None)), "_spec": dict, "_optimizer": dict, "_rng": dict,
    "diverged_": bool,
}
_REQUIRED = ("coefs_flat_", "_spec", "_optimizer", "_rng", "_loss", "n_outputs_", "n_features_in_")
#: files written before the solver registry named optimizers by class
_LEGACY_KINDS = {"AdamOptimizer": "adam", "SGDOptimizer": "sgd", "RMSpropOptimizer": "rmsprop"}


def persistent_state(est) -> dict:
    """Fitted state of ``est`` as plain values and arrays ({} when unfitted)."""
    if not hasattr(est, "coefs_flat_"):
        return {}
    out = {}
    for k in SCHEMA:
        if not hasattr(est, k):
            continue
        v = getattr(est, k)
        if k == "_spec":
            v = v.to_dict()
        elif k == "_optimizer":
            v = {"kind": v.solver, "state": v.state()}
        elif k == "_rng":
            v = v.bit_generator.state
        out[k] = v
    return out


def _check_types(state):
    unknown = set(state) - set(SCHEMA)
    if unknown:
        raise ValueError(f"unexpected attributes {sorted(unknown)}")
    for k, v in state.items():
        want = SCHEMA[k]
        if want is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if want is int and (isinstance(v, bool) or not isinstance(v, int)):
            raise ValueError(f"{k} must be an int")
        if not isinstance(v, want):
            raise ValueError(f"{k} has type {type(v).__name__}")
        state[k] = v
    for k in _REQUIRED:
        if k not in state:
            raise ValueError(f"missing {k}")


def _check_params(state, spec):
    flat = state["coefs_flat_"]
    dt = flat.dtype  # the fitted dtype (the dtype parameter may have been changed after fit)
    if dt not in (np.float32, np.float64) or flat.shape != (spec.n_params,):
        raise ValueError(f"coefs_flat_ has dtype {flat.dtype} and shape {flat.shape}; expected "
                         f"{dt} and ({spec.n_params},)")
    if not np.isfinite(flat).all():
        raise ValueError("coefs_flat_ holds non-finite values")
    n_in = 1 if spec.vocab_size else spec.n_features  # a token model reads one id per step
    if state["n_outputs_"] != spec.n_outputs or state["n_features_in_"] != n_in:
        raise ValueError("n_outputs_ / n_features_in_ do not match the network")
    if state["_loss"] not in LOSSES:
        raise ValueError("unknown loss")
    best = state.get("_best_coefs")
    if best is not None and (best.dtype != dt or best.shape != flat.shape):
        raise ValueError("_best_coefs does not match coefs_flat_")


def _restore_optimizer(params, saved, n_params, dtype):
    """The optimizer saved as ``saved``, built from the estimator parameters ``params`` and checked."""
    if set(saved) != {"kind", "state"} or not isinstance(saved["state"], dict):
        raise ValueError("malformed optimizer state")
    kind = _LEGACY_KINDS.get(saved["kind"], saved["kind"])
    if kind not in SOLVERS:
        raise ValueError("malformed optimizer state")
    optimizer = make_optimizer(params, n_params, dtype)
    if optimizer.solver != kind:
        raise ValueError("optimizer state does not match the solver parameter")
    current = optimizer.state()
    if set(saved["state"]) != set(current):
        raise ValueError("optimizer state has unexpected fields")
    for k, v in saved["state"].items():
        ref = current[k]
        if isinstance(ref, np.ndarray):
            if not isinstance(v, np.ndarray) or v.dtype != ref.dtype or v.shape != ref.shape:
                raise ValueError(f"optimizer array {k} does not match the network")
        elif isinstance(ref, bool) != isinstance(v, bool) or not isinstance(v, (int, float, str, bool)):
            raise ValueError(f"optimizer field {k} has type {type(v).__name__}")
    optimizer.set_state(saved["state"])
    return optimizer


#: the training loop's fitted attributes (``LoopState.publish``), saved by every schema
LOOP_SCHEMA = {k: SCHEMA[k] for k in ("n_iter_", "t_", "loss_", "loss_curve_", "best_loss_",
                                      "validation_scores_", "best_validation_score_", "_no_improvement_count",
                                      "_best_coefs", "diverged_")}


def loop_attributes(est) -> dict:
    """The training loop's fitted attributes of ``est`` (those it has)."""
    return {k: getattr(est, k) for k in LOOP_SCHEMA if hasattr(est, k)}


def check_loop_attributes(state, flat) -> None:
    """Check (in place: ints read as floats where floats are due) the loop attributes saved in ``state``."""
    for k, want in LOOP_SCHEMA.items():
        if k not in state:
            continue
        v = state[k]
        if want is float and isinstance(v, int) and not isinstance(v, bool):
            v = state[k] = float(v)
        if (want is int and isinstance(v, bool)) or not isinstance(v, want):
            raise ValueError(f"{k} has type {type(v).__name__}")
        if isinstance(v, list) and not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                           for x in v):
            raise ValueError(f"{k} must hold numbers")
        if isinstance(v, np.ndarray) and (v.dtype != flat.dtype or v.shape != flat.shape):
            raise ValueError(f"{k} does not match coefs_flat_")


def restore_rng(saved):
    """A ``numpy.random.Generator`` from a saved bit-generator state (ValueError when malformed)."""
    rng = np.random.default_rng()
    try:
        rng.bit_generator.state = saved
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"bad random state ({exc})") from None
    return rng


def restore_state(est, state: dict) -> None:
    """Set ``est``'s fitted attributes from :func:`persistent_state`'s output, checking everything first."""
    if not state:
        return
    _check_types(state)
    spec = NetworkSpec.from_dict(state["_spec"])
    _check_params(state, spec)
    optimizer = _restore_optimizer(est.get_params(deep=False), state["_optimizer"], spec.n_params,
                                   state["coefs_flat_"].dtype)
    rng = restore_rng(state["_rng"])
    for k in ("loss_curve_", "validation_scores_"):
        v = state.get(k)
        if v is not None and not all(isinstance(x, (int, float)) for x in v):
            raise ValueError(f"{k} must hold numbers")
    if "classes_" in state:
        classes = state["classes_"]
        if classes.ndim != 1 or classes.size < 2:
            raise ValueError("classes_ must be 1D with at least 2 classes")
    fn = state.get("feature_names_in_")
    if fn is not None and (fn.ndim != 1 or fn.shape[0] != spec.n_features):
        raise ValueError("feature_names_in_ does not match n_features_in_")
    for k, v in state.items():
        if k not in ("_spec", "_optimizer", "_rng"):
            setattr(est, k, v)
    est._spec = spec
    est._optimizer = optimizer
    est._rng = rng
