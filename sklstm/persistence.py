"""Safe saving and loading of sklstm estimators: no pickle, no code on load.

File format (``.sklstm``, one file): a zip archive written by
``numpy.savez`` holding

* ``__meta__``: a uint8 array with UTF-8 JSON: the format name and version,
  the sklstm version that wrote it, the class name, the constructor
  parameters and the fitted attributes in a typed encoding (tuples,
  int-keyed dicts, NaN/inf, numpy scalars and arrays by reference);
* one entry per numpy array (weights, optimizer moments, labels...).

Loading reads the archive with ``allow_pickle=False``, parses the JSON,
checks the format version, resolves the class through an explicit registry
of sklstm estimators (never by importing a name from the file), validates
the parameters and checks every attribute's type and shape before the
estimator is returned. Nothing in the file is imported, evaluated or
executed, and loading writes nothing. Saving writes a temporary file in the
same folder and renames it over the target, so a crash mid-save never
destroys an earlier file.

Scope: :class:`~sklstm.LSTMClassifier`, :class:`~sklstm.LSTMRegressor`,
:class:`~sklstm.GRUClassifier`, :class:`~sklstm.GRURegressor`,
:class:`~sklstm.LSTMLanguageModel`, :class:`~sklstm.LSTMSeq2Seq`,
:class:`~sklstm.forecasting.LSTMForecaster`,
:class:`~sklstm.preprocessing.SequenceScaler` and
:class:`~sklstm.text.TextVectorizer` (not with a callable analyzer: the
format stores no code). Whole pipelines: use joblib or skops.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
import zipfile

import numpy as np

__all__ = ["save", "load", "FORMAT_VERSION"]

FORMAT_NAME = "sklstm"
FORMAT_VERSION = 1
_MAX_META_BYTES = 64 * 1024 * 1024


def _registry():
    from ._classifier import GRUClassifier, LSTMClassifier
    from ._regressor import GRURegressor, LSTMRegressor
    from .language_model import LSTMLanguageModel
    from .forecasting import LSTMForecaster
    from .preprocessing import SequenceScaler
    from .seq2seq import LSTMSeq2Seq
    from .text import TextVectorizer

    return {c.__name__: c for c in (LSTMClassifier, LSTMRegressor, GRUClassifier, GRURegressor,
                                    LSTMLanguageModel, LSTMSeq2Seq, LSTMForecaster, SequenceScaler,
                                    TextVectorizer)}


# --------------------------------------------------------------------------- typed JSON
class _Encoder:
    """Turns plain values into JSON, collecting numpy arrays on the side."""

    def __init__(self):
        self.arrays = {}

    def array(self, a):
        a = np.asarray(a)
        if a.dtype == object:
            items = a.ravel().tolist()
            if not all(isinstance(v, (str, bool, int, float)) for v in items):
                raise TypeError("object arrays can only be saved when every item is a str, int, float "
                                "or bool")
            return {"__objarray__": [self.value(v) for v in items], "shape": list(a.shape)}
        if a.dtype.kind not in "biufU":
            raise TypeError(f"arrays of dtype {a.dtype} cannot be saved")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = a
        return {"__array__": name}

    def value(self, v):
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
            return int(v)
        if isinstance(v, np.bool_):
            return bool(v)
        if isinstance(v, (float, np.floating)):
            v = float(v)
            return v if math.isfinite(v) else {"__float__": repr(v)}
        if isinstance(v, tuple):
            return {"__tuple__": [self.value(x) for x in v]}
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, dict):
            if all(isinstance(k, str) for k in v):
                return {"__dict__": {k: self.value(x) for k, x in v.items()}}
            return {"__items__": [[self.value(k), self.value(x)] for k, x in v.items()]}
        if isinstance(v, np.ndarray):
            return self.array(v)
        raise TypeError(f"values of type {type(v).__name__} cannot be saved")


class _Decoder:
    """Inverse of :class:`_Encoder`; accepts nothing else."""

    def __init__(self, arrays):
        self.arrays = arrays

    def value(self, v, depth=0):
        if depth > 50:
            raise ValueError("nesting too deep")
        if v is None or isinstance(v, (bool, str, int, float)):
            return v
        if isinstance(v, list):
            return [self.value(x, depth + 1) for x in v]
        if not isinstance(v, dict) or len(v) == 0:
            raise ValueError(f"unexpected JSON value {str(v)[:80]!r}")
        if "__array__" in v and len(v) == 1:
            name = v["__array__"]
            if not isinstance(name, str) or name not in self.arrays:
                raise ValueError(f"reference to a missing array {name!r}")
            return self.arrays[name]
        if "__objarray__" in v and set(v) == {"__objarray__", "shape"}:
            items = [self.value(x, depth + 1) for x in v["__objarray__"]]
            if not all(isinstance(x, (str, bool, int, float)) for x in items):
                raise ValueError("object array items must be str, int, float or bool")
            shape = tuple(int(s) for s in v["shape"])
            out = np.empty(len(items), dtype=object)
            out[:] = items
            return out.reshape(shape)
        if "__float__" in v and len(v) == 1:
            if v["__float__"] not in ("nan", "inf", "-inf"):
                raise ValueError("bad float encoding")
            return float(v["__float__"])
        if "__tuple__" in v and len(v) == 1:
            return tuple(self.value(x, depth + 1) for x in v["__tuple__"])
        if "__dict__" in v and len(v) == 1:
            return {str(k): self.value(x, depth + 1) for k, x in v["__dict__"].items()}
        if "__items__" in v and len(v) == 1:
            out = {}
            for pair in v["__items__"]:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ValueError("bad dict item")
                key = self.value(pair[0], depth + 1)
                if not isinstance(key, (str, int, float, bool, tuple)) or isinstance(key, list):
                    raise ValueError("bad dict key")
                out[key] = self.value(pair[1], depth + 1)
            return out
        raise ValueError(f"unknown JSON object with keys {sorted(v)[:5]}")


# --------------------------------------------------------------------------- public API
def save(estimator, path) -> None:
    """Save a fitted (or unfitted) sklstm estimator to one file, atomically.

    Parameters
    ----------
    estimator : LSTMClassifier, LSTMRegressor, GRUClassifier, GRURegressor, LSTMLanguageModel,
        LSTMSeq2Seq, LSTMForecaster, SequenceScaler or TextVectorizer
    path : str or os.PathLike
        Target file; replaced only once the new file is completely written.

    Raises
    ------
    TypeError
        For objects outside the scope above, or attributes that cannot be
        stored safely (named in the message).

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> import sklstm
    >>> from sklstm.preprocessing import SequenceScaler
    >>> sc = SequenceScaler().fit(np.arange(6.0).reshape(3, 2))
    >>> p = os.path.join(tempfile.mkdtemp(), "scaler.sklstm")
    >>> sklstm.save(sc, p)
    >>> sklstm.load(p).mean_
    array([2., 3.])
    """
    from . import __version__

    registry = _registry()
    name = type(estimator).__name__
    if registry.get(name) is not type(estimator):
        raise TypeError(f"sklstm.save supports {sorted(registry)}; got {type(estimator).__module__}.{name}. "
                        "Save whole pipelines with joblib or skops.")
    enc = _Encoder()
    try:
        # the state first: an estimator's _persistent_state names what it cannot save (a callable
        # parameter, say) more clearly than the generic message of the parameter encoding
        state = {k: enc.value(v) for k, v in estimator._persistent_state().items()}
        params = {k: enc.value(v) for k, v in estimator.get_params(deep=False).items()}
    except TypeError as exc:
        raise TypeError(f"cannot save {name}: {exc}") from None
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "sklstm_version": __version__,
            "class": name, "params": params, "state": state}
    blob = np.frombuffer(json.dumps(meta, allow_nan=False).encode("utf-8"), dtype=np.uint8)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".sklstm-", suffix=".tmp", dir=folder)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would otherwise replace the usual permissions
        with os.fdopen(fd, "wb") as f:
            np.savez(f, __meta__=blob, **enc.arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _bad(path, why):
    return ValueError(f"{os.fspath(path)!r} is not a valid sklstm file: {why}")


def load(path):
    """Load an estimator written by :func:`save`; never executes code from the file.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    estimator : object
        A new estimator equal to the one saved (bitwise identical weights,
        optimizer state and random state).

    Raises
    ------
    ValueError
        For a truncated, corrupted, foreign, version-mismatched or
        hand-crafted file, naming the problem.
    """
    registry = _registry()
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        raise
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            names = zf.namelist()
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _bad(path, f"not a readable archive ({exc})") from None
    if "__meta__.npy" not in names:
        raise _bad(path, "no metadata entry")
    if any(i.file_size > 8 * 1024 ** 3 for i in infos):
        raise _bad(path, "an entry declares an absurd size")
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            arrays = {}
            for k in npz.files:
                a = npz[k]
                if a.dtype == object:
                    raise _bad(path, f"entry {k!r} holds objects")
                arrays[k] = a
    except ValueError as exc:
        if "not a valid sklstm file" in str(exc):
            raise
        raise _bad(path, f"unreadable array data ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError, MemoryError) as exc:
        raise _bad(path, f"unreadable array data ({type(exc).__name__}: {str(exc)[:200]})") from None
    blob = arrays.pop("__meta__")
    if blob.dtype != np.uint8 or blob.ndim != 1 or blob.size > _MAX_META_BYTES:
        raise _bad(path, "malformed metadata entry")
    try:
        meta = json.loads(blob.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _bad(path, f"metadata is not JSON ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise _bad(path, "not written by sklstm.save")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise _bad(path, f"format version {version!r}; this sklstm reads version {FORMAT_VERSION} "
                         f"(file written by sklstm {meta.get('sklstm_version')!r})")
    cls = registry.get(meta.get("class")) if isinstance(meta.get("class"), str) else None
    if cls is None:
        raise _bad(path, f"unknown class {meta.get('class')!r}; known: {sorted(registry)}")
    if not isinstance(meta.get("params"), dict) or not isinstance(meta.get("state"), dict):
        raise _bad(path, "missing params or state")
    dec = _Decoder(arrays)
    try:
        params = {k: dec.value(v) for k, v in meta["params"].items()}
        state = {k: dec.value(v) for k, v in meta["state"].items()}
    except (ValueError, TypeError, RecursionError) as exc:
        raise _bad(path, str(exc)) from None
    valid = set(cls().get_params(deep=False))
    if set(params) != valid:
        raise _bad(path, f"parameters {sorted(set(params) ^ valid)} do not match {cls.__name__}")
    est = cls(**params)
    try:
        est._validate_params()
        est._restore_state(state)
    except Exception as exc:  # noqa: BLE001 - any inconsistency means a bad file
        raise _bad(path, f"{type(exc).__name__}: {exc}") from None
    return est
