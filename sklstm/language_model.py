"""``LSTMLanguageModel``: a character- or word-level language model that scores and writes text.

The torch ``word_language_model`` / char-rnn recipe behind a scikit-learn
estimator: raw strings in, a :class:`~sklstm.text.TextVectorizer` inside,
embedding -> stacked LSTM/GRU/RNN -> softmax over the vocabulary, trained on
parallel streams with truncated BPTT whose state carries over from chunk to
chunk (:mod:`sklstm._language`) on the one training loop of
:mod:`sklstm._training`.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state

from . import _state
from ._base import BaseRecurrent
from ._corpus import CorpusInput
from ._generation import GenerationMixin
from ._ngram import NgramLanguageModel
from ._language import LanguageModelObjective, StreamLoop, consume, stream_batches
from ._objectives import TrainOptions
from ._optimizers import make_optimizer
from ._sequences import writable
from ._sklearn_compat import Interval, StrOptions
from ._spec import NetworkSpec
from ._training import LoopConfig, LoopState, Validation
from ._validation import warn_user
from ._vocabulary import BOS, DEFAULT_TOKEN_PATTERN, EOS
from .text import TextVectorizer

__all__ = ["LSTMLanguageModel", "NgramLanguageModel"]

_SHARED = ("hidden_layer_sizes", "cell", "dropout", "solver", "learning_rate", "learning_rate_init",
           "power_t", "momentum", "nesterovs_momentum", "beta_1", "beta_2", "epsilon", "rho", "alpha",
           "max_iter", "random_state", "tol", "n_iter_no_change", "early_stopping", "validation_fraction",
           "warm_start", "verbose", "clip_value", "clip_norm", "device", "dtype")


class LSTMLanguageModel(GenerationMixin, CorpusInput, BaseEstimator):
    """A recurrent language model of characters or words: score text, predict the next token, generate.

    ``fit(texts)`` learns a vocabulary (a :class:`~sklstm.text.TextVectorizer`
    with ``<bos>``/``<eos>`` marks around every document), joins the
    documents into one token stream and cuts it into ``batch_size``
    parallel streams, trained chunk by chunk (``bptt_steps`` tokens) with
    truncated backpropagation through time: the recurrent state carries
    over from one chunk of a stream to the next (not overlapping windows),
    the gradient stops at the chunk's start. The network is an embedding,
    a stack of LSTM (or GRU, RNN) layers and a softmax over the vocabulary
    at every step, with cross-entropy of the next token as the loss.

    Parameters
    ----------
    analyzer : {"char", "word"} or callable, default="char"
        Tokens: characters (every character, whitespace and line breaks
        included), words (``token_pattern``) or a callable ``str -> list of
        str``, as in :class:`~sklstm.text.TextVectorizer`.
    lowercase : bool, default=False
        Lower-case the text first (off by default: a language model writes
        text as it was written).
    token_pattern : str, default=r"\\w+|[^\\w\\s]"
        Word tokens (``analyzer="word"``): words and single punctuation marks.
    max_features : int or None, default=None
        Keep only the most frequent tokens; the others become ``<unk>``.
    min_df : int or float, default=1
        Drop tokens found in fewer documents (a count, or a fraction).
    vocabulary : mapping or iterable of str, default=None
        A fixed vocabulary (see :class:`~sklstm.text.TextVectorizer`; it must
        use the ``<bos>``/``<eos>`` layout when it lists the special tokens).
    hidden_layer_sizes : int or tuple of int, default=(128,)
        Hidden units of each recurrent layer.
    cell : {"lstm", "gru", "rnn", "lstm1997"}, default="lstm"
    embedding_dim : int, default=64
        Width of the token embedding.
    dropout : float, default=0.0
        Dropout between recurrent layers and before the output layer
        (training only).
    tie_weights : bool, default=False
        Share the embedding matrix with the output layer (Press & Wolf 2017;
        Inan et al. 2017); needs ``embedding_dim == hidden_layer_sizes[-1]``.
    bptt_steps : int, default=64
        Chunk length: tokens per stream per update (truncated BPTT).
    solver : {"adam", "sgd", "rmsprop"}, default="adam"
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Learning-rate schedule (``sgd``), as in MLPClassifier.
    learning_rate_init : float, default=3e-3
    power_t : float, default=0.5
    momentum : float, default=0.9
    nesterovs_momentum : bool, default=True
    beta_1 : float, default=0.9
    beta_2 : float, default=0.999
    epsilon : float, default=1e-8
    rho : float, default=0.9
        RMSprop's decay.
    alpha : float, default=0.0
        L2 penalty ``0.5 * alpha * sum(W**2) / n_tokens`` per update.
    batch_size : int, default=32
        Number of parallel streams (fewer when the text is too short to
        give each a chunk; see ``n_streams_``).
    max_iter : int, default=10
        Epochs (passes over the text).
    tol : float, default=1e-4
    n_iter_no_change : int, default=5
        Stop after this many epochs without an improvement of ``tol`` (in
        the training loss, or with ``early_stopping`` the held-out score).
    early_stopping : bool, default=False
        Hold out the last ``validation_fraction`` of the token stream, stop
        on its log-likelihood per token and keep the best weights.
    validation_fraction : float, default=0.1
    warm_start : bool, default=False
        ``fit`` continues the fitted network on the new text (same
        vocabulary: new tokens are ``<unk>``).
    verbose : bool, default=False
        A progress bar over epochs.
    clip_value : float or None, default=None
    clip_norm : float or None, default=5.0
        Clip the gradient's global norm (exploding gradients).
    random_state : int, RandomState instance or None, default=None
        Initialisation and dropout; ``generate`` has its own.
    device : {"cpu", "auto"}, default="cpu"
        Where training and prediction run (this model has no GPU path yet:
        ``"cuda"`` is refused, ``"auto"`` is the CPU).
    dtype : {"float32", "float64"}, default="float32"

    Attributes
    ----------
    vectorizer_ : TextVectorizer or None
        The fitted vocabulary (None when fitted on token ids).
    tokens_ : ndarray of shape ``(vocab_size_,)``
        Token of each id, the columns of :meth:`predict_proba`.
    vocab_size_ : int
    n_streams_ : int
        Parallel streams of the last fit.
    n_iter_ : int
    loss_ : float
        Mean training cross-entropy per token (nats) of the last epoch.
    loss_curve_ : list of float
    validation_scores_ : list of float or None
        Held-out log-likelihood per token after each epoch (``early_stopping``).
    best_validation_score_ : float or None
    coefs_flat_ : ndarray
        All weights; :meth:`state_dict` names them as torch does.

    See Also
    --------
    sklstm.text.TextVectorizer : the tokenizer inside.

    Notes
    -----
    Every document is read as ``<bos> tokens <eos>``; :meth:`score` counts
    the log-likelihood of every token after the ``<bos>``, the ``<eos>``
    included. Fitted on token ids instead of strings (a list of 1D integer
    arrays with ids >= 1; 0 is the padding id), the model has no
    vocabulary and no end mark: ids go in and out unchanged.

    Examples
    --------
    >>> from sklstm import LSTMLanguageModel
    >>> text = "abcabcabcabd " * 40
    >>> lm = LSTMLanguageModel(hidden_layer_sizes=16, embedding_dim=8, bptt_steps=12, batch_size=4,
    ...                        learning_rate_init=0.02, max_iter=20, random_state=0).fit(text)
    >>> lm.generate("abcab", max_new_tokens=4, temperature=0)
    'abcabcabc'
    >>> lm.perplexity(text) < 1.5
    True
    """

    _parameter_constraints: dict = {
        **{k: BaseRecurrent._parameter_constraints[k] for k in _SHARED},
        "analyzer": [StrOptions({"word", "char"}), callable],
        "lowercase": ["boolean"],
        "token_pattern": [str],
        "max_features": [Interval(Integral, 1, None, closed="left"), None],
        "min_df": [Interval(Real, 0, 1, closed="both"), Interval(Integral, 1, None, closed="left")],
        "vocabulary": TextVectorizer._parameter_constraints["vocabulary"],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "tie_weights": ["boolean"],
        "bptt_steps": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, analyzer="char", lowercase=False, token_pattern=DEFAULT_TOKEN_PATTERN,
                 max_features=None, min_df=1, vocabulary=None, hidden_layer_sizes=(128,), cell="lstm",
                 embedding_dim=64, dropout=0.0, tie_weights=False, bptt_steps=64, solver="adam",
                 learning_rate="constant", learning_rate_init=3e-3, power_t=0.5, momentum=0.9,
                 nesterovs_momentum=True, beta_1=0.9, beta_2=0.999, epsilon=1e-8, rho=0.9, alpha=0.0,
                 batch_size=32, max_iter=10, tol=1e-4, n_iter_no_change=5, early_stopping=False,
                 validation_fraction=0.1, warm_start=False, verbose=False, clip_value=None, clip_norm=5.0,
                 random_state=None, device="cpu", dtype="float32"):
        self.analyzer = analyzer
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.max_features = max_features
        self.min_df = min_df
        self.vocabulary = vocabulary
        self.hidden_layer_sizes = hidden_layer_sizes
        self.cell = cell
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.tie_weights = tie_weights
        self.bptt_steps = bptt_steps
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
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.warm_start = warm_start
        self.verbose = verbose
        self.clip_value = clip_value
        self.clip_norm = clip_norm
        self.random_state = random_state
        self.device = device
        self.dtype = dtype

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.target_tags.required = False
        tags.non_deterministic = False
        return tags

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None):
        """Learn the vocabulary and train on the text for ``max_iter`` epochs.

        Parameters
        ----------
        X : str, iterable of str, or list of 1D integer arrays
            One text, several documents (joined into one stream, each between
            ``<bos>`` and ``<eos>``), or token-id sequences.
        y : None
            Ignored.

        Returns
        -------
        self : LSTMLanguageModel
        """
        self._validate_params()
        return self._fit(X, incremental=False)

    def partial_fit(self, X, y=None):
        """One more epoch on the text ``X`` (the first call also learns the vocabulary).

        Parameters
        ----------
        X : str, iterable of str, or list of 1D integer arrays
        y : None
            Ignored.

        Returns
        -------
        self : LSTMLanguageModel
        """
        if not hasattr(self, "coefs_flat_"):
            self._validate_params()
        return self._fit(X, incremental=True)

    def _fit(self, X, incremental):
        if self.device == "cuda":
            raise ValueError("LSTMLanguageModel has no GPU path yet; use device='cpu' (or 'auto').")
        first = not (incremental or self.warm_start) or not hasattr(self, "coefs_flat_")
        if not first:
            self._check_unchanged_architecture()
            self.coefs_flat_ = writable(self.coefs_flat_)
            for name, value in self._optimizer.arrays().items():
                setattr(self._optimizer, name, writable(value))
        seqs = self._encode(X, reset=first)
        if not first and self.vectorizer_ is not None:
            unknown = self._unknown_tokens(self._documents(X)[1])
            if unknown:
                warn_user(f"{len(unknown)} token(s) of the new text are not in the fitted vocabulary "
                          f"(first: {unknown[:5]}); they are read as <unk>.")
        stream = np.concatenate(seqs)
        if first:
            self._initialize()
        if first or getattr(self, "_rng", None) is None:
            self._rng = np.random.default_rng(check_random_state(self.random_state).randint(2**31))
        self._train(stream, 1 if incremental else self.max_iter, incremental)
        return self

    def _hidden_tuple(self):
        return BaseRecurrent._hidden_tuple(self)

    def _initialize(self):
        hidden = self._hidden_tuple()
        if self.tie_weights and self.embedding_dim != hidden[-1]:
            raise ValueError(f"tie_weights=True needs embedding_dim == hidden_layer_sizes[-1]; got "
                             f"embedding_dim={self.embedding_dim} and a last layer of {hidden[-1]} units.")
        rs = check_random_state(self.random_state)
        init_rng = np.random.default_rng(rs.randint(2**31))
        V = self.vocab_size_
        self._spec = NetworkSpec(self.cell, int(self.embedding_dim), hidden, False, V, V, 0)
        flat = self._spec.init_params(init_rng, np.float64)
        v = self._spec.views(flat)
        # torch's word_language_model: embedding (and a tied output layer) uniform in [-0.1, 0.1]
        v["embedding.weight"][:] = init_rng.uniform(-0.1, 0.1, size=v["embedding.weight"].shape)
        v["embedding.weight"][0] = 0.0
        if self.tie_weights:
            v["head.weight"][:] = v["embedding.weight"]
        self.coefs_flat_ = flat.astype(np.dtype(self.dtype))
        self._optimizer = make_optimizer(self.get_params(deep=False), self._spec.n_params,
                                         np.dtype(self.dtype))
        self.n_outputs_ = V
        self._loss = "softmax"
        LoopState.new(self.early_stopping).publish(self)

    def _check_unchanged_architecture(self):
        spec = self._spec
        now = {"hidden_layer_sizes": self._hidden_tuple(), "cell": self.cell,
               "embedding_dim": self.embedding_dim,
               "dtype": np.dtype(self.dtype), "solver": self.solver, "tie_weights": bool(self.tie_weights)}
        was = {"hidden_layer_sizes": spec.hidden, "cell": spec.cell, "embedding_dim": spec.n_features,
               "dtype": self.coefs_flat_.dtype, "solver": self._optimizer.solver,
               "tie_weights": bool(getattr(self, "_tied", self.tie_weights))}
        changed = [k for k in now if now[k] != was[k]]
        if changed:
            raise ValueError(
                f"{', '.join(changed)} changed since the network was fitted ({was[changed[0]]!r} -> "
                f"{now[changed[0]]!r}); warm_start and partial_fit continue the fitted network. Set "
                "warm_start=False (or use a new estimator) to train a new one.")

    def _n_streams(self, n_tokens):
        k = int(self.bptt_steps)
        if n_tokens < k + 1:
            raise ValueError(f"the text has {n_tokens} tokens (with the <bos>/<eos> marks); one chunk of "
                             f"bptt_steps={k} needs at least {k + 1}. Use more text or a smaller bptt_steps.")
        return max(1, min(int(self.batch_size), (n_tokens - 1) // k))

    def _train(self, stream, epochs, incremental):
        state = LoopState.from_estimator(self)
        validation = None
        if self.early_stopping and not incremental:
            if state.validation_scores is None:
                state.validation_scores, state.best_validation_score = [], -np.inf
            n_val = int(round(self.validation_fraction * len(stream)))
            if n_val < 2:
                raise ValueError(f"validation_fraction={self.validation_fraction} of {len(stream)} tokens "
                                 "leaves fewer than 2 tokens to validate on; use more text.")
            held = stream[len(stream) - n_val:]
            stream = stream[:len(stream) - n_val]
            n_seg = max(1, min(int(self.batch_size), n_val // 1024))
            cut = np.linspace(0, n_val - 1, n_seg + 1).astype(np.int64)
            segments = [held[a:b + 1] for a, b in zip(cut[:-1], cut[1:])]
            validation = Validation(segments, self._mean_log_likelihood)
        B = self._n_streams(len(stream))
        self.n_streams_ = B
        data = stream_batches(stream, B, self.bptt_steps)
        objective = LanguageModelObjective(self._spec, TrainOptions(
            alpha=self.alpha, dropout=self.dropout, clip_value=self.clip_value,
            clip_norm=self.clip_norm), tie_weights=self.tie_weights)
        config = LoopConfig(self.max_iter, B, False, self.tol, self.n_iter_no_change, self.verbose, "cpu",
                            type(self).__name__)
        self._tied = bool(self.tie_weights)
        loop = StreamLoop(config, objective, self.coefs_flat_, self._optimizer, self._rng)
        try:
            loop.fit_loop(state, data, epochs, incremental, validation)
        finally:
            state.publish(self)

    # ------------------------------------------------------------------ scoring
    def _check_fitted(self):
        if not hasattr(self, "coefs_flat_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                                 "appropriate arguments before using this estimator.")

    def _mean_log_likelihood(self, seqs):
        loglik, counts, _ = consume(self._spec, self.coefs_flat_, seqs)
        n = counts.sum()
        if n == 0:
            raise ValueError("nothing to score: every sequence holds a single token.")
        return float(loglik.sum() / n)

    def score(self, X, y=None):
        """Mean log-likelihood per token of the text (nats; higher is better).

        Each document is read from ``<bos>``; every token after it,
        ``<eos>`` included, counts once. ``-score / log(2)`` is the number of
        bits per token (per character for ``analyzer="char"``).

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
        return self._mean_log_likelihood(self._encode(X))

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

    # ------------------------------------------------------------------ weights and persistence
    def state_dict(self) -> dict:
        """Weights as numpy arrays keyed like a torch module: ``embedding``, ``rnn`` and ``head``.

        Returns
        -------
        state : dict of str to ndarray
            ``embedding.weight`` ``(vocab_size_, embedding_dim)``, the
            ``rnn.*_l{k}`` arrays of ``torch.nn.LSTM`` (GRU, RNN) and
            ``head.weight`` / ``head.bias`` of the output ``torch.nn.Linear``.
        """
        self._check_fitted()
        return {k: a.copy() for k, a in self._spec.views(self.coefs_flat_).items()}

    def load_state_dict(self, state: dict) -> "LSTMLanguageModel":
        """Copy weights (e.g. from a torch module's ``state_dict()``) into the fitted network.

        Parameters
        ----------
        state : dict of str to array-like
            Every key of :meth:`state_dict`, with the same shapes.

        Returns
        -------
        self : LSTMLanguageModel
        """
        return BaseRecurrent.load_state_dict(self, state)

    def _persistent_state(self) -> dict:
        self._vectorizer()._persistent_state()  # refuses what the safe format cannot hold, by name
        if not hasattr(self, "coefs_flat_"):
            return {}
        network = _state.persistent_state(self)
        network["n_features_in_"] = 1  # the schema's: one token id per step
        out = {"network": network, "vocab_size_": int(self.vocab_size_), "n_streams_": int(self.n_streams_),
               "tied": bool(self._tied)}
        if self.vectorizer_ is not None:
            out["vectorizer"] = self.vectorizer_._persistent_state()
        return out

    def _restore_state(self, state: dict) -> None:
        if not state:
            return
        if set(state) - {"vectorizer"} != {"network", "vocab_size_", "n_streams_", "tied"}:
            raise ValueError("unexpected language model state")
        for k in ("vocab_size_", "n_streams_"):
            if isinstance(state[k], bool) or not isinstance(state[k], int) or state[k] < 1:
                raise ValueError(f"{k} must be a positive int")
        if not isinstance(state["tied"], bool) or not isinstance(state["network"], dict):
            raise ValueError("malformed language model state")
        network = dict(state["network"])
        _state.restore_state(self, network)
        del self.n_features_in_
        spec, V = self._spec, state["vocab_size_"]
        if spec.vocab_size != V or spec.n_outputs != V or spec.bidirectional or spec.padding_idx != 0 \
                or self._loss != "softmax":
            raise ValueError("the network does not match a language model of this vocabulary")
        vec = None
        if "vectorizer" in state:
            vec = self._vectorizer()
            vec._restore_state(state["vectorizer"])
            if vec.vocab_size_ != V or vec.vocabulary_.get(BOS) != 2 or vec.vocabulary_.get(EOS) != 3:
                raise ValueError("the vocabulary does not match the network")
            self.tokens_ = vec.get_feature_names_out()
        else:
            self.tokens_ = np.arange(V)
        self.vectorizer_ = vec
        self.vocab_size_ = V
        self.n_streams_ = state["n_streams_"]
        self._tied = state["tied"]
