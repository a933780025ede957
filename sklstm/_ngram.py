"""``NgramLanguageModel``: the classical baseline a recurrent language model has to beat.

An interpolated Kneser-Ney n-gram model (Kneser & Ney 1995; Chen & Goodman
1998) over the same tokens and with the same scoring as
:class:`sklstm.LSTMLanguageModel`, so that the two are compared number for
number.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from ._corpus import CorpusInput
from ._sklearn_compat import Interval, StrOptions
from ._vocabulary import DEFAULT_TOKEN_PATTERN
from .text import TextVectorizer

__all__ = ["NgramLanguageModel"]


class NgramLanguageModel(CorpusInput, BaseEstimator):
    """Interpolated Kneser-Ney n-gram language model of characters or words.

    The same input, tokens and scores as :class:`sklstm.LSTMLanguageModel`
    (every document read as ``<bos> tokens <eos>``; :meth:`score` is the
    mean log-likelihood per token after the ``<bos>``, in nats), so a
    recurrent model and this classical baseline are compared on exactly the
    same numbers. An n-gram never reaches back past its document's
    ``<bos>``.

    Probabilities interpolate every order down to a uniform distribution
    over the vocabulary (``<pad>`` and ``<bos>`` excluded)::

        P(w | h) = max(c(h w) - D, 0) / c(h) + D * N(h) / c(h) * P(w | h')

    where ``h'`` drops the oldest token of ``h``, ``N(h)`` counts the
    distinct tokens seen after ``h``, and ``c`` is the raw count at the
    highest order and the continuation count (distinct tokens before) at
    the lower ones, except for n-grams that start at ``<bos>``, which have
    no token before them and keep their raw counts.

    Parameters
    ----------
    order : int, default=5
        ``n``: each token is predicted from the ``n - 1`` tokens before it.
    discount : float in (0, 1) or None, default=None
        ``D``; None estimates it per order as ``n1 / (n1 + 2 * n2)`` from
        the numbers of n-grams seen once and twice.
    analyzer : {"char", "word"} or callable, default="char"
    lowercase : bool, default=False
    token_pattern : str, default=r"\\w+|[^\\w\\s]"
    max_features : int or None, default=None
    min_df : int or float, default=1
    vocabulary : mapping or iterable of str, default=None
        As in :class:`sklstm.LSTMLanguageModel`.

    Attributes
    ----------
    vectorizer_ : TextVectorizer or None
        The fitted vocabulary (None when fitted on token ids).
    tokens_ : ndarray of shape ``(vocab_size_,)``
    vocab_size_ : int
    discounts_ : ndarray of shape (order,)
        ``D`` of each history length ``0 .. order - 1``.

    See Also
    --------
    sklstm.LSTMLanguageModel : the recurrent model with the same scores.

    Examples
    --------
    >>> from sklstm.language_model import NgramLanguageModel
    >>> text = "abcabcabcabd " * 40
    >>> ngram = NgramLanguageModel(order=3).fit(text)
    >>> ngram.perplexity(text) < 1.5
    True
    >>> p = ngram.predict_proba(["ab"])[0]
    >>> ngram.tokens_[p.argmax()], round(float(p.sum()), 6)
    ('c', 1.0)
    """

    _parameter_constraints: dict = {
        "order": [Interval(Integral, 1, None, closed="left")],
        "discount": [Interval(Real, 0, 1, closed="neither"), None],
        "analyzer": [StrOptions({"word", "char"}), callable],
        "lowercase": ["boolean"],
        "token_pattern": [str],
        "max_features": [Interval(Integral, 1, None, closed="left"), None],
        "min_df": [Interval(Real, 0, 1, closed="both"), Interval(Integral, 1, None, closed="left")],
        "vocabulary": TextVectorizer._parameter_constraints["vocabulary"],
    }

    def __init__(self, *, order=5, discount=None, analyzer="char", lowercase=False,
                 token_pattern=DEFAULT_TOKEN_PATTERN, max_features=None, min_df=1, vocabulary=None):
        self.order = order
        self.discount = discount
        self.analyzer = analyzer
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.max_features = max_features
        self.min_df = min_df
        self.vocabulary = vocabulary

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.target_tags.required = False
        return tags

    def fit(self, X, y=None):
        """Learn the vocabulary and count the n-grams of the text.

        Parameters
        ----------
        X : str, iterable of str, or list of 1D integer arrays
        y : None
            Ignored.

        Returns
        -------
        self : NgramLanguageModel
        """
        self._validate_params()
        seqs = self._encode(X, reset=True)
        n = int(self.order)
        bos = 2 if self.vectorizer_ is not None else None  # the <bos> id of TextVectorizer(bos_eos=True)
        grams = [Counter() for _ in range(n)]  # grams[m][(h..., w)]: raw counts, history length m
        for s in seqs:
            s = tuple(int(t) for t in s)
            for i in range(1, len(s)) if bos is not None else range(len(s)):
                for m in range(min(n - 1, i) + 1):
                    grams[m][s[i - m:i + 1]] += 1
        left = [defaultdict(set) for _ in range(n)]  # distinct tokens before each lower-order n-gram
        for m in range(1, n):
            for g in grams[m]:
                left[m - 1][g[1:]].add(g[0])
        tables, discounts = [], []
        for m in range(n):
            adjusted = {}
            for g, c in grams[m].items():
                if m == n - 1 or (m > 0 and g[0] == bos) or g not in left[m]:
                    adjusted[g] = c  # highest order, or an n-gram nobody extends to the left
                else:
                    adjusted[g] = len(left[m][g])
            counts = np.bincount(np.minimum(np.fromiter(adjusted.values(), dtype=np.int64), 3), minlength=4)
            if self.discount is not None:
                d = float(self.discount)
            elif counts[1] and counts[2]:
                d = float(min(0.95, max(0.05, counts[1] / (counts[1] + 2.0 * counts[2]))))
            else:
                d = 0.5
            discounts.append(d)
            table = defaultdict(dict)
            for g, c in adjusted.items():
                table[g[:-1]][g[-1]] = c
            tables.append({h: (sum(ws.values()), len(ws), ws) for h, ws in table.items()})
        self._tables = tables
        self.discounts_ = np.array(discounts)
        V = self.vocab_size_
        self._allowed = np.ones(V, dtype=bool)
        self._allowed[0] = False
        if bos is not None:
            self._allowed[bos] = False
        return self

    def _check_fitted(self):
        if not hasattr(self, "_tables"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                                 "appropriate arguments before using this estimator.")

    def _prob(self, history, w):
        """``P(w | history)`` (scalar), interpolated from the empty history up."""
        p = 1.0 / float(self._allowed.sum())
        for m in range(len(history) + 1):
            entry = self._tables[m].get(history[len(history) - m:])
            if entry is None:
                break  # a longer history is unseen too
            total, types, ws = entry
            d = self.discounts_[m]
            p = max(ws.get(w, 0) - d, 0.0) / total + d * types / total * p
        return p

    def _distribution(self, history):
        """``P(. | history)`` over the vocabulary."""
        V = self.vocab_size_
        p = self._allowed / float(self._allowed.sum())
        for m in range(len(history) + 1):
            entry = self._tables[m].get(history[len(history) - m:])
            if entry is None:
                break
            total, types, ws = entry
            d = self.discounts_[m]
            c = np.zeros(V)
            c[list(ws)] = list(ws.values())
            p = np.maximum(c - d, 0.0) / total + d * types / total * p
        return p

    def _histories(self, s, i):
        return tuple(int(t) for t in s[max(0, i - self.order + 1):i])

    def score(self, X, y=None):
        """Mean log-likelihood per token (nats; as :meth:`sklstm.LSTMLanguageModel.score`).

        Parameters
        ----------
        X : str, iterable of str, or list of 1D integer arrays
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        self._check_fitted()
        total, n = 0.0, 0
        for s in self._encode(X):
            for i in range(1, len(s)):
                total += math.log(self._prob(self._histories(s, i), int(s[i])))
                n += 1
        if n == 0:
            raise ValueError("nothing to score: every sequence holds a single token.")
        return total / n

    def perplexity(self, X):
        """Perplexity of the text: ``exp(-score(X))``.

        Parameters
        ----------
        X : str, iterable of str, or list of 1D integer arrays

        Returns
        -------
        perplexity : float
        """
        return float(math.exp(-self.score(X)))

    def predict_proba(self, X):
        """Distribution of the next token after each prefix (an empty string: a document's first token).

        Parameters
        ----------
        X : str or list of str (or of 1D integer arrays for a model fitted on ids)

        Returns
        -------
        proba : ndarray of shape ``(n_prefixes, vocab_size_)``
        """
        self._check_fitted()
        if self.vectorizer_ is not None:
            prefixes = [X] if isinstance(X, str) else list(X)
            if not all(isinstance(p, str) for p in prefixes):
                raise TypeError("prefixes must be str for a model fitted on text.")
            seqs = [s[:-1] for s in self.vectorizer_.transform(prefixes)]
        else:
            seqs = self._encode(X, "prefixes")
        return np.array([self._distribution(self._histories(s, len(s))) for s in seqs])
