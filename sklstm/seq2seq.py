"""``LSTMSeq2Seq``: an encoder-decoder that writes an output sequence of its own length.

Translation-like tasks (Sutskever et al. 2014; Cho et al. 2014) and the
image-captioning pattern behind a scikit-learn estimator: strings (or
token ids, or feature vectors) in, strings out, with teacher forcing,
optional Luong attention and beam search. The network is the family of
:mod:`sklstm._seq2seq` on the one training loop of :mod:`sklstm._training`;
decoding is :mod:`sklstm._decoding`.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state

from ._base import BaseRecurrent, _rows
from ._decoding import generate
from ._objectives import TrainOptions
from ._optimizers import make_optimizer
from ._pairs import PairInput, looks_like_features
from ._seq2seq import Seq2SeqObjective, attention_maps, log_likelihoods
from ._seq2seq_persistence import persistent_state, restore
from ._seq2seq_spec import Seq2SeqSpec
from ._sequences import writable
from ._sklearn_compat import Interval, StrOptions
from ._training import LoopConfig, LoopState, TrainingLoop, Validation, split_validation
from ._validation import warn_user
from ._vocabulary import DEFAULT_TOKEN_PATTERN

__all__ = ["LSTMSeq2Seq"]

_SHARED = ("hidden_layer_sizes", "cell", "bidirectional", "dropout", "solver", "learning_rate",
           "learning_rate_init", "power_t", "momentum", "nesterovs_momentum", "beta_1", "beta_2", "epsilon",
           "rho", "alpha", "batch_size", "max_iter", "shuffle", "random_state", "tol", "n_iter_no_change",
           "early_stopping", "validation_fraction", "warm_start", "verbose", "clip_value", "clip_norm",
           "dtype")


class LSTMSeq2Seq(PairInput, BaseEstimator):
    """Encoder-decoder (sequence to sequence) with teacher forcing, attention and beam search.

    An encoder (a stack of LSTM, GRU or RNN layers, optionally
    bidirectional) reads the source; its final states initialise a decoder
    of the same sizes (through a learned bridge when the widths differ:
    bidirectional encoder, or a feature-vector source); the decoder writes
    the target one token at a time, each step reading the previous token,
    trained with teacher forcing on the next-token cross-entropy. With
    ``attention=True`` each decoder step also reads a weighted mean of the
    encoder outputs (Luong et al. 2015, dot score, no input feeding).

    Sources and targets are raw strings, each side with its own
    :class:`~sklstm.text.TextVectorizer` (characters or words), or token-id
    sequences; a source may also be a 2D numeric feature matrix, one row per
    pair, whose learned projection initialises the decoder (the
    image-captioning pattern).

    Parameters
    ----------
    source_analyzer, target_analyzer : {"char", "word"}, default="char"
        Tokens of each side: characters or words (``token_pattern``).
    lowercase : bool, default=False
        Lower-case both sides first.
    token_pattern : str, default=r"\\w+|[^\\w\\s]"
        Word tokens: words and single punctuation marks.
    max_features : int or None, default=None
        Keep only the most frequent tokens of each side (others: ``<unk>``).
    hidden_layer_sizes : int or tuple of int, default=(128,)
        Hidden units of each layer, of the encoder and the decoder.
    cell : {"lstm", "gru", "rnn", "lstm1997"}, default="lstm"
    bidirectional : bool, default=False
        Bidirectional encoder.
    embedding_dim : int, default=32
        Width of the source and target token embeddings.
    attention : bool, default=False
        Luong dot-product attention over the encoder outputs (not with a
        feature-vector source).
    teacher_forcing_ratio : float in [0, 1], default=1.0
        Probability that a decoder input in training is the true previous
        token; otherwise it is the model's own most likely one (scheduled
        sampling).
    dropout : float, default=0.0
        Dropout between stacked layers and before the output layer.
    solver, learning_rate, learning_rate_init, power_t, momentum, nesterovs_momentum, beta_1, beta_2, \
