"""BaseRecurrent: the scikit-learn adapter shared by every recurrent estimator.

It owns the parameters and their constraints, input and target validation,
the fitted attributes and the public methods. Training is the one loop of
:mod:`sklstm._training` running :class:`~sklstm._objectives.RecurrentObjective`
on a backend of :mod:`sklstm._backend`; persistence goes through
:mod:`sklstm._state`, streaming through :mod:`sklstm._streaming`.
``fit -> _fit -> _train -> TrainingLoop.fit_loop -> run_epoch -> train_step``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state

from . import _state
from ._losses import output_activation
from ._spec import CELL_GATES, NetworkSpec
from ._objectives import Batch, RecurrentObjective, TrainOptions, forward
from ._optimizers import SOLVERS, make_optimizer
from ._sklearn_compat import Interval, StrOptions, _check_sample_weight, _num_samples
from ._sequences import writable
from ._serving import forward_one, single_sequence
from ._streaming import StreamingPredictor
from ._training import LoopConfig, LoopState, TrainingLoop, Validation, split_validation
from ._validation import prediction_device, training_device, validate_X

__all__ = ["BaseRecurrent", "StreamingPredictor"]


_CELLS = tuple(CELL_GATES)


class BaseRecurrent(BaseEstimator, ABC):
    """Shared machinery of the recurrent estimators (not for direct use).

    Subclasses define how targets are encoded (:meth:`_encode_targets`), the
    loss (:attr:`_loss`) and the validation score (:meth:`_validation_score`).
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "cell": [StrOptions(set(_CELLS))],
        "bidirectional": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "return_sequences": ["boolean"],
        "solver": [StrOptions(set(SOLVERS))],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "rho": [Interval(Real, 0, 1, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "clip_value": [None, Interval(Real, 0, None, closed="neither")],
        "clip_norm": [None, Interval(Real, 0, None, closed="neither")],
        "bptt_steps": [None, Interval(Integral, 1, None, closed="left")],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
        "dtype": [StrOptions({"float32", "float64"})],
        "embedding_dim": [None, Interval(Integral, 1, None, closed="left")],
        "vocab_size": [None, Interval(Integral, 1, None, closed="left")],
        "padding_idx": [Interval(Integral, 0, None, closed="left")],
    }

    @abstractmethod
    def __init__(self, hidden_layer_sizes=(64,), cell="lstm", bidirectional=False, dropout=0.0,
                 return_sequences=False, solver="adam", learning_rate="constant",
                 learning_rate_init=1e-3, power_t=0.5, momentum=0.9, nesterovs_momentum=True,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, rho=0.9, alpha=1e-4, batch_size="auto",
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, n_iter_no_change=10,
                 early_stopping=False, validation_fraction=0.1, warm_start=False, verbose=False,
                 clip_value=None, clip_norm=5.0, bptt_steps=None, device="cpu", dtype="float32",
                 embedding_dim=None, vocab_size=None, padding_idx=0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.cell = cell
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.return_sequences = return_sequences
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
        self.random_state = random_state
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.warm_start = warm_start
        self.verbose = verbose
        self.clip_value = clip_value
        self.clip_norm = clip_norm
        self.bptt_steps = bptt_steps
        self.device = device
        self.dtype = dtype
        self.embedding_dim = embedding_dim
        self.vocab_size = vocab_size
        self.padding_idx = padding_idx

    # ------------------------------------------------------------------ subclass hooks
    _loss: str  # set by _encode_targets on the fitted estimator

    @abstractmethod
    def _encode_targets(self, y, lengths, reset: bool, classes=None):
        """Validate ``y`` and return the encoded training targets."""

    @abstractmethod
    def _validation_score(self, Xp, lengths, y_enc) -> float:
        """Score on held-out encoded targets (higher is better)."""

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        return tags

    # ------------------------------------------------------------------ input
    @property
    def _np_dtype(self):
        return np.dtype(self.dtype)

    def _validate_X(self, X, reset: bool):
        """Any accepted X -> (padded array, lengths); see :func:`sklstm._validation.validate_X`."""
        return validate_X(self, X, reset)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None):
        """Train the network on sequences ``X`` and targets ``y``.

        Parameters
        ----------
        X : 3D array-like, list of arrays, or 2D array-like
            Sequences ``(n, T, F)``, ragged list of ``(T_i, F)`` arrays, or
            tabular rows (each a one-step sequence).
        y : array-like
            Targets, one per sequence (or one per step when
            ``return_sequences=True``).
        sample_weight : array-like of shape (n,), default=None
            Weights of the samples in the loss.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        return self._fit(X, y, sample_weight, incremental=False)

    def _partial_fit(self, X, y, sample_weight=None, classes=None):
        if not hasattr(self, "coefs_flat_"):
            self._validate_params()
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _fit(self, X, y, sample_weight, incremental, classes=None):
        """Validate, initialise or continue, then train: ``max_iter`` epochs, or one for ``partial_fit``."""
        device = training_device(self.device)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        first = not (incremental or self.warm_start) or not hasattr(self, "coefs_flat_")
        if not first:
            self._check_unchanged_architecture()
            self._own_arrays()
        data = self._training_data(X, y, sample_weight, first, classes)
        if first:
            self._initialize(data.X.shape[2])
        if first or getattr(self, "_rng", None) is None:
            self._rng = np.random.default_rng(check_random_state(self.random_state).randint(2**31))
        self._train(data, 1 if incremental else self.max_iter, incremental, device)
        return self

    def _training_data(self, X, y, sample_weight, reset, classes):
        """Validated sequences, encoded targets and normalised weights as one :class:`Batch`."""
        Xp, lengths = self._validate_X(X, reset=reset)
        n = Xp.shape[0]
        try:
            n_y = len(y) if isinstance(y, (list, tuple)) else _num_samples(y)
        except TypeError:
            raise TypeError(f"y must be array-like; got {type(y).__name__}.") from None
        if n_y != n:
            raise ValueError(f"Found input variables with inconsistent numbers of samples: X has {n} "
                             f"samples but y has {n_y}.")
        y_enc = self._encode_targets(y, lengths, reset=reset, classes=classes)
        return Batch(Xp, lengths, y_enc, self._normalized_weights(sample_weight, Xp, y_enc))

    def _train(self, data, epochs, incremental, device):
        """Run the training loop on ``data`` and publish where it ended as fitted attributes."""
        state = LoopState.from_estimator(self)
        validation = None
        if self.early_stopping and not incremental:
            if state.validation_scores is None:  # switched on after an earlier fit
                state.validation_scores, state.best_validation_score = [], -np.inf
            tr, va = split_validation(len(data), self.validation_fraction, self.random_state,
                                      self._stratify_labels(data.y))
            validation = Validation(_rows(data, va), lambda b: self._validation_score(b.X, b.lengths, b.y))
            data = _rows(data, tr)
        loop = TrainingLoop(LoopConfig.from_estimator(self, device), self._objective(), self.coefs_flat_,
                            self._optimizer, self._rng)
        try:
            loop.fit_loop(state, data, epochs, incremental, validation)
        finally:
            state.publish(self)

    def _objective(self):
        """What this estimator trains: its network, loss and training options."""
        return RecurrentObjective(self._spec, self._loss, TrainOptions(
            alpha=self.alpha, dropout=self.dropout, bptt_steps=self.bptt_steps,
            return_sequences=self.return_sequences, clip_value=self.clip_value, clip_norm=self.clip_norm))

    def _own_arrays(self):
        """Writable copies of the weights and optimizer state where they are read-only.

        A model loaded memory-mapped (``joblib.load(f, mmap_mode="r")``) has
        read-only arrays; training on goes on in copies (the file is never
        written).
        """
        self.coefs_flat_ = writable(self.coefs_flat_)
        for name, value in self._optimizer.arrays().items():
            setattr(self._optimizer, name, writable(value))

    def _hidden_tuple(self):
        hidden = self.hidden_layer_sizes
        hidden = (hidden,) if np.isscalar(hidden) else tuple(hidden)
        if len(hidden) == 0 or not all(isinstance(h, (int, np.integer)) and not isinstance(h, bool)
                                       and h >= 1 for h in hidden):
            raise ValueError("hidden_layer_sizes must be positive integers, got "
                             f"{self.hidden_layer_sizes!r}.")
        return tuple(int(h) for h in hidden)

    def _check_unchanged_architecture(self):
        """warm_start / partial_fit continue the fitted network: its architecture must not have changed."""
        spec = self._spec
        now = {"hidden_layer_sizes": self._hidden_tuple(), "cell": self.cell,
               "bidirectional": bool(self.bidirectional), "dtype": np.dtype(self.dtype),
               "solver": self.solver, "embedding_dim": self.embedding_dim}
        was = {"hidden_layer_sizes": spec.hidden, "cell": spec.cell, "bidirectional": spec.bidirectional,
               "dtype": self.coefs_flat_.dtype, "solver": self._optimizer.solver,
               "embedding_dim": spec.n_features if spec.vocab_size else None}
        changed = [k for k in now if now[k] != was[k]]
        if changed:
            raise ValueError(
                f"{', '.join(changed)} changed since the network was fitted ({was[changed[0]]!r} -> "
                f"{now[changed[0]]!r}); warm_start and partial_fit continue the fitted network. Set "
                "warm_start=False (or use a new estimator) to train a new one.")

    def _class_weights(self, y_enc):
        """Per-sample weight factors from ``class_weight`` (classifier only)."""
        return None

    def _normalized_weights(self, sample_weight, Xp, y_enc):
        n = Xp.shape[0]
        if sample_weight is None:
            sw = np.ones(n, dtype=np.float64)
        else:
            sw = _check_sample_weight(sample_weight, Xp[:, 0, :1], dtype=np.float64)
            if (sw < 0).any():
                raise ValueError("sample_weight must be non-negative.")
        if not np.isfinite(sw).all():
            raise ValueError("sample_weight contains NaN or infinity.")
        cw = self._class_weights(y_enc)
        if cw is not None:
            sw = sw * cw
        top = sw.max() if sw.size else 0.0
        if not top > 0:
            raise ValueError("sample_weight sums to zero; at least one sample needs a positive weight.")
        sw = sw / top  # first to at most 1, so that the sum cannot overflow
        return sw * (n / sw.sum())

    def _initialize(self, n_features):
        """A new network, optimizer and loop state."""
        hidden = self._hidden_tuple()
        if self.bidirectional and self.bptt_steps is not None:
            raise ValueError("bidirectional=True cannot be combined with bptt_steps (the reverse "
                             "direction needs the whole sequence).")
        rs = check_random_state(self.random_state)
        init_rng = np.random.default_rng(rs.randint(2**31))
        vocab = pad = 0
        if self.embedding_dim is not None:
            n_features, vocab, pad = self.embedding_dim, self._fit_vocab_size, self.padding_idx
        self._spec = NetworkSpec(self.cell, int(n_features), hidden, bool(self.bidirectional),
                                 self.n_outputs_, int(vocab), int(pad))
        self.coefs_flat_ = self._spec.init_params(init_rng, self._np_dtype)
        self._optimizer = make_optimizer(self.get_params(deep=False), self._spec.n_params, self._np_dtype)
        LoopState.new(self.early_stopping).publish(self)

    def _stratify_labels(self, y_enc):
        return None

    def _forward(self, Xp, lengths, return_sequences=False, head=True):
        """Network outputs on the prediction device (see :func:`sklstm._validation.prediction_device`)."""
        if prediction_device(self.device) == "cuda":
            from . import _cuda_network

            return _cuda_network.forward(self._spec, self.coefs_flat_, Xp, lengths,
                                         return_sequences=return_sequences, head=head)
        return forward(self._spec, self.coefs_flat_, Xp, lengths, return_sequences=return_sequences,
                       head=head, n_threads=None)

    # ------------------------------------------------------------------ predict
    def _raw_output(self, Xp, lengths, head=True):
        """Head output (or recurrent features) in the compute dtype."""
        return self._forward(Xp, lengths, return_sequences=self.return_sequences and head, head=head)

    def _check_fitted(self):
        """Cheap ``check_is_fitted`` (prediction latency matters)."""
        if not hasattr(self, "coefs_flat_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator.")

    def _predict_activation(self, X):
        self._check_fitted()
        one = single_sequence(self, X)  # serving one sequence: the short path, the same bits
        if one is not None:
            Xp, lengths = one
            raw = forward_one(self._spec, self.coefs_flat_, Xp, self.return_sequences)
        else:
            Xp, lengths = self._validate_X(X, reset=False)
            raw = self._raw_output(Xp, lengths)
        finite = np.isfinite(raw)
        if self.return_sequences:  # padding steps are NaN by design
            finite |= (np.arange(raw.shape[1])[None, :] >= lengths[:, None])[:, :, None]
        if not finite.all():
            bad = np.flatnonzero(~finite.reshape(len(raw), -1).all(axis=1))
            raise ValueError(
                f"The network output is not finite for {bad.size} sample(s) (first: {bad[:5].tolist()}): "
                f"their values overflow {self.dtype} arithmetic (largest |x| = "
                f"{np.abs(Xp[bad]).max():.3g}). Scale the features, e.g. with "
                "sklstm.preprocessing.SequenceScaler, or use dtype='float64'.")
        out = output_activation(self._loss, raw)
        return out, lengths

    def hidden_state(self, X):
        """Final hidden state ``h_n`` of the last layer, as recurrent features.

        Lets a fitted network serve as a feature extractor; in a ``Pipeline``
        use :class:`sklstm.RecurrentFeatures`, which fits the network on ``y``
        and transforms with this method. Bidirectional models give
        ``[forward h_n, backward h_n]``.

        Parameters
        ----------
        X : 3D array-like, list of arrays, or 2D array-like

        Returns
        -------
        H : ndarray of shape (n, n_hidden_last * n_directions), float64
        """
        self._check_fitted()
        Xp, lengths = self._validate_X(X, reset=False)
        return self._forward(Xp, lengths, head=False).astype(np.float64)

    def stream(self):
        """A stateful predictor fed one timestep at a time.

        Returns
        -------
        streamer : StreamingPredictor
            ``streamer.step(x_t)`` returns what :meth:`predict` returns for
            the sequence seen so far (bitwise equal), ``reset()`` starts a
            new sequence.

        Raises
        ------
        ValueError
            For bidirectional models, whose output needs the whole sequence.
        """
        self._check_fitted()
        if self._spec.bidirectional:
            raise ValueError("stream() needs a unidirectional model: a bidirectional network reads the "
                             "whole sequence backwards before its first output.")
        return StreamingPredictor(self)

    # ------------------------------------------------------------------ persistence
    def _persistent_state(self) -> dict:
        """Fitted state as plain values and arrays (see :mod:`sklstm._state`)."""
        return _state.persistent_state(self)

    def _restore_state(self, state: dict) -> None:
        """Inverse of :meth:`_persistent_state`, checking every type and shape."""
        if state:
            _state.restore_state(self, state)
            self._after_restore()

    def _after_restore(self):
        """Rebuild helpers derived from the restored attributes (subclass hook)."""

    # ------------------------------------------------------------------ weights
    def state_dict(self) -> dict:
        """Weights as numpy arrays keyed like a torch module (``rnn`` + ``head``).

        Returns
        -------
        state : dict of str to ndarray
            Copies of ``rnn.weight_ih_l0``, ``rnn.weight_hh_l0``,
            ``rnn.bias_ih_l0``, ``rnn.bias_hh_l0`` (``..._reverse`` when
            bidirectional, one set per layer), ``head.weight`` and
            ``head.bias``, in torch's shapes and gate order.
        """
        self._check_fitted()
        return {k: v.copy() for k, v in self._spec.views(self.coefs_flat_).items()}

    def load_state_dict(self, state: dict) -> "BaseRecurrent":
        """Copy weights (e.g. from a torch module's ``state_dict()``) into the fitted network.

        Parameters
        ----------
        state : dict of str to array-like
            Every key of :meth:`state_dict`, with the same shapes. torch
            tensors are accepted (anything ``np.asarray`` reads).

        Returns
        -------
        self : object
        """
        self._check_fitted()
        views = self._spec.views(self.coefs_flat_)
        missing = sorted(set(views) - set(state))
        extra = sorted(set(state) - set(views))
        if missing or extra:
            raise KeyError(f"state_dict keys do not match: missing {missing}, unexpected {extra}.")
        arrays = {}
        for k, v in views.items():  # every array checked before any is copied: never half-loaded
            a = np.asarray(state[k].detach().cpu().numpy() if hasattr(state[k], "detach") else state[k])
            if a.shape != v.shape:
                raise ValueError(f"{k}: expected shape {v.shape}, got {a.shape}.")
            if a.dtype.kind not in "biuf" or not np.isfinite(a).all():
                raise ValueError(f"{k} holds non-finite or non-numeric values.")
            arrays[k] = a
        for k, v in views.items():
            v[...] = arrays[k]
        return self


def _rows(data, idx):
    """Rows ``idx`` of the training data, at its full padded length."""
    return Batch(data.X[idx], data.lengths[idx], data.y[idx], data.sample_weight[idx])
