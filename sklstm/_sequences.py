"""Input validation: every accepted form of X becomes ``(padded array, lengths)``.

The rule (docs/CONTRACT.md, "Input"):

* numeric ndarray, 3D ``(n, T, F)``: n sequences of T steps; trailing
  all-NaN steps mark a shorter sequence; NaN/inf elsewhere is an error;
* list/tuple (or 1-D object ndarray) whose elements are ndarrays, each
  ``(T_i, F)`` or ``(T_i,)``: ragged sequences; a list holding arrays and
  items that are not (``None``, a nested list) which numpy cannot stack into
  one block is a TypeError naming the first such item;
* 2D arrays, DataFrames, nested lists of scalars: tabular rows, each a
  one-step sequence ``(n, 1, F)``;
* any other array-like is converted with ``np.asarray`` and routed by ndim.
"""

from __future__ import annotations

import os

import numpy as np

from ._kernels.scan import scan_padded

__all__ = ["check_sequences", "is_sequence_input", "SEQUENCE_FORMS"]

SEQUENCE_FORMS = (
    "a 3D array (n_sequences, n_timesteps, n_features), a list of 2D arrays "
    "(n_timesteps_i, n_features) or 1D arrays (n_timesteps_i,), or a 2D array / "
    "DataFrame of tabular rows (n_samples, n_features)"
)


def _items(X):
    """The items of a list, tuple or 1-D object ndarray (None for any other X)."""
    if isinstance(X, (list, tuple)):
        return X
    if isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 1:
        return list(X)
    return None


def _is_list_of_arrays(X) -> bool:
    items = _items(X)
    return bool(items) and all(isinstance(s, np.ndarray) for s in items)


def _is_broken_list_of_arrays(X) -> bool:
    """A list holding numpy arrays and something else that numpy cannot stack into a block (None, ...)."""
    items = _items(X)
    if not items or not any(isinstance(s, np.ndarray) for s in items):
        return False
    try:
        return np.asarray(X, dtype=object).ndim == 1
    except (ValueError, TypeError):
        return True


def _raise_for_non_array_item(X):
    """Name the first item of a list of sequences that is not a numpy array (when there is one)."""
    items = _items(X)
    if not items or not any(isinstance(s, np.ndarray) for s in items):
        return
    for i, s in enumerate(items):
        if not isinstance(s, np.ndarray):
            what = "None" if s is None else f"of type {type(s).__name__}, not a numpy array"
            raise TypeError(
                f"X[{i}] is {what}; a list of sequences must hold numpy arrays only, each of shape "
                f"(n_timesteps_i, n_features) or (n_timesteps_i,). sklstm accepts {SEQUENCE_FORMS}.")


def is_sequence_input(X) -> bool:
    """True when X is read as sequences (3D or ragged), False for tabular rows."""
    if _is_list_of_arrays(X) or _is_broken_list_of_arrays(X):
        return True
    if hasattr(X, "iloc") or hasattr(X, "columns"):
        return False
    ndim = getattr(X, "ndim", None)
    if ndim is None:
        try:
            ndim = np.asarray(X, dtype=object).ndim
        except (ValueError, TypeError):
            return False
    return ndim == 3


def _as_numeric(a, dtype, what):
    a = np.asarray(a)
    if a.dtype.kind == "c":
        raise ValueError(f"Complex data not supported in {what}: got dtype {a.dtype}.")
    if a.dtype.kind in "Mm":
        raise TypeError(f"{what} must be numeric; got dtype {a.dtype} (dates and durations are not features: "
                        "convert them to numbers first).")
    if a.dtype.kind in "OUSV":
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{what} must be numeric; got dtype {a.dtype} that cannot be converted "
                f"to float ({exc})."
            ) from None
    return np.asarray(a, dtype=dtype)


def _check_finite(a, what):
    if not np.isfinite(a).all():
        bad = "NaN" if np.isnan(a).any() else "infinity"
        raise ValueError(
            f"Input {what} contains {bad}. Only trailing all-NaN timesteps of a 3D "
            "array are read as padding; remove or impute other missing values."
        )


def _physical_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 16 * 1024 ** 3


def _check_padded_size(n, tmax, n_features, dtype):
    """A clear MemoryError, before allocating, when padding would not fit in memory."""
    need = n * tmax * n_features * np.dtype(dtype).itemsize
    if need > _physical_memory() // 2:
        raise MemoryError(
            f"Padding {n} sequences to the longest one ({tmax} steps x {n_features} features, "
            f"{np.dtype(dtype).name}) needs {need / 1024 ** 3:.1f} GiB, more than half of this machine's "
            "memory. Cut very long sequences into windows (sklstm.forecasting) or pass them in "
            "separate calls.")


def _ragged(X, dtype):
    seqs = []
    n_features = None
    for i, s in enumerate(X):
        a = _as_numeric(s, dtype, f"sequence {i}")
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2:
            raise ValueError(
                f"Sequence {i} has {a.ndim} dimensions; each sequence of a list must be "
                "2D (n_timesteps, n_features) or 1D (n_timesteps,)."
            )
        if a.shape[0] == 0:
            raise ValueError(f"Sequence {i} has length 0; every sequence needs at least one timestep.")
        if n_features is None:
            n_features = a.shape[1]
        elif a.shape[1] != n_features:
            raise ValueError(
                f"Sequence {i} has {a.shape[1]} features but sequence 0 has {n_features}; "
                "all sequences must have the same number of features."
            )
        _check_finite(a, f"sequence {i}")
        seqs.append(a)
    if n_features == 0:
        raise ValueError("Sequences have 0 features; at least one is required.")
    lengths = np.array([a.shape[0] for a in seqs], dtype=np.int64)
    _check_padded_size(len(seqs), int(lengths.max()), n_features, dtype)
    out = np.zeros((len(seqs), int(lengths.max()), n_features), dtype=dtype)
    for i, a in enumerate(seqs):
        out[i, : a.shape[0]] = a
    return out, lengths


