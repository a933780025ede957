"""Documents in, token-id sequences out: the input side shared by the language models.

:class:`CorpusInput` turns what a user passes to a language model (one str,
an iterable of documents, or token-id sequences) into int64 id sequences,
``<bos> tokens <eos>`` per document, through a
:class:`~sklstm.text.TextVectorizer` built from the estimator's parameters
of the same names; every malformed input is a clear error.
"""

from __future__ import annotations

import numpy as np

from ._vocabulary import EOS
from .text import TextVectorizer

__all__ = ["CorpusInput"]


class CorpusInput:
    """Mixin: ``_documents``, ``_encode`` and ``_unknown_tokens`` over the vectorizer parameters.

    The estimator has ``analyzer``, ``lowercase``, ``token_pattern``,
    ``max_features``, ``min_df`` and ``vocabulary``; fitted, it sets
    ``vectorizer_`` (None on token ids), ``vocab_size_`` and ``tokens_``.
    """

    def _documents(self, X, what="X"):
        """X as (kind, items): ("text", list of str) or ("ids", list of int64 arrays); clear errors."""
        if isinstance(X, str):
            X = [X]
        if isinstance(X, (bytes, bytearray)):
            raise TypeError(f"{what} is bytes; decode it to str first (e.g. data.decode('utf-8')).")
        if isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind in "iu":
            X = list(X)
        try:
            items = list(X)
        except TypeError:
            raise TypeError(f"{what} must be a str, an iterable of str (documents) or a list of 1D integer "
                            f"arrays (token ids); got {type(X).__name__}.") from None
        if not items:
            raise ValueError(f"{what} holds no document; a language model needs text.")
        if all(isinstance(d, str) for d in items):
            for i, d in enumerate(items):
                if not d:
                    raise ValueError(f"document {i} of {what} is an empty string; remove empty documents.")
            return "text", items
        if not any(isinstance(d, str) for d in items):
            seqs = []
            for i, d in enumerate(items):
                a = np.asarray(d) if not isinstance(d, (bytes, bytearray, dict, set)) else None
                if a is None or a.dtype == object or a.ndim != 1 or a.dtype.kind not in "iu":
                    kind = type(d).__name__ if a is None else f"{type(d).__name__} of dtype {a.dtype}, " \
                                                              f"shape {a.shape}"
                    raise TypeError(f"item {i} of {what} is a {kind}; give documents as str, or token ids "
                                    "as 1D integer arrays.")
                if a.size == 0:
                    raise ValueError(f"sequence {i} of {what} is empty.")
                if a.min() < 1:
                    raise ValueError(f"sequence {i} of {what} holds the id {int(a.min())}; token ids start "
                                     f"at 1 (0 is the padding id).")
                seqs.append(a.astype(np.int64))
            return "ids", seqs
        bad = next(i for i, d in enumerate(items) if not isinstance(d, str))
        raise TypeError(f"item {bad} of {what} is a {type(items[bad]).__name__} ({str(items[bad])[:40]!r}); "
                        "every document must be a str.")

    def _vectorizer(self):
        return TextVectorizer(analyzer=self.analyzer, lowercase=self.lowercase,
                              token_pattern=self.token_pattern,
                              max_features=self.max_features, min_df=self.min_df, vocabulary=self.vocabulary,
                              bos_eos=True)

    def _encode(self, X, what="X", reset=False):
        """Documents -> list of int64 id sequences (``<bos> ... <eos>`` for text), fitting the vocabulary."""
        kind, items = self._documents(X, what)
        if reset:
            if kind == "text":
                self.vectorizer_ = self._vectorizer()
                seqs = self.vectorizer_.fit_transform(items)
                if self.vectorizer_.vocabulary_.get(EOS) != 3:
                    raise ValueError("vocabulary must have the <bos>/<eos> layout (ids 2 and 3).")
                self.vocab_size_ = int(self.vectorizer_.vocab_size_)
                self.tokens_ = self.vectorizer_.get_feature_names_out()
            else:
                self.vectorizer_ = None
                self.vocab_size_ = int(max(int(s.max()) for s in items)) + 1
                self.tokens_ = np.arange(self.vocab_size_)
                seqs = items
            return seqs
        fitted = "ids" if self.vectorizer_ is None else "text"
        if kind != fitted:
            raise TypeError(f"this model was fitted on {'token ids' if fitted == 'ids' else 'text'}; {what} "
                            f"holds {'token ids' if kind == 'ids' else 'text'}.")
        if kind == "ids":
            for i, s in enumerate(items):
                if s.max() >= self.vocab_size_:
                    raise ValueError(f"sequence {i} of {what} holds the id {int(s.max())}, outside the "
                                     f"model's vocabulary [1, {self.vocab_size_}).")
            return items
        return self.vectorizer_.transform(items)

    def _unknown_tokens(self, docs):
        """Tokens of ``docs`` outside the vocabulary (first 5, for a warning)."""
        tokenize = self.vectorizer_._tokenizer()
        vocab = self.vectorizer_.vocabulary_
        seen = []
        for d in docs:
            for t in tokenize(d):
                if t not in vocab and t not in seen:
                    seen.append(t)
        return seen
