"""Input checks of the recurrent estimators: X in every accepted form, and the device choice.

:func:`validate_X` turns any accepted X (``docs/CONTRACT.md``, "Input") into
the padded block and lengths the training loop and the driver read; it keeps
the fitted attributes ``n_features_in_`` / ``feature_names_in_`` in step.
:func:`training_device` and :func:`prediction_device` decide where the
network runs, so the estimator never branches on the hardware itself.
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np

from ._sequences import SEQUENCE_FORMS, check_sequences, is_sequence_input, writable
from ._sklearn_compat import validate_data
from ._tokens import check_tokens, infer_vocab_size

__all__ = ["LAYOUT_HINT", "validate_X", "validate_tokens", "check_feature_count", "training_device",
           "prediction_device", "warn_user"]

LAYOUT_HINT = ("A univariate series stored as 2D rows (n, T) is read as tabular data: pass X[:, :, None]; "
               "data in the (n, channels, T) layout of aeon/sktime: pass X.transpose(0, 2, 1).")
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def warn_user(message: str, category=UserWarning) -> None:
    """Warn with the stack level of the first caller outside sklstm (the user's own line)."""
    level, frame = 2, sys._getframe(1)  # stacklevel 2 is the caller of warn_user
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def validate_X(est, X, reset: bool):
    """Any accepted X -> (padded ``(n, T, F)`` array of the compute dtype, int64 lengths).

    Parameters
    ----------
    est : BaseRecurrent
        The estimator; ``reset=True`` (a first fit) records ``n_features_in_``
        (and ``feature_names_in_`` for DataFrames) on it, otherwise X is
        checked against them.
    X : array-like or list of arrays
        See ``docs/CONTRACT.md``, "Input".
    reset : bool
        Whether this is a first fit.

    Returns
    -------
    Xp : ndarray of shape (n, T, F)
        Padded sequences; with an embedding, token ids ``(n, T, 1)`` int64.
    lengths : ndarray of shape (n,), int64
    """
    fitted = not reset and hasattr(est, "coefs_flat_")
    if (est._spec.vocab_size if fitted else est.embedding_dim is not None):
        return validate_tokens(est, X, fitted)
    dt = np.dtype(est.dtype) if not fitted else est.coefs_flat_.dtype
    if isinstance(X, (list, tuple)) and len(X) == 0:
        raise ValueError(f"X is empty; expected {SEQUENCE_FORMS}.")
    if is_sequence_input(X):
        Xp, lengths = check_sequences(X, dtype=dt)
        if reset:
            _warn_if_transposed(X, Xp)
            est.n_features_in_ = Xp.shape[2]
            if hasattr(est, "feature_names_in_"):
                del est.feature_names_in_
        else:
            check_feature_count(est, Xp.shape[2])
        return Xp, lengths
    try:
        X2 = validate_data(est, X, reset=reset, dtype=[np.float64, np.float32], ensure_min_samples=1)
    except ValueError as exc:  # keep sklearn's message (its checks match it), add ours
        msg = str(exc)
        if "dim" in msg or "Expected 2D array" in msg:
            raise ValueError(f"{msg} sklstm accepts {SEQUENCE_FORMS}.") from None
        if "features, but" in msg:
            raise ValueError(f"{msg} {LAYOUT_HINT}") from None
        raise
    Xp = writable(np.ascontiguousarray(X2, dtype=dt))[:, None, :]
    return Xp, np.ones(Xp.shape[0], dtype=np.int64)


def validate_tokens(est, X, fitted: bool):
    """Token-id input (``embedding_dim`` set): ids checked against the fitted or given vocabulary.

    On a first fit the vocabulary size is taken from ``vocab_size`` or
    inferred from the largest id, and ``n_features_in_`` is 1 (one id per step).
    """
    if fitted:
        return check_tokens(X, est._spec.padding_idx, est._spec.vocab_size)
    if est.vocab_size is not None and est.padding_idx >= est.vocab_size:
        raise ValueError(f"padding_idx={est.padding_idx} must be below vocab_size={est.vocab_size}.")
    ids, lengths = check_tokens(X, est.padding_idx, est.vocab_size)
    est._fit_vocab_size = (est.vocab_size if est.vocab_size is not None
                           else infer_vocab_size(ids, lengths, est.padding_idx))
    est.n_features_in_ = 1
    if hasattr(est, "feature_names_in_"):
        del est.feature_names_in_
    return ids, lengths


def _warn_if_transposed(X, Xp):
    """Warn (never fail) when a 3D array looks like the aeon/sktime (n, channels, T) layout."""
    if getattr(X, "ndim", 0) == 3 and Xp.shape[2] > 4 * Xp.shape[1]:
        warn_user(f"X has shape {Xp.shape} = (n_sequences, n_timesteps, n_features): {Xp.shape[2]} "
                  f"features per step over {Xp.shape[1]} steps. If X is in the (n, channels, T) "
                  "layout of aeon/sktime, pass X.transpose(0, 2, 1).")


def check_feature_count(est, n_features: int) -> None:
    """A clear error when X's feature count differs from the fitted one (with the layout hints)."""
    if n_features != est.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {type(est).__name__} is expecting "
            f"{est.n_features_in_} features as input. {LAYOUT_HINT}")


def _gpu_reason(device: str):
    """None when ``device`` selects a usable GPU, else why not ("cpu" when the CPU was asked for)."""
    if device == "cpu":
        return "cpu"
    from ._kernels.cuda import status

    ok, reason = status()
    return None if ok else reason


def training_device(device: str) -> str:
    """``"cpu"`` or ``"cuda"`` for a fit; ``device="cuda"`` without a usable GPU is an error."""
    reason = _gpu_reason(device)
    if reason is None:
        return "cuda"
    if device == "cuda":
        raise ValueError(f"device='cuda' was requested, but {reason}")
    return "cpu"


def prediction_device(device: str) -> str:
    """``"cpu"`` or ``"cuda"`` for prediction: without a GPU, a model set to "cuda" predicts on the CPU.

    The weights always live in host memory, so a model fitted on a GPU
    predicts anywhere; ``device="cuda"`` then warns that the CPU was used.
    """
    reason = _gpu_reason(device)
    if reason is None:
        return "cuda"
    if device == "cuda":
        warn_user(f"device='cuda' but {reason} Predicting on the CPU (same weights).")
    return "cpu"