def writable(a: np.ndarray) -> np.ndarray:
    """``a``, or a copy of it where it is read-only (a memory-mapped model or input).

    The kernels are compiled for writable arrays only: a read-only one would
    make numba compile every kernel a second time, for that signature.
    """
    return a if a.flags.writeable else a.copy()


def _padded3d(X, dtype):
    X = _as_numeric(X, dtype, "X")
    n, T, F = X.shape
    if n == 0 or T == 0 or F == 0:
        raise ValueError(
            f"Found array with shape {X.shape}; a 3D X needs at least one sequence, "
            "one timestep and one feature."
        )
    X = writable(np.ascontiguousarray(X))
    lengths = np.empty(n, dtype=np.int64)
    if scan_padded(X, lengths) < 0:  # fast path: one compiled pass, no temporaries
        if (lengths == T).all():
            return X, lengths
        out = X.copy()
        for i in np.flatnonzero(lengths < T):
            out[i, lengths[i]:] = 0
        return out, lengths
    # slow path: find and describe the problem
    nan_step = np.isnan(X).all(axis=2)  # (n, T)
    # a step is padding when it and every later step are all-NaN
    trailing = np.flip(np.logical_and.accumulate(np.flip(nan_step, axis=1), axis=1), axis=1)
    lengths = (T - trailing.sum(axis=1)).astype(np.int64)
    if (lengths == 0).any():
        i = int(np.flatnonzero(lengths == 0)[0])
        raise ValueError(f"Sequence {i} of X is all NaN (length 0); every sequence needs a timestep.")
    valid = ~trailing
    if not np.isfinite(X[valid]).all():
        _check_finite(X[valid], "X (outside trailing all-NaN padding)")
    if trailing.any():
        X = np.where(trailing[:, :, None], 0, X).astype(dtype, copy=False)
    return np.ascontiguousarray(X), lengths


def check_sequences(X, dtype=np.float32):
    """Validate sequence input (3D or ragged) into a zero-padded block and lengths.

    Parameters
    ----------
    X : 3D array-like or list of arrays
        See the module docstring.
    dtype : numpy dtype
        Compute dtype of the result.

    Returns
    -------
    Xp : ndarray of shape (n, T_max, F), C-contiguous, zero at padding
    lengths : int64 ndarray of shape (n,)

    Raises
    ------
    ValueError, TypeError
        For every malformed input, with a message naming the problem.
    """
    if _is_list_of_arrays(X):
        return _ragged(X, dtype)
    if isinstance(X, (list, tuple)) and len(X) == 0:
        raise ValueError(f"X is empty; expected {SEQUENCE_FORMS}.")
    if not isinstance(X, np.ndarray):
        try:
            X = np.asarray(X)
        except ValueError as exc:
            _raise_for_non_array_item(X)
            raise ValueError(
                f"Could not read X as an array ({exc}); nested lists of unequal lengths are "
                f"ambiguous: pass a list of numpy arrays for ragged sequences. Expected {SEQUENCE_FORMS}."
            ) from None
    if X.dtype == object and X.ndim == 1:
        if _is_list_of_arrays(X):
            return _ragged(list(X), dtype)
        _raise_for_non_array_item(X)
    if X.ndim != 3:
        raise ValueError(f"Expected {SEQUENCE_FORMS}; got an array with {X.ndim} dimension(s) "
                         f"and shape {X.shape}.")
    return _padded3d(X, dtype)


def check_targets_per_step(y, lengths, *, numeric: bool):
    """Per-step targets for ``return_sequences=True``: list of arrays or array ``(n, T[, k])``.

    Returns a list of per-sequence arrays cut to each sequence's length.
    """
    n = len(lengths)
    if isinstance(y, (list, tuple)) or (isinstance(y, np.ndarray) and y.dtype == object and y.ndim == 1):
        ys = [np.asarray(a) for a in y]
    else:
        arr = np.asarray(y)
        if arr.ndim < 2:
            raise ValueError(
                "With return_sequences=True, y must hold one target per timestep: an array "
                f"(n_sequences, n_timesteps[, n_targets]) or a list of arrays; got shape {arr.shape}."
            )
        ys = [arr[i] for i in range(arr.shape[0])]
    if len(ys) != n:
        raise ValueError(f"X has {n} sequences but y has {len(ys)}.")
    out = []
    for i, (a, L) in enumerate(zip(ys, lengths)):
        if a.ndim == 0:
            raise ValueError(
                f"With return_sequences=True, y[{i}] must hold one target per timestep of sequence "
                f"{i} ({L} steps); got a single value.")
        if a.shape[0] < L:
            raise ValueError(f"y[{i}] has {a.shape[0]} steps but sequence {i} of X has {L}.")
        rest = a[L:]
        if rest.size and numeric and not (np.isnan(rest.astype(float)).all()):
            raise ValueError(
                f"y[{i}] has {a.shape[0]} steps but sequence {i} of X has {L}; extra steps in y "
                "must be NaN padding."
            )
        out.append(a[:L])
    return out