epsilon, rho, alpha
        The optimizer, as in :class:`~sklstm.LSTMClassifier` (``alpha``: L2
        penalty per target token). ``learning_rate_init`` defaults to 3e-3.
    batch_size : int, default=64
        Pairs per mini-batch (bucketed by source length).
    max_iter : int, default=30
        Epochs.
    shuffle, tol, n_iter_no_change, warm_start
        As in :class:`~sklstm.LSTMClassifier`.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the pairs; stop on their
        log-likelihood per target token and keep the best weights.
    validation_fraction : float, default=0.1
    verbose : bool, default=False
        A progress bar over epochs.
    clip_value : float or None, default=None
    clip_norm : float or None, default=5.0
        Clip the gradient's global norm.
    max_new_tokens : int or None, default=None
        Longest output :meth:`predict` and :meth:`score` write (None: twice
        the longest training target, plus 10 tokens). ``fit`` refuses
        targets longer than a given value.
    random_state : int, RandomState instance or None, default=None
    device : {"cpu", "auto"}, default="cpu"
        This model has no GPU path yet: ``"cuda"`` is refused.
    dtype : {"float32", "float64"}, default="float32"

    Attributes
    ----------
    source_kind_ : {"text", "ids", "features"}
    source_vectorizer_, target_vectorizer_ : TextVectorizer or None
        The fitted vocabularies (None for token ids or features).
    n_features_in_ : int
        Features of a feature-vector source (set only then).
    max_target_length_ : int
        Tokens of the longest training target.
    n_iter_, loss_, loss_curve_, validation_scores_, best_validation_score_
        As in :class:`~sklstm.LSTMClassifier`; the loss is the mean
        cross-entropy per target token (nats).
    coefs_flat_ : ndarray
        All weights; :meth:`state_dict` names them as a torch module.

    Notes
    -----
    :meth:`score` is exact-match accuracy: the share of sources whose
    greedy output has exactly the target's tokens. :meth:`score_pairs`
    gives the model's log-likelihood of given targets. Token-id targets
    keep their ids; the model adds its ``<bos>`` and ``<eos>`` marks after
    the largest id.

    Examples
    --------
    >>> from sklstm import LSTMSeq2Seq
    >>> X = ["ab", "ba", "abb", "bba", "aab", "bab"] * 8
    >>> y = [s[::-1] for s in X]
    >>> model = LSTMSeq2Seq(hidden_layer_sizes=24, embedding_dim=8, learning_rate_init=0.03,
    ...                     max_iter=60, random_state=0).fit(X, y)
    >>> model.predict(["abb", "bab"])
    ['bba', 'bab']
    >>> model.score(X, y)
    1.0
    """

    _parameter_constraints: dict = {
        **{k: BaseRecurrent._parameter_constraints[k] for k in _SHARED},
        "source_analyzer": [StrOptions({"word", "char"})],
        "target_analyzer": [StrOptions({"word", "char"})],
        "lowercase": ["boolean"],
        "token_pattern": [str],
        "max_features": [Interval(Integral, 1, None, closed="left"), None],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "attention": ["boolean"],
        "teacher_forcing_ratio": [Interval(Real, 0, 1, closed="both")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_new_tokens": [Interval(Integral, 1, None, closed="left"), None],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
    }

    def __init__(self, *, source_analyzer="char", target_analyzer="char", lowercase=False,
                 token_pattern=DEFAULT_TOKEN_PATTERN, max_features=None, hidden_layer_sizes=(128,),
                 cell="lstm", bidirectional=False, embedding_dim=32, attention=False,
                 teacher_forcing_ratio=1.0, dropout=0.0, solver="adam", learning_rate="constant",
                 learning_rate_init=3e-3, power_t=0.5, momentum=0.9, nesterovs_momentum=True, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, rho=0.9, alpha=0.0, batch_size=64, max_iter=30, shuffle=True,
                 tol=1e-4, n_iter_no_change=5, early_stopping=False, validation_fraction=0.1,
                 warm_start=False, verbose=False, clip_value=None, clip_norm=5.0, max_new_tokens=None,
                 random_state=None, device="cpu", dtype="float32"):
        self.source_analyzer = source_analyzer
        self.target_analyzer = target_analyzer
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.max_features = max_features
        self.hidden_layer_sizes = hidden_layer_sizes
        self.cell = cell
        self.bidirectional = bidirectional
        self.embedding_dim = embedding_dim
        self.attention = attention
        self.teacher_forcing_ratio = teacher_forcing_ratio
        self.dropout = dropout
        self.solver = solver
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.rho = rho
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.warm_start = warm_start
        self.verbose = verbose
        self.clip_value = clip_value
        self.clip_norm = clip_norm
        self.max_new_tokens = max_new_tokens
        self.random_state = random_state
        self.device = device
        self.dtype = dtype

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.non_deterministic = False
        return tags

    # ------------------------------------------------------------------ fit
    def fit(self, X, y):
        """Learn both vocabularies and train the encoder-decoder for ``max_iter`` epochs.

        Parameters
        ----------
        X : list of str, list of 1D integer arrays, or a 2D float ndarray / DataFrame (n_pairs, n_features)
            Sources: texts, token ids, or one feature vector per pair.
        y : list of str or list of 1D integer arrays
            Targets.

        Returns
        -------
        self : LSTMSeq2Seq
        """
        self._validate_params()
        if self.device == "cuda":
            raise ValueError("LSTMSeq2Seq has no GPU path yet; use device='cpu' (or 'auto').")
        if self.attention and looks_like_features(X):
            raise ValueError("attention=True needs a source sequence to attend to; a feature-vector source "
                             "has none. Set attention=False.")
        if self.warm_start and hasattr(self, "coefs_flat_"):
            self._check_unchanged_architecture()
            src, tgt = self._encode_sources(X), self._encode_targets(y)
            n_src = src.shape[0] if self.source_kind_ == "features" else len(src)
            if n_src != len(tgt):
                raise ValueError(f"X holds {n_src} sources and y {len(tgt)} targets; they must pair up.")
            self.max_target_length_ = max(self.max_target_length_, self._check_target_lengths(tgt))
            data = self._batch(src, tgt)
            self.coefs_flat_ = writable(self.coefs_flat_)
        else:
            data = self._fit_sides(X, y)
            self._fitted_text_settings = self._text_settings()
            self._initialize()
        self._train(data)
        return self

    def _hidden_tuple(self):
        return BaseRecurrent._hidden_tuple(self)

    def _initialize(self):
        rs = check_random_state(self.random_state)
        init_rng = np.random.default_rng(rs.randint(2**31))
        features = self.source_kind_ == "features"
        self._spec = Seq2SeqSpec(self.cell, self._hidden_tuple(), bool(self.bidirectional) and not features,
                                 self._source_vocab,
                                 self.n_features_in_ if features else int(self.embedding_dim),
                                 self._target_vocab, int(self.embedding_dim), bool(self.attention), self._bos,
                                 self._eos)
        if features and self.bidirectional:
            warn_user("bidirectional=True has no effect with a feature-vector source (there is no encoder).")
        self.coefs_flat_ = self._spec.init_params(init_rng, np.dtype(self.dtype))
        self._optimizer = make_optimizer(self.get_params(deep=False), self._spec.n_params,
                                         np.dtype(self.dtype))
        self._rng = np.random.default_rng(rs.randint(2**31))
        LoopState.new(self.early_stopping).publish(self)

    def _check_unchanged_architecture(self):
        spec = self._spec
        now = {"hidden_layer_sizes": self._hidden_tuple(), "cell": self.cell,
               "bidirectional": bool(self.bidirectional) and not spec.features,
               "attention": bool(self.attention), "embedding_dim": int(self.embedding_dim),
               "dtype": np.dtype(self.dtype), "solver": self.solver, **self._text_settings()}
        was = {"hidden_layer_sizes": spec.hidden, "cell": spec.cell, "bidirectional": spec.bidirectional,
               "attention": spec.attention, "embedding_dim": spec.embedding_dim,
               "dtype": self.coefs_flat_.dtype, "solver": self._optimizer.solver,
               **getattr(self, "_fitted_text_settings", self._text_settings())}
        changed = [k for k in now if now[k] != was[k]]
        if changed:
            raise ValueError(f"{', '.join(changed)} changed since the network was fitted "
                             f"({was[changed[0]]!r} -> {now[changed[0]]!r}); warm_start continues the fitted "
                             "network. Set warm_start=False to train a new one.")

    def _text_settings(self):
        """The parameters the vocabularies were built with (a warm start keeps the vocabularies)."""
        names = ("source_analyzer", "target_analyzer", "lowercase", "token_pattern", "max_features")
        return {k: getattr(self, k) for k in names}

    def _train(self, data):
        state = LoopState.from_estimator(self)
        validation = None
        if self.early_stopping:
            if state.validation_scores is None:
                state.validation_scores, state.best_validation_score = [], -np.inf
            tr, va = split_validation(len(data), self.validation_fraction, self.random_state)
            validation = Validation(_rows(data, va), self._mean_log_likelihood)
            data = _rows(data, tr)
        objective = Seq2SeqObjective(self._spec, TrainOptions(
            alpha=self.alpha, dropout=self.dropout, clip_value=self.clip_value, clip_norm=self.clip_norm),
            self.teacher_forcing_ratio)
        config = LoopConfig(self.max_iter, self.batch_size, self.shuffle, self.tol, self.n_iter_no_change,
                            self.verbose, "cpu", type(self).__name__)
        loop = TrainingLoop(config, objective, self.coefs_flat_, self._optimizer, self._rng)
        try:
            loop.fit_loop(state, data, self.max_iter, False, validation)
        finally:
            state.publish(self)

    def _mean_log_likelihood(self, data):
        ll, counts = log_likelihoods(self._spec, self.coefs_flat_, data.X, data.lengths, data.y)
        return float(ll.sum() / counts.sum())

    # ------------------------------------------------------------------ prediction and scores
    def _check_fitted(self):
        if not hasattr(self, "coefs_flat_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                                 "appropriate arguments before using this estimator.")

    def _budget(self, max_new_tokens):
        if max_new_tokens is None:
            max_new_tokens = self.max_new_tokens
        if max_new_tokens is None:
            return 2 * self.max_target_length_ + 10
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, Integral) or max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be an integer >= 1; got {max_new_tokens!r}.")
        return int(max_new_tokens)

    def _decode(self, X, num_beams, max_new_tokens, length_penalty):
        self._check_fitted()
        if isinstance(num_beams, bool) or not isinstance(num_beams, Integral) or num_beams < 1:
            raise ValueError(f"num_beams must be an integer >= 1; got {num_beams!r}.")
        if isinstance(length_penalty, bool) or not isinstance(length_penalty, Real) \
                or not np.isfinite(length_penalty):
            raise ValueError(f"length_penalty must be a finite number; got {length_penalty!r}.")
        budget = self._budget(max_new_tokens)
        data = self._batch(self._encode_sources(X))
        out = generate(self._spec, self.coefs_flat_, data.X, data.lengths, budget, int(num_beams),
                       float(length_penalty))
        if out.cut.any():
            warn_user(f"{int(out.cut.sum())} output(s) reached max_new_tokens={budget} without an end mark "
                      "and were cut there.")
        return out

    def _detokenize(self, ids):
        vec = self.target_vectorizer_
        if vec is None:
            return ids
        words = vec.get_feature_names_out()[ids].tolist()
        return ("" if vec.analyzer == "char" else " ").join(words)

    def predict(self, X, num_beams=1, max_new_tokens=None, length_penalty=1.0):
        """Write the output of each source: greedy, or beam search with ``num_beams`` beams.

        Parameters
        ----------
        X : list of str, list of 1D integer arrays, or a 2D float ndarray / DataFrame (n_pairs, n_features)
        num_beams : int, default=1
            1 is greedy decoding. Beam search keeps the ``num_beams`` best
            hypotheses per step; it never returns an output that ranks below
            the greedy one.
        max_new_tokens : int or None, default=None
            Longest output, in tokens (None: the ``max_new_tokens``
            parameter, or twice the longest training target plus 10). A
            longer output is cut, with a warning.
        length_penalty : float, default=1.0
            Beam search ranks a finished output by ``log-likelihood /
            (n_tokens + 1) ** length_penalty``; 0 ranks by log-likelihood.

        Returns
        -------
        outputs : list of str (or of 1D int64 arrays for token-id targets)
            Words of a word-level target are joined by single spaces.
        """
        out = self._decode(X, num_beams, max_new_tokens, length_penalty)
        return [self._detokenize(t) for t in out.tokens]

    def score_pairs(self, X, y):
        """Log-likelihood of each target given its source (nats, the end mark included).

        Parameters
        ----------
        X : sources, as in :meth:`fit`
        y : list of str or list of 1D integer arrays

        Returns
        -------
        loglik : ndarray of shape (n_pairs,), float64
        """
        self._check_fitted()
        src, tgt = self._encode_sources(X), self._encode_targets(y)
        if len(tgt) != (src.shape[0] if self.source_kind_ == "features" else len(src)):
            raise ValueError("X and y must hold the same number of pairs.")
        data = self._batch(src, tgt)
        return log_likelihoods(self._spec, self.coefs_flat_, data.X, data.lengths, data.y)[0]

    def attention_weights(self, X, y=None):
        """Attention weights of each pair: how much each output token read each source token.

        Parameters
        ----------
        X : sources, as in :meth:`fit` (text or token ids)
        y : list of str, list of 1D integer arrays, or None, default=None
            Targets to read (teacher forced); None: the greedy outputs of
            :meth:`predict`, so that the weights are those of its decoding.

        Returns
        -------
        weights : list of float64 ndarrays of shape (n_target_tokens + 1, n_source_tokens)
            Row ``t``: the softmax over the source tokens when the decoder
            writes target token ``t`` (the last row: ``<eos>``).
        """
        self._check_fitted()
        if not self._spec.attention:
            raise ValueError("attention_weights needs a model fitted with attention=True.")
        src = self._encode_sources(X)
        tgt = self._encode_targets(y) if y is not None else \
            [np.append(t, self._spec.eos) for t in self._decode(X, 1, None, 1.0).tokens]
        if len(tgt) != len(src):
            raise ValueError("X and y must hold the same number of pairs.")
        data = self._batch(src, tgt)
        return attention_maps(self._spec, self.coefs_flat_, data.X, data.lengths, data.y)

    def score(self, X, y, sample_weight=None):
        """Exact-match accuracy of the greedy outputs: the share with exactly the target's tokens.

        Outputs and targets are compared as token sequences, after the
        target vectorizer's normalisation (``lowercase``); a token outside
        the vocabulary (``<unk>``) on either side never matches.

        Parameters
        ----------
        X : sources, as in :meth:`fit`
        y : list of str or list of 1D integer arrays
        sample_weight : array-like of shape (n_pairs,) or None

        Returns
        -------
        score : float
        """
        self._check_fitted()
        tgt = self._encode_targets(y)
        budget = self._budget(None)
        longest = int(np.argmax([len(t) for t in tgt]))
        if len(tgt[longest]) - 1 > budget:
            raise ValueError(f"target {longest} has {len(tgt[longest]) - 1} tokens, more than max_new_tokens="
                             f"{budget}: no output can match it. Raise max_new_tokens.")
        out = self._decode(X, 1, None, 1.0)
        if len(out.tokens) != len(tgt):
            raise ValueError("X and y must hold the same number of pairs.")
        unk = 1 if self.target_vectorizer_ is not None else -1  # id targets have no <unk>
        hits = np.array([np.array_equal(o, t[:-1]) and not (o == unk).any() for o, t in zip(out.tokens, tgt)],
                        dtype=np.float64)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            if sample_weight.shape != hits.shape:
                raise ValueError(f"sample_weight has shape {sample_weight.shape}; expected ({hits.size},).")
        return float(np.average(hits, weights=sample_weight))

    # ------------------------------------------------------------------ weights and persistence
    def state_dict(self) -> dict:
        """Weights as numpy arrays keyed like a torch encoder-decoder module.

        Returns
        -------
        state : dict of str to ndarray
            ``encoder.embedding.weight``, ``encoder.rnn.*`` (``torch.nn.LSTM``
            names), ``bridge.h_l{k}.weight`` / ``.bias`` (and ``c_l{k}``),
            ``decoder.embedding.weight``, ``decoder.rnn.*``,
            ``attention.key.weight``, ``attention.combine.weight`` / ``.bias``
            and ``head.weight`` / ``head.bias``, as present.
        """
        self._check_fitted()
        return {k: a.copy() for k, a in self._spec.views(self.coefs_flat_).items()}

    def load_state_dict(self, state: dict) -> "LSTMSeq2Seq":
        """Copy weights (e.g. a torch module's ``state_dict()``) into the fitted network.

        Parameters
        ----------
        state : dict of str to array-like
            Every key of :meth:`state_dict`, with the same shapes.

        Returns
        -------
        self : LSTMSeq2Seq
        """
        return BaseRecurrent.load_state_dict(self, state)

    _persistent_state = persistent_state  # persistent_state(est) -> dict, restore(est, state)
    _restore_state = restore
