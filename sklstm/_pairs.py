"""The input side of :class:`sklstm.LSTMSeq2Seq`: sources and targets in, padded id blocks out.

A side is raw strings (read by a :class:`~sklstm.text.TextVectorizer`),
token-id sequences (lists of 1D integer arrays, ids >= 1), or, for the
source only, a 2D numeric feature matrix (one row per pair: the
image-captioning pattern). Every malformed input is a clear error naming
the item.
"""

from __future__ import annotations

import numpy as np

__all__ = ["read_side", "unknown_tokens", "pad_block"]


def _is_frame(Z):
    return hasattr(Z, "iloc") and hasattr(Z, "columns")


def read_side(Z, what, allow_features):
    """``Z`` as ``(kind, items)``: ("text", list of str), ("ids", list of int64 arrays) or ("features", 2D array).

    Float 2D arrays and DataFrames are feature matrices (when
    ``allow_features``); integer 2D arrays are 0-padded token ids.
    """
    if isinstance(Z, str):
        raise TypeError(f"{what} is a single str; pass a list of strings (one per pair).")
    if isinstance(Z, (bytes, bytearray)):
        raise TypeError(f"{what} is bytes; decode it to str and pass a list of strings.")
    if _is_frame(Z) or (isinstance(Z, np.ndarray) and Z.ndim == 2 and Z.dtype.kind in "fb"):
        if not allow_features:
            raise TypeError(f"{what} is a numeric matrix; targets must be strings or token-id sequences.")
        A = np.asarray(Z, dtype=np.float64)
        if A.ndim != 2 or A.shape[0] == 0 or A.shape[1] == 0:
            raise ValueError(f"{what} must be a non-empty 2D feature matrix; got shape {A.shape}.")
        if not np.isfinite(A).all():
            r = int(np.argwhere(~np.isfinite(A))[0, 0])
            raise ValueError(f"{what} holds NaN or infinite values (row {r}); features must be finite.")
        return "features", A
    if isinstance(Z, np.ndarray) and Z.ndim == 2 and Z.dtype.kind in "iu":
        Z = [row[row != 0] for row in Z]
    if isinstance(Z, np.ndarray) and Z.ndim > 2:
        raise ValueError(f"{what} has {Z.ndim} dimensions; pass strings, token-id sequences or a 2D "
                         "feature matrix.")
    try:
        items = list(Z)
    except TypeError:
        raise TypeError(f"{what} must be a list of str, a list of 1D integer arrays (token ids)"
                        f"{' or a 2D feature matrix' if allow_features else ''}; got {type(Z).__name__}.") \
            from None
    if not items:
        raise ValueError(f"{what} is empty.")
    if all(isinstance(d, str) for d in items):
        for i, d in enumerate(items):
            if not d or d.isspace():
                raise ValueError(f"item {i} of {what} is an empty string; every source and target needs text.")
        return "text", items
    if any(isinstance(d, str) for d in items):
        bad = next(i for i, d in enumerate(items) if not isinstance(d, str))
        raise TypeError(f"item {bad} of {what} is a {type(items[bad]).__name__}; mix no strings with "
                        "other items.")
    seqs = []
    for i, d in enumerate(items):
        a = None if isinstance(d, (bytes, bytearray, dict, set)) else np.asarray(d)
        if a is None or a.dtype == object or a.ndim != 1 or a.dtype.kind not in "iu":
            kind = type(d).__name__ if a is None else f"{type(d).__name__} of dtype {a.dtype}, shape {a.shape}"
            raise TypeError(f"item {i} of {what} is a {kind}; give text as str, or token ids as 1D integer "
                            "arrays.")
        if a.size == 0:
            raise ValueError(f"sequence {i} of {what} is empty.")
        if a.min() < 1:
            raise ValueError(f"sequence {i} of {what} holds the id {int(a.min())}; token ids start at 1 "
                             "(0 is the padding id).")
        seqs.append(a.astype(np.int64))
    return "ids", seqs


def unknown_tokens(vec, docs):
    """Tokens of ``docs`` outside ``vec``'s vocabulary, in order of appearance."""
    tokenize = vec._tokenizer()
    vocab = vec.vocabulary_
    seen = {}
    for d in docs:
        for t in tokenize(d):
            if t not in vocab:
                seen.setdefault(t, None)
    return list(seen)


def pad_block(seqs, dtype=np.int64):
    """Sequences as a 0-padded block of shape (n, T) and their lengths."""
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    out = np.zeros((len(seqs), int(lengths.max())), dtype=dtype)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s
    return out, lengths
