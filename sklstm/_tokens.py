"""Token-id input (estimators with ``embedding_dim``): validation into padded ids and lengths.

Accepted forms (``docs/CONTRACT.md``, "Token input"):

- a list (or tuple) of 1D integer arrays or lists of ints, one per
  sequence, of any lengths (ragged);
- a 2D integer array ``(n, T)`` padded at the end with ``padding_idx``: a
  sequence's length is one past its last id that is not ``padding_idx``
  (a ``padding_idx`` before that is an ordinary step whose embedding is
  the zero row).

The result is an int64 block ``(n, T_max, 1)`` (zeros at padding) and the
lengths, the layout that the training loop batches like any other input.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["TOKEN_FORMS", "check_tokens", "infer_vocab_size"]

TOKEN_FORMS = ("token ids: a list of 1D integer arrays (ragged) or a 2D integer array (n_sequences, "
               "n_timesteps) padded at the end with padding_idx")


def _as_ids(seq, i):
    """One sequence as a 1D int64 array; errors name sequence ``i``."""
    if isinstance(seq, str) or isinstance(seq, bytes):
        raise TypeError(f"sequence {i} is a string; an estimator with embedding_dim reads token ids. "
                        "Turn text into ids first, e.g. with sklstm.text.TextVectorizer in a Pipeline.")
    a = np.asarray(seq)
    if a.ndim != 1:
        raise ValueError(f"sequence {i} has shape {a.shape}; each sequence of token ids must be 1D. "
                         f"Expected {TOKEN_FORMS}.")
    return _integer_ids(a, f"sequence {i}")


def _integer_ids(a, what):
    if a.dtype == object:
        bad = [v for v in a.ravel() if not isinstance(v, numbers.Integral) or isinstance(v, bool)]
        if bad:
            raise ValueError(f"{what} holds {bad[0]!r} ({type(bad[0]).__name__}); token ids must be "
                             "integers.")
        a = a.astype(np.int64)
    if a.dtype.kind == "f":
        nan = np.isnan(a)
        if nan.any():
            raise ValueError(f"{what} holds NaN; token ids must be integers (no missing values).")
        example = float(a.ravel()[0])
        raise ValueError(f"{what} holds float values (dtype {a.dtype}, e.g. {example!r}); token ids must be "
                         "integers: pass an integer array.")
    if a.dtype.kind == "b" or a.dtype.kind not in "iu":
        raise ValueError(f"{what} has dtype {a.dtype}; token ids must be integers.")
    if a.dtype.kind == "u" and a.size and a.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{what} holds an id too large for int64.")
    return a.astype(np.int64, copy=False)


def check_tokens(X, padding_idx, vocab_size=None):
    """Validate token-id input into a padded block and lengths.

    Parameters
    ----------
    X : list of 1D integer arrays, or 2D integer array-like
        See the module docstring.
    padding_idx : int
    vocab_size : int or None
        Ids must be below it when given.

    Returns
    -------
    ids : int64 ndarray of shape (n, T_max, 1), C-contiguous, zero at padding
    lengths : int64 ndarray of shape (n,)

    Raises
    ------
    ValueError, TypeError
        Naming the offending value and sequence: negative ids, ids
        ``>= vocab_size``, float or NaN ids, empty sequences, other shapes.
    """
    if isinstance(X, (str, bytes)):
        raise TypeError("X is a single string; an estimator with embedding_dim reads token ids "
                        f"({TOKEN_FORMS}). Turn text into ids first, e.g. with sklstm.text.TextVectorizer.")
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim != 2:
            raise ValueError(f"X has shape {X.shape}; expected {TOKEN_FORMS}.")
        A = _integer_ids(X, "X")
        if A.shape[0] == 0 or A.shape[1] == 0:
            raise ValueError(f"X is empty (shape {A.shape}); expected {TOKEN_FORMS}.")
        valid = A != padding_idx
        last = A.shape[1] - np.argmax(valid[:, ::-1], axis=1)  # one past the last non-padding id
        lengths = np.where(valid.any(axis=1), last, 0).astype(np.int64)
        seqs = None
    else:
        if not isinstance(X, (list, tuple, np.ndarray)):
            raise TypeError(f"X must be {TOKEN_FORMS}; got {type(X).__name__}.")
        if len(X) == 0:
            raise ValueError(f"X is empty; expected {TOKEN_FORMS}.")
        seqs = [_as_ids(s, i) for i, s in enumerate(X)]
        lengths = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    empty = np.flatnonzero(lengths == 0)
    if empty.size:
        raise ValueError(f"sequence {int(empty[0])} is empty (no token, or only padding_idx={padding_idx}); "
                         "every sequence needs at least one token.")
    T = int(lengths.max())
    ids = np.zeros((len(lengths), T, 1), dtype=np.int64)
    if seqs is None:
        ids[:, :, 0] = A[:, :T]
        ids[np.arange(T)[None, :] >= lengths[:, None], 0] = 0
    else:
        for i, s in enumerate(seqs):
            ids[i, :s.shape[0], 0] = s
    _check_range(ids[:, :, 0], lengths, vocab_size)
    return ids, lengths


def _check_range(ids, lengths, vocab_size):
    """Negative ids, and ids >= vocab_size when it is known: ValueError naming value and sequence."""
    valid = np.arange(ids.shape[1])[None, :] < lengths[:, None]
    neg = valid & (ids < 0)
    if neg.any():
        i, t = map(int, np.argwhere(neg)[0])
        raise ValueError(f"sequence {i} holds the negative token id {int(ids[i, t])} at step {t}; "
                         "token ids must be >= 0.")
    if vocab_size is not None:
        big = valid & (ids >= vocab_size)
        if big.any():
            i, t = map(int, np.argwhere(big)[0])
            raise ValueError(f"sequence {i} holds the token id {int(ids[i, t])} at step {t}, but the "
                             f"vocabulary has {vocab_size} ids (0 to {vocab_size - 1}). Map unknown tokens "
                             "to an id the model knows (TextVectorizer maps them to <unk> = 1), or set "
                             "vocab_size larger when fitting.")


def infer_vocab_size(ids, lengths, padding_idx):
    """Ids the embedding needs for the training data: one more than the largest id (and padding_idx)."""
    valid = np.arange(ids.shape[1])[None, :] < lengths[:, None]
    return int(max(ids[:, :, 0][valid].max(), padding_idx)) + 1
