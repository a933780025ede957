"""Training on data larger than memory: ``partial_fit`` over chunks read one at a time.

:func:`partial_fit_chunks` (exported as ``sklstm.partial_fit_chunks``) takes
any estimator with ``partial_fit`` and X, y that can be sliced by rows
without being read (``np.load(path, mmap_mode="r")``, a dask array, an
h5py or zarr dataset, a list, a DataFrame). It reads contiguous blocks of
rows, joins a few of them into one chunk, calls ``partial_fit`` once per
chunk and lets the chunk go before reading the next: memory holds one
chunk (and what training it needs), whatever the size of the data.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils import check_random_state

__all__ = ["partial_fit_chunks"]


def partial_fit_chunks(estimator, X, y, chunk_size, *, epochs=1, shuffle=True, block_size=None,
                       classes=None, sample_weight=None, random_state=None):
    """Train ``estimator`` with ``partial_fit``, one chunk of rows in memory at a time.

    Each pass over the data (``epochs`` of them) cuts the rows into blocks
    of ``block_size`` contiguous rows, puts the blocks in a random order
    (``shuffle``), and joins consecutive blocks of that order into chunks of
    at most ``chunk_size`` rows. Each chunk is read (only then: a memory
    map is read from disk, a dask array computed), given to
    ``estimator.partial_fit`` and released before the next one is read.

    Parameters
    ----------
    estimator : estimator with ``partial_fit``
        An sklstm estimator (``LSTMRegressor``, ``LSTMClassifier``, ...) or
        any scikit-learn incremental learner (``SGDClassifier``, ...). It
        is trained in place; a fitted one continues from where it is.
    X : sliceable of shape (n_samples, ...)
        Anything whose rows ``X[a:b]`` can be read without reading the rest:
        a numpy array or memory map (``np.load(path, mmap_mode="r")``), a
        dask array, an h5py or zarr dataset, a list of sequences, a pandas
        DataFrame (rows by ``iloc``).
    y : sliceable of shape (n_samples, ...)
        Targets, sliced the same way.
    chunk_size : int
        Most rows given to one ``partial_fit`` call: what memory must hold.
    epochs : int, default=1
        Passes over the data.
    shuffle : bool, default=True
        Put the blocks in a new random order in every pass (else the rows
        are read in order, in chunks of ``chunk_size``).
    block_size : int or None, default=None
        Rows read contiguously; None is ``chunk_size`` (each chunk is one
        contiguous range of rows). A smaller block mixes rows from
        ``chunk_size // block_size`` places of the data in every chunk, so
        that data stored in order (sorted by class, by time) still gives
        chunks that look like the whole; at most ``chunk_size``.
    classes : array-like or None, default=None
        Every class of a classifier, passed to each ``partial_fit``. None
        reads them: from ``estimator.classes_`` when it is fitted, else from
        ``y`` in one pass of ``chunk_size`` rows at a time (1-D labels;
        multilabel indicator matrices need none).
    sample_weight : sliceable of shape (n_samples,) or None, default=None
        Sliced with X and passed to ``partial_fit``.
    random_state : int, RandomState instance or None, default=None
        The order of the blocks. Training's own randomness (initial
        weights, batches, dropout) is the estimator's ``random_state``: the
        two together make a run reproducible.

    Returns
    -------
    estimator : object
        The trained estimator.

    Raises
    ------
    TypeError
        If the estimator has no ``partial_fit``, X, y or ``sample_weight``
        cannot be sliced by rows, or a size is not an integer.
    ValueError
        If X, y and ``sample_weight`` have different numbers of rows, the
        data are empty, a size is below 1, ``block_size`` exceeds
        ``chunk_size``, or a classifier's classes cannot be read from y.

    Notes
    -----
    ``partial_fit`` is one epoch over the rows it is given, so with sklstm
    estimators every chunk is one "epoch": ``n_iter_`` counts chunks,
    ``loss_curve_`` holds each chunk's mean training loss and ``t_`` the
    samples seen. Within a chunk, the estimator shuffles the rows itself
    (its ``shuffle=True``, the default) and cuts them into its
    ``batch_size``; this function orders blocks, never single rows, so
    that each read is contiguous. ``learning_rate="invscaling"`` (SGD)
    decays with the samples seen across chunks; ``max_iter``, ``tol``,
    ``n_iter_no_change``, ``early_stopping`` and the ``"adaptive"``
    schedule do not apply to ``partial_fit``: run a fixed number of
    ``epochs`` and score held-out data yourself between calls. The last
    chunk of a pass can be smaller than the others. Memory: one chunk, its
    padded copy and the training buffers of one chunk (a read-only memory
    map is copied once, as ``partial_fit`` needs writable data; pages read
    from the file stay in the page cache, which the system reclaims).

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import LSTMRegressor, partial_fit_chunks
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 8, 2)).astype("float32")
    >>> y = X[:, :, 0].mean(axis=1)
    >>> reg = LSTMRegressor(hidden_layer_sizes=(8,), learning_rate_init=0.01, random_state=0)
    >>> reg = partial_fit_chunks(reg, X, y, chunk_size=100, epochs=3, random_state=0)
    >>> reg.n_iter_  # one partial_fit call per chunk: 3 chunks in each of 3 passes
    9

    From a file larger than memory: ``np.load`` with ``mmap_mode="r"``
    reads nothing until a chunk is sliced.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "X.npy")
    >>> np.save(path, X)
    >>> X_disk = np.load(path, mmap_mode="r")
    >>> reg = LSTMRegressor(hidden_layer_sizes=(8,), random_state=0)
    >>> partial_fit_chunks(reg, X_disk, y, chunk_size=100, block_size=25, random_state=0).t_
    300
    """
    if not callable(getattr(estimator, "partial_fit", None)):
        raise TypeError(f"estimator must have a partial_fit method; {type(estimator).__name__} has none.")
    chunk_size = _positive_int(chunk_size, "chunk_size")
    epochs = _positive_int(epochs, "epochs")
    block_size = chunk_size if block_size is None else _positive_int(block_size, "block_size")
    if block_size > chunk_size:
        raise ValueError(f"block_size must be at most chunk_size={chunk_size}; got {block_size}.")
    if y is None:
        raise ValueError("y is required (partial_fit trains on (X, y) pairs).")
    n = _n_rows(X, "X")
    if n == 0:
        raise ValueError("X has no rows.")
    for other, name in ((y, "y"), (sample_weight, "sample_weight")):
        if other is not None and _n_rows(other, name) != n:
            raise ValueError(f"X has {n} rows but {name} has {_n_rows(other, name)}.")
    if _is_classifier(estimator) and classes is None:
        classes = getattr(estimator, "classes_", None)
        if classes is None:
            classes = _read_classes(y, n, chunk_size)
    rng = check_random_state(random_state)
    kwargs = {} if classes is None else {"classes": np.asarray(classes)}
    starts = np.arange(0, n, block_size)
    per_chunk = chunk_size // block_size
    for _ in range(epochs):
        order = rng.permutation(len(starts)) if shuffle else np.arange(len(starts))
        for g in range(0, len(order), per_chunk):
            ranges = _merged([(starts[b], min(starts[b] + block_size, n)) for b in order[g:g + per_chunk]])
            Xc, yc, wc = _read([X, y, sample_weight], ranges)
            weights = {} if wc is None else {"sample_weight": wc}
            estimator.partial_fit(Xc, yc, **kwargs, **weights)
            del Xc, yc, wc, weights  # let this chunk go before the next is read
    return estimator


def _is_classifier(estimator) -> bool:
    """scikit-learn's test, for estimators outside its class tree too (no tags: not a classifier)."""
    try:
        return is_classifier(estimator)
    except (AttributeError, TypeError):
        return getattr(estimator, "_estimator_type", None) == "classifier"


