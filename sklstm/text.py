"""Text to token ids: :class:`TextVectorizer`, the first step of a text pipeline.

``make_pipeline(TextVectorizer(), LSTMClassifier(embedding_dim=32))`` reads
raw strings: the vectorizer turns each document into a 1D array of integer
token ids (ragged, one array per document) that an estimator with
``embedding_dim`` embeds.
"""

from __future__ import annotations

import numbers
import re
import warnings
from collections import Counter
from collections.abc import Mapping
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import HasMethods, Interval, RealNotInt, StrOptions

from ._vocabulary import (BOS, DEFAULT_TOKEN_PATTERN, EOS, PAD, SPECIAL, UNK, check_documents,
                          check_fitted_state, reserved_tokens, validate_vocabulary)

__all__ = ["TextVectorizer", "PAD", "UNK", "BOS", "EOS"]


class TextVectorizer(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Turn raw strings into sequences of integer token ids (ragged), with fixed special ids.

    The text counterpart of :class:`~sklearn.feature_extraction.text.CountVectorizer`
    for sequence models: instead of counts, each document becomes the 1D
    array of its tokens' ids, in order, ready for an estimator with
    ``embedding_dim`` (``make_pipeline(TextVectorizer(), LSTMClassifier(embedding_dim=32))``).

    Id layout (fixed):

    * ``<pad>`` = 0: never produced by :meth:`transform`; it is the
      estimators' default ``padding_idx``;
    * ``<unk>`` = 1: every token outside the vocabulary;
    * with ``bos_eos=True``: ``<bos>`` = 2 starts and ``<eos>`` = 3 ends
      every sequence;
    * then the vocabulary, by decreasing frequency in the training corpus
      (total count), ties in code-point order of the tokens (Python's
      string order).

    Special ids never come from text: a token spelled like a special token
    (``"<pad>"`` from a callable analyzer, say) is unknown (id 1).

    Parameters
    ----------
    analyzer : {"word", "char"} or callable, default="word"
        ``"word"``: the matches of ``token_pattern``; ``"char"``: every
        character, whitespace and line breaks included (no normalisation,
        so :meth:`inverse_transform` gives the lower-cased text back); a
        callable takes one raw document (``lowercase`` is not applied, as
        in CountVectorizer) and returns a list of str tokens.
    lowercase : bool, default=True
        Lower-case each document before the ``"word"`` or ``"char"``
        analyzer.
    token_pattern : str, default=r"\\w+|[^\\w\\s]"
        Regular expression of a word token (``analyzer="word"`` only). The
        default keeps one-letter words and makes every punctuation
        character a token (CountVectorizer's drops both). With one capturing
        group, the group is the token.
    max_features : int or None, default=None
        Keep only the ``max_features`` most frequent tokens (after
        ``min_df``/``max_df``; ties as in the id order above).
    min_df : int or float in [0.0, 1.0], default=1
        Drop tokens found in fewer documents than this count (int) or
        fraction of the documents (float).
    max_df : int or float in [0.0, 1.0], default=1.0
        Drop tokens found in more documents than this count or fraction.
    vocabulary : mapping or iterable of str, default=None
        A fixed vocabulary; the corpus then only needs tokenising, and
        ``min_df``, ``max_df`` and ``max_features`` are ignored. An iterable
        lists the tokens in id order: either without the special tokens
        (they are put first) or starting with exactly the reserved ones (as
        ``get_feature_names_out()`` returns them). A mapping token -> id
        either includes the special tokens at their fixed ids, or leaves
        them out and numbers its tokens from the first free id (2, or 4
        with ``bos_eos``); ids must have no gaps. A set is sorted.
    bos_eos : bool, default=False
        Reserve ids 2 and 3 for ``<bos>`` and ``<eos>`` and put them around
        every transformed document (a language model's start and
        end-of-text marks).

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Token -> id, the special tokens included.
    vocab_size_ : int
        Number of ids (``len(vocabulary_)``): the ``vocab_size`` of an
        embedding that reads this output.
    fixed_vocabulary_ : bool
        True when ``vocabulary`` was given.

    See Also
    --------
    sklearn.feature_extraction.text.CountVectorizer : bag-of-words counts.

    Notes
    -----
    Output is a list of 1D ``int64`` arrays, one per document, whatever
    ``set_output`` or ``sklearn.set_config(transform_output=...)`` says (a
    DataFrame cannot hold ragged sequences): :meth:`set_output` records the
    setting for the pipeline's later steps and leaves this output alone.

    An empty document (or one with no token) transforms to an empty array
    (``[2, 3]`` with ``bos_eos``); the estimators refuse empty sequences.

    Like CountVectorizer, this transformer has no ``n_features_in_``: its
    input is text, not columns.

    Examples
    --------
    >>> from sklstm.text import TextVectorizer
    >>> vec = TextVectorizer().fit(["The cat sat.", "A dog sat!"])
    >>> vec.get_feature_names_out().tolist()
    ['<pad>', '<unk>', 'sat', '!', '.', 'a', 'cat', 'dog', 'the']
    >>> [ids.tolist() for ids in vec.transform(["The cat sat on a mat."])]
    [[8, 6, 2, 1, 5, 1, 4]]
    >>> vec.inverse_transform([[8, 6, 2, 1, 4, 0, 0]])
    ['the cat sat <unk> .']

    Characters, with start and end marks:

    >>> chars = TextVectorizer(analyzer="char", bos_eos=True).fit(["abba", "cab"])
    >>> chars.vocabulary_
    {'<pad>': 0, '<unk>': 1, '<bos>': 2, '<eos>': 3, 'a': 4, 'b': 5, 'c': 6}
    >>> chars.transform(["Cab!"])[0].tolist()
    [2, 6, 4, 5, 1, 3]
    >>> chars.inverse_transform(chars.transform(["Cab!"]))
    ['cab<unk>']
    """

    _parameter_constraints: dict = {
        "analyzer": [StrOptions({"word", "char"}), callable],
        "lowercase": ["boolean"],
        "token_pattern": [str],
        "max_features": [Interval(Integral, 1, None, closed="left"), None],
        "min_df": [Interval(RealNotInt, 0, 1, closed="both"), Interval(Integral, 1, None, closed="left")],
        "max_df": [Interval(RealNotInt, 0, 1, closed="both"), Interval(Integral, 1, None, closed="left")],
        "vocabulary": [Mapping, HasMethods("__iter__"), None],
        "bos_eos": ["boolean"],
    }

    def __init__(self, *, analyzer="word", lowercase=True, token_pattern=DEFAULT_TOKEN_PATTERN,
                 max_features=None, min_df=1, max_df=1.0, vocabulary=None, bos_eos=False):
        self.analyzer = analyzer
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.max_features = max_features
        self.min_df = min_df
        self.max_df = max_df
        self.vocabulary = vocabulary
        self.bos_eos = bos_eos

    # ------------------------------------------------------------------ tokenising
    def _tokenizer(self):
        """A function doc -> tokens (for "char": the lower-cased string itself)."""
        if callable(self.analyzer):
            analyzer = self.analyzer

            def call(doc):
                toks = analyzer(doc)
                if isinstance(toks, (str, bytes)):
                    raise TypeError(f"the analyzer returned a {type(toks).__name__}; it must return a list "
                                    "of str tokens.")
                return list(toks)

            return call
        if self.token_pattern != DEFAULT_TOKEN_PATTERN and self.analyzer != "word":
            warnings.warn("The parameter 'token_pattern' will not be used since 'analyzer' != 'word'",
                          UserWarning, stacklevel=3)
        lower = self.lowercase
        if self.analyzer == "char":
            return (lambda doc: doc.lower()) if lower else (lambda doc: doc)
        try:
            pattern = re.compile(self.token_pattern)
        except re.error as exc:
            raise ValueError(f"token_pattern {self.token_pattern!r} is not a valid regular expression "
                             f"({exc}).") from None
        if pattern.groups > 1:
            raise ValueError("More than 1 capturing group in token pattern. Only a single group should be "
                             "captured.")
        findall = pattern.findall
        return (lambda doc: findall(doc.lower())) if lower else findall

    def _tokenize(self, raw_documents):
        docs = check_documents(raw_documents)
        tokenize = self._tokenizer()
        return [tokenize(doc) for doc in docs]

    # ------------------------------------------------------------------ fitting
    def _fit_vocabulary(self, tokenized):
        if not tokenized:
            raise ValueError("TextVectorizer needs at least one document to fit; got an empty corpus.")
        if self.vocabulary is not None:
            self.vocabulary_ = validate_vocabulary(self.vocabulary, self.bos_eos)
            self.fixed_vocabulary_ = True
            self.vocab_size_ = len(self.vocabulary_)
            return self
        tf, df = Counter(), Counter()
        for toks in tokenized:
            counts = Counter(toks)
            tf.update(counts)
            df.update(counts.keys())
        for tok in SPECIAL:
            tf.pop(tok, None)
        bad = next((t for t in tf if not isinstance(t, str)), None)
        if bad is not None:
            raise TypeError(f"the analyzer returned the token {bad!r} ({type(bad).__name__}); tokens must "
                            "be str.")
        if not tf:
            what = "characters" if self.analyzer == "char" else "tokens"
            raise ValueError(f"empty vocabulary: the documents hold no {what} (analyzer={self.analyzer!r}"
                             + (f", token_pattern={self.token_pattern!r}" if self.analyzer == "word" else "")
                             + ").")
        n_docs = len(tokenized)
        lo = self.min_df if isinstance(self.min_df, Integral) else self.min_df * n_docs
        hi = self.max_df if isinstance(self.max_df, Integral) else self.max_df * n_docs
        if hi < lo:
            raise ValueError("max_df corresponds to < documents than min_df")
        kept = [t for t in tf if lo <= df[t] <= hi]
        if not kept:
            raise ValueError(f"After pruning, no tokens remain (min_df={self.min_df}, max_df={self.max_df}, "
                             f"{n_docs} documents). Try a lower min_df or a higher max_df.")
        kept.sort(key=lambda t: (-tf[t], t))
        if self.max_features is not None:
            kept = kept[:self.max_features]
        reserved = reserved_tokens(self.bos_eos)
        self.vocabulary_ = {tok: i for i, tok in enumerate(reserved + kept)}
        self.fixed_vocabulary_ = False
        self.vocab_size_ = len(self.vocabulary_)
        return self

    def fit(self, raw_documents, y=None):
        """Learn the vocabulary of the documents.

        Parameters
        ----------
        raw_documents : iterable of str
            The documents (a list, a 1D array or a pandas Series of str).
        y : None
            Ignored.

        Returns
        -------
        self : TextVectorizer
        """
        self._validate_params()
        return self._fit_vocabulary(self._tokenize(raw_documents))

    def fit_transform(self, raw_documents, y=None):
        """Learn the vocabulary and return the documents' token ids (tokenising once).

        Parameters
        ----------
        raw_documents : iterable of str
        y : None
            Ignored.

        Returns
        -------
        ids : list of ndarray of shape (n_tokens_i,), int64
        """
        self._validate_params()
        tokenized = self._tokenize(raw_documents)
        self._fit_vocabulary(tokenized)
        return self._encode(tokenized)

    def _check_fitted(self):
        if not hasattr(self, "vocabulary_"):
            if self.vocabulary is None:
                raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' "
                                     "with appropriate arguments before using this estimator.")
            self._validate_params()
            self.vocabulary_ = validate_vocabulary(self.vocabulary, self.bos_eos)
            self.fixed_vocabulary_ = True
            self.vocab_size_ = len(self.vocabulary_)

    def _n_reserved(self):
        """Reserved ids of the fitted vocabulary (its layout, not the current bos_eos)."""
        return 4 if self.vocabulary_.get(BOS) == 2 else 2

    # ------------------------------------------------------------------ transforming
    def _encode(self, tokenized):
        k = self._n_reserved()
        marks = k == 4
        if self.analyzer == "char":
            chars = sorted((ord(t), i) for t, i in self.vocabulary_.items() if i >= k and len(t) == 1)
            cps = np.array([c for c, _ in chars], dtype=np.uint32)
            idv = np.array([i for _, i in chars], dtype=np.int64)

            def encode(doc):
                u = np.frombuffer(doc.encode("utf-32-le", "surrogatepass"), dtype="<u4")
                if not cps.size:
                    return np.ones(u.size, dtype=np.int64)
                pos = np.searchsorted(cps, u)
                pos[pos == cps.size] = 0
                return np.where(cps[pos] == u, idv[pos], 1).astype(np.int64)
        else:
            lookup = {t: i for t, i in self.vocabulary_.items() if i >= k}
            get = lookup.get

            def encode(toks):
                try:
                    return np.array([get(t, 1) for t in toks], dtype=np.int64)
                except TypeError:
                    bad = next(t for t in toks if not isinstance(t, str))
                    raise TypeError(f"the analyzer returned the token {bad!r} ({type(bad).__name__}); "
                                    "tokens must be str.") from None

        out = [encode(toks) for toks in tokenized]
        if marks:
            two, three = np.array([2], dtype=np.int64), np.array([3], dtype=np.int64)
            out = [np.concatenate([two, a, three]) for a in out]
        return out

    def transform(self, raw_documents):
        """Turn documents into sequences of token ids.

        Parameters
        ----------
        raw_documents : iterable of str

        Returns
        -------
        ids : list of ndarray of shape (n_tokens_i,), int64
            One array per document (ragged): unknown tokens are 1
            (``<unk>``); with ``bos_eos`` each starts with 2 and ends with 3.
            An empty document gives an empty array (``[2, 3]`` with
            ``bos_eos``).
        """
        self._check_fitted()
        return self._encode(self._tokenize(raw_documents))

    def _id_sequences(self, X):
        """Token-id input (2D padded array or list of 1D sequences) as a list of int64 arrays."""
        if isinstance(X, (str, bytes)):
            raise TypeError("inverse_transform takes token ids (a list of 1D integer arrays or a 2D "
                            "padded array), not a string.")
        if isinstance(X, np.ndarray) and X.dtype != object:
            if X.ndim == 1:
                raise ValueError(f"got a 1D array of shape {X.shape}; inverse_transform takes a list of "
                                 "sequences or a 2D padded array: for one sequence pass [ids].")
            if X.ndim != 2:
                raise ValueError(f"got an array of shape {X.shape}; inverse_transform takes a list of 1D "
                                 "sequences or a 2D padded array.")
            rows = list(X)
        else:
            try:
                rows = list(X)
            except TypeError:
                raise TypeError(f"inverse_transform takes token ids (a list of 1D integer arrays or a 2D "
                                f"padded array); got {type(X).__name__}.") from None
        out = []
        V = self.vocab_size_
        for i, row in enumerate(rows):
            a = np.asarray(row)
            if a.size == 0:
                out.append(np.zeros(0, dtype=np.int64))
                continue
            if a.ndim != 1:
                raise ValueError(f"sequence {i} has shape {a.shape}; each sequence of token ids must be 1D.")
            if a.dtype == object and all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                         for v in a):
                a = a.astype(np.int64)
            if a.dtype.kind not in "iu":
                raise ValueError(f"sequence {i} has dtype {a.dtype}; token ids must be integers.")
            lo, hi = int(a.min()), int(a.max())
            if lo < 0 or hi >= V:
                bad = lo if lo < 0 else hi
                raise ValueError(f"sequence {i} holds the id {bad}, outside [0, {V}) (vocab_size_={V}).")
            out.append(a.astype(np.int64, copy=False))
        return out

    def inverse_transform(self, X):
        """Turn sequences of token ids back into strings.

        ``<pad>``, ``<bos>`` and ``<eos>`` are dropped; ``<unk>`` is written
        ``"<unk>"``. Tokens are joined with ``""`` for ``analyzer="char"``
        (the lower-cased text comes back exactly when every character is in
        the vocabulary) and with a space otherwise: for words this is not
        an exact round trip (``"cat, dog"`` comes back as ``"cat , dog"``,
        and line breaks as single spaces).

        Parameters
        ----------
        X : list of 1D integer array-likes, or 2D integer array of shape (n, T)
            Ragged sequences, or sequences padded with 0 (``<pad>``).

        Returns
        -------
        texts : list of str
        """
        self._check_fitted()
        seqs = self._id_sequences(X)
        names = self.get_feature_names_out().tolist()
        k = self._n_reserved()
        sep = "" if self.analyzer == "char" else " "
        out = []
        for a in seqs:
            keep = a[(a != 0) & ((a >= k) | (a == 1))] if k == 4 else a[a != 0]
            out.append(sep.join([names[i] for i in keep.tolist()]))
        return out

    def get_feature_names_out(self, input_features=None):
        """Tokens in id order, the special tokens first.

        Parameters
        ----------
        input_features : None
            Ignored (text has no input features), as in CountVectorizer.

        Returns
        -------
        feature_names_out : ndarray of str objects, shape ``(vocab_size_,)``
        """
        self._check_fitted()
        out = np.empty(len(self.vocabulary_), dtype=object)
        for tok, i in self.vocabulary_.items():
            out[i] = tok
        return out

    def set_output(self, *, transform=None):
        """Record an output container; this transformer's ragged output stays a list.

        A pipeline's ``set_output(transform="pandas")`` reaches every step;
        this one accepts it (so the call works) and keeps returning a list
        of arrays, as a DataFrame cannot hold sequences of different
        lengths.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None
            None leaves the setting unchanged.

        Returns
        -------
        self : TextVectorizer
        """
        if transform is not None:
            if transform not in ("default", "pandas", "polars"):
                raise ValueError(f"transform must be 'default', 'pandas', 'polars' or None; "
                                 f"got {transform!r}")
            if not hasattr(self, "_sklearn_output_config"):
                self._sklearn_output_config = {}
            self._sklearn_output_config["transform"] = transform
        return self

    # ------------------------------------------------------------------ persistence (sklstm.save)
    def _persistent_state(self):
        """Fitted state for :func:`sklstm.save`; refuses what the safe format cannot hold."""
        if callable(self.analyzer):
            raise TypeError("a callable analyzer cannot be saved by sklstm.save (the format never stores "
                            "code); use analyzer='word' or 'char', or save with pickle, joblib or skops.")
        v = self.vocabulary
        if v is not None and not (type(v) in (dict, list, tuple)
                                  or (isinstance(v, np.ndarray) and v.ndim == 1)):
            raise TypeError(f"a vocabulary of type {type(v).__name__} cannot be saved by sklstm.save; pass "
                            "it as a list or a dict.")
        if not hasattr(self, "vocabulary_"):
            return {}
        return {"vocabulary_": dict(self.vocabulary_), "vocab_size_": int(self.vocab_size_),
                "fixed_vocabulary_": bool(self.fixed_vocabulary_)}

    def _restore_state(self, state):
        """Inverse of :meth:`_persistent_state`, checking every type and id."""
        if not state:
            return
        check_fitted_state(state)
        self.vocabulary_ = state["vocabulary_"]
        self.vocab_size_ = state["vocab_size_"]
        self.fixed_vocabulary_ = state["fixed_vocabulary_"]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags
