"""The input side of :class:`sklstm.LSTMSeq2Seq`: sources and targets in, padded id blocks out.

A side is raw strings (read by a :class:`~sklstm.text.TextVectorizer`),
token-id sequences (lists of 1D integer arrays, ids >= 1), or, for the
source only, a 2D numeric feature matrix (one row per pair: the
image-captioning pattern). Every malformed input is a clear error naming
the item. :class:`PairInput` is the estimator's side of it: both
vocabularies, the encoded training pairs, new sources and targets.
"""

from __future__ import annotations

import numpy as np

from ._objectives import Batch
from ._validation import warn_user
from ._vocabulary import DEFAULT_TOKEN_PATTERN
from .text import TextVectorizer

__all__ = ["PairInput", "read_side", "unknown_tokens", "pad_block", "looks_like_features"]


def _is_frame(Z):
    return hasattr(Z, "iloc") and hasattr(Z, "columns")


def looks_like_features(X):
    """Whether ``X`` is a feature-matrix source (a DataFrame, or a 2D float or bool array)."""
    return _is_frame(X) or (isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind in "fb")


def read_side(Z, what, allow_features):
    """``Z`` as ``(kind, items)``: ("text", str list), ("ids", int64 array list) or ("features", 2D array).

    Float 2D arrays and DataFrames are feature matrices (when
    ``allow_features``); integer 2D arrays are 0-padded token ids. Sets and
    dicts are refused (no order to pair items by).
    """
    if isinstance(Z, str):
        raise TypeError(f"{what} is a single str; pass a list of strings (one per pair).")
    if isinstance(Z, (bytes, bytearray)):
        raise TypeError(f"{what} is bytes; decode it to str and pass a list of strings.")
    if isinstance(Z, (set, frozenset, dict)):
        raise TypeError(f"{what} is a {type(Z).__name__}, which has no order to pair sources with targets; "
                        "pass a list.")
    if isinstance(Z, np.ndarray) and Z.ndim == 1 and Z.dtype.kind in "iufb":
        matrix = " or a 2D feature matrix (one row per pair)" if allow_features else ""
        raise ValueError(f"{what} is a 1D array of numbers; pass a list of strings, a list of token-id "
                         f"sequences{matrix}.")
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
                raise ValueError(f"item {i} of {what} is an empty string; every source and target needs "
                                 "text.")
        return "text", items
    if any(isinstance(d, str) for d in items):
        bad = next(i for i, d in enumerate(items) if not isinstance(d, str))
        raise TypeError(f"item {bad} of {what} is a {type(items[bad]).__name__}; mix no strings with "
                        "other items.")
    seqs = []
    for i, d in enumerate(items):
        a = None if isinstance(d, (bytes, bytearray, dict, set)) else np.asarray(d)
        if a is None or a.dtype == object or a.ndim != 1 or a.dtype.kind not in "iu":
            kind = type(d).__name__ if a is None else \
                f"{type(d).__name__} of dtype {a.dtype}, shape {a.shape}"
            raise TypeError(f"item {i} of {what} is a {kind}; give text as str, or token ids as 1D integer "
                            "arrays.")
        if a.size == 0:
            raise ValueError(f"sequence {i} of {what} is empty.")
        if a.dtype.kind == "u" and int(a.max()) > np.iinfo(np.int64).max:
            raise ValueError(f"sequence {i} of {what} holds the id {int(a.max())}, too large for a token id.")
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


class PairInput:
    """Mixin of :class:`sklstm.LSTMSeq2Seq`: both sides' vocabularies and the encoded pairs.

    The estimator has ``source_analyzer``, ``target_analyzer``,
    ``lowercase``, ``token_pattern``, ``max_features``, ``max_new_tokens``
    and ``dtype``; fitted, it sets ``source_kind_``, ``source_vectorizer_``,
    ``target_vectorizer_``, ``max_target_length_`` (and ``n_features_in_``
    for a feature-vector source).
    """

    def _vectorizer(self, analyzer, bos_eos):
        # token_pattern is for a word side only (a char side given one warns on every call)
        pattern = self.token_pattern if analyzer == "word" else DEFAULT_TOKEN_PATTERN
        return TextVectorizer(analyzer=analyzer, lowercase=self.lowercase, token_pattern=pattern,
                              max_features=self.max_features, bos_eos=bos_eos)

    def _check_tokens(self, seqs, what):
        # a source the analyzer reads no token from has nothing to encode (attention over it is NaN)
        for i, s in enumerate(seqs):
            if len(s) == 0:
                raise ValueError(f"item {i} of {what} holds no token for source_analyzer="
                                 f"{self.source_analyzer!r} (token_pattern={self.token_pattern!r}); every "
                                 "source needs at least one.")
        return seqs

    def _check_target_lengths(self, tgt):
        """Tokens of the longest target (without ``<eos>``); refuses one longer than ``max_new_tokens``."""
        longest = int(max(len(t) for t in tgt)) - 1
        if self.max_new_tokens is not None and longest > self.max_new_tokens:
            i = int(np.argmax([len(t) for t in tgt]))
            raise ValueError(f"target {i} has {len(tgt[i]) - 1} tokens, more than max_new_tokens="
                             f"{self.max_new_tokens}: the model could never write it. Raise max_new_tokens.")
        return longest

    def _fit_sides(self, X, y):
        """Learn both sides' vocabularies; the encoded training pairs."""
        kx, xs = read_side(X, "X", allow_features=True)
        ky, ys = read_side(y, "y", allow_features=False)
        if len(xs) != len(ys):
            raise ValueError(f"X holds {len(xs)} sources and y {len(ys)} targets; they must pair up.")
        self.source_kind_ = kx
        self.source_vectorizer_ = self.target_vectorizer_ = None
        for stale in ("n_features_in_", "feature_names_in_"):
            if hasattr(self, stale):
                delattr(self, stale)
        if kx == "text":
            self.source_vectorizer_ = self._vectorizer(self.source_analyzer, False)
            src = self._check_tokens(self.source_vectorizer_.fit_transform(xs), "X")
            self._source_vocab = int(self.source_vectorizer_.vocab_size_)
        elif kx == "ids":
            src, self._source_vocab = xs, int(max(int(s.max()) for s in xs)) + 1
        else:
            src, self._source_vocab = xs, 0
            self.n_features_in_ = xs.shape[1]
            if _is_frame(X) and all(isinstance(c, str) for c in X.columns):
                self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        if ky == "text":
            self.target_vectorizer_ = self._vectorizer(self.target_analyzer, True)
            tgt = [s[1:] for s in self.target_vectorizer_.fit_transform(ys)]  # tokens + <eos>
            self._bos, self._eos = 2, 3
            self._target_vocab = int(self.target_vectorizer_.vocab_size_)
        else:
            V = int(max(int(s.max()) for s in ys)) + 1
            self._bos, self._eos, self._target_vocab = V, V + 1, V + 2
            tgt = [np.append(s, V + 1) for s in ys]
        self.max_target_length_ = self._check_target_lengths(tgt)
        return self._batch(src, tgt)

    def _batch(self, src, tgt=None):
        dt = np.dtype(self.coefs_flat_.dtype if hasattr(self, "coefs_flat_") else self.dtype)
        if self.source_kind_ == "features":
            with np.errstate(over="ignore"):
                X = np.asarray(src, dtype=dt)[:, None, :]
            if not np.isfinite(X).all():
                raise ValueError(f"the features hold values too large for dtype={dt.name} (largest "
                                 f"{np.abs(src).max():.3g}); scale them first (e.g. StandardScaler).")
            lengths = np.ones(X.shape[0], dtype=np.int64)
        else:
            block, lengths = pad_block(src)
            X = block[:, :, None]
        y = np.zeros((X.shape[0], 1), dtype=np.int64) if tgt is None else pad_block(tgt)[0]
        return Batch(X, lengths, y)

    def _encode_sources(self, X, what="X"):
        # features always read as such, so that a mismatch is named below
        kind, items = read_side(X, what, allow_features=True)
        if kind != self.source_kind_:
            raise TypeError(f"this model was fitted on {self.source_kind_} sources; {what} holds {kind}.")
        if kind == "features":
            if items.shape[1] != self.n_features_in_:
                raise ValueError(f"{what} has {items.shape[1]} features, but the model was fitted with "
                                 f"{self.n_features_in_}.")
            names = getattr(self, "feature_names_in_", None)
            if names is not None and (not _is_frame(X) or list(X.columns) != list(names)):
                raise ValueError(f"{what} must be a DataFrame with the fitted columns in the same order "
                                 f"({list(names)[:5]}...); got "
                                 f"{list(X.columns)[:5] if _is_frame(X) else type(X).__name__}.")
            return items
        if kind == "ids":
            for i, s in enumerate(items):
                if s.max() >= self._spec.source_vocab:
                    raise ValueError(f"sequence {i} of {what} holds the id {int(s.max())}, outside the "
                                     f"source vocabulary [1, {self._spec.source_vocab}).")
            return items
        self._warn_unknown(self.source_vectorizer_, items, what)
        return self._check_tokens(self.source_vectorizer_.transform(items), what)

    def _encode_targets(self, y, what="y"):
        kind, items = read_side(y, what, allow_features=False)
        fitted = "ids" if self.target_vectorizer_ is None else "text"
        if kind != fitted:
            raise TypeError(f"this model was fitted on {fitted} targets; {what} holds {kind}.")
        if kind == "ids":
            V = self._spec.bos
            for i, s in enumerate(items):
                if s.max() >= V:
                    raise ValueError(f"target {i} of {what} holds the id {int(s.max())}, outside the target "
                                     f"vocabulary [1, {V}).")
            return [np.append(s, self._spec.eos) for s in items]
        self._warn_unknown(self.target_vectorizer_, items, what)
        return [s[1:] for s in self.target_vectorizer_.transform(items)]

    def _warn_unknown(self, vec, docs, what):
        unknown = unknown_tokens(vec, docs)
        if unknown:
            unit = "character" if vec.analyzer == "char" else "token"
            warn_user(f"{len(unknown)} {unit}(s) of {what} are not in the fitted vocabulary (first: "
                      f"{unknown[:5]}); they are read as <unk>.")