def _positive_int(value, name) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int; got {value!r}.")
    if value < 1:
        raise ValueError(f"{name} must be at least 1; got {value}.")
    return int(value)


def _n_rows(a, name) -> int:
    """Rows of a sliceable (its ``shape[0]``, else ``len``), with the errors a user can act on."""
    if not hasattr(a, "__getitem__") or isinstance(a, (str, bytes, dict)):
        raise TypeError(f"{name} must be sliceable by rows (an array, memory map, dask array, list...); "
                        f"got {type(a).__name__}.")
    shape = getattr(a, "shape", None)
    if shape is not None:
        if len(shape) == 0:
            raise TypeError(f"{name} must have rows; got a scalar of shape ().")
        rows = shape[0]
        if not (isinstance(rows, Integral) or (isinstance(rows, float) and rows.is_integer())):
            raise ValueError(f"{name} has an unknown number of rows ({rows}); for a dask array call "
                             f"{name}.compute_chunk_sizes() first.")
        return int(rows)
    return len(a)


def _merged(ranges):
    """Row ranges with neighbours joined: one read for blocks that follow each other."""
    out = []
    for a, b in ranges:
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _slice(a, start, stop):
    return a.iloc[start:stop] if hasattr(a, "iloc") else a[start:stop]


def _read(arrays, ranges):
    """The rows ``ranges`` of each of ``arrays`` (None stays None), read into memory and joined."""
    parts = [None if a is None else [_slice(a, s, e) for s, e in ranges] for a in arrays]
    lazy = [p for ps in parts if ps is not None for p in ps if hasattr(p, "compute")]
    if lazy:  # dask collections: one compute for every part of the chunk
        import dask

        done = iter(dask.compute(*lazy))
        parts = [None if ps is None else [next(done) if hasattr(p, "compute") else p for p in ps]
                 for ps in parts]
    return [None if ps is None else _join(ps) for ps in parts]


def _join(parts):
    if isinstance(parts[0], (list, tuple)):
        return [item for p in parts for item in p]
    if hasattr(parts[0], "iloc"):
        if len(parts) == 1:
            return parts[0]
        import pandas as pd

        return pd.concat(parts)
    if len(parts) == 1:
        return np.asarray(parts[0])
    return np.concatenate([np.asarray(p) for p in parts])


def _read_classes(y, n, chunk_size):
    """The sorted classes of 1-D labels ``y``, read chunk by chunk (None for a multilabel indicator)."""
    from sklearn.utils.multiclass import type_of_target

    classes = None
    for start in range(0, n, chunk_size):
        (yc,) = _read([y], [(start, min(start + chunk_size, n))])
        try:
            yc = np.asarray(yc)
        except ValueError:  # ragged per-step labels
            yc = None
        if start == 0 and yc is not None and type_of_target(yc) == "multilabel-indicator":
            return None
        if yc is None or yc.ndim != 1:
            raise ValueError("classes cannot be read from y that is not one label per row: pass "
                             "classes=, every class the targets hold.")
        found = np.unique(yc)
        classes = found if classes is None else np.union1d(classes, found)
    return classes
