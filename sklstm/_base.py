"""BaseRecurrent: the training loop and prediction path shared by every estimator.

Training reads like its docstring: ``fit -> _fit -> _initialize ->
_run_epochs -> _run_epoch -> _train_step``. Each batch is one compiled
forward + backward call (per layer), a clip and one optimizer update; no
Python loop ever runs over timesteps.
"""

from __future__ import annotations

import signal
import threading
import warnings
from abc import ABC, abstractmethod
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils import check_random_state

from . import _network
from ._kernels._fpenv import flush_denormals
from ._losses import output_activation
from ._network import NetworkSpec
from ._optimizers import make_optimizer
from ._sequences import SEQUENCE_FORMS, _physical_memory, check_sequences, is_sequence_input, writable
from ._sklearn_compat import Interval, StrOptions, _check_sample_weight, _num_samples, validate_data
from ._threads import compute_threads
from .exceptions import DivergenceWarning, TrainingInterruptedWarning

__all__ = ["BaseRecurrent"]


_LAYOUT_HINT = ("A univariate series stored as 2D rows (n, T) is read as tabular data: pass X[:, :, None]; "
                "data in the (n, channels, T) layout of aeon/sktime: pass X.transpose(0, 2, 1).")


class _Diverged(Exception):
    """Raised inside the training loop when the loss, gradient or weights stop being finite."""


@contextmanager
def _deferred_interrupt():
    """Turn Ctrl-C into a flag checked between batches (main thread only).

    A second Ctrl-C while the first is pending raises KeyboardInterrupt at once.
    """
    state = {"hit": False}
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous in (signal.SIG_IGN, None):  # Ctrl-C is ignored here: keep it that way
        yield state
        return

    def handler(signum, frame):
        if state["hit"]:
            raise KeyboardInterrupt
        state["hit"] = True

    try:
        signal.signal(signal.SIGINT, handler)
    except (ValueError, OSError):  # pragma: no cover - no signal support here
        yield state
        return
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)

_CELLS = ("lstm", "lstm1997", "gru", "rnn")


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
        "solver": [StrOptions({"adam", "sgd", "rmsprop"})],
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
    }

    @abstractmethod
    def __init__(self, hidden_layer_sizes=(64,), cell="lstm", bidirectional=False, dropout=0.0,
                 return_sequences=False, solver="adam", learning_rate="constant",
                 learning_rate_init=1e-3, power_t=0.5, momentum=0.9, nesterovs_momentum=True,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, rho=0.9, alpha=1e-4, batch_size="auto",
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, n_iter_no_change=10,
                 early_stopping=False, validation_fraction=0.1, warm_start=False, verbose=False,
                 clip_value=None, clip_norm=5.0, bptt_steps=None, device="cpu", dtype="float32"):
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
        """Any accepted X -> (padded (n, T, F) array of the compute dtype, int64 lengths)."""
        dt = self._np_dtype if reset or not hasattr(self, "coefs_flat_") else self.coefs_flat_.dtype
        if isinstance(X, (list, tuple)) and len(X) == 0:
            raise ValueError(f"X is empty; expected {SEQUENCE_FORMS}.")
        if is_sequence_input(X):
            Xp, lengths = check_sequences(X, dtype=dt)
            n_features = Xp.shape[2]
            if reset:
                self._warn_if_transposed(X, Xp)
                self.n_features_in_ = n_features
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
            else:
                self._check_feature_count(n_features)
            return Xp, lengths
        try:
            X2 = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32], ensure_min_samples=1)
        except ValueError as exc:  # keep sklearn's message (its checks match it), add ours
            msg = str(exc)
            if "dim" in msg or "Expected 2D array" in msg:
                raise ValueError(f"{msg} sklstm accepts {SEQUENCE_FORMS}.") from None
            if "features, but" in msg:
                raise ValueError(f"{msg} {_LAYOUT_HINT}") from None
            raise
        Xp = writable(np.ascontiguousarray(X2, dtype=dt))[:, None, :]
        return Xp, np.ones(Xp.shape[0], dtype=np.int64)

    @staticmethod
    def _warn_if_transposed(X, Xp):
        """Warn (never fail) when a 3D array looks like the aeon/sktime (n, channels, T) layout."""
        if getattr(X, "ndim", 0) == 3 and Xp.shape[2] > 4 * Xp.shape[1]:
            warnings.warn(
                f"X has shape {Xp.shape} = (n_sequences, n_timesteps, n_features): {Xp.shape[2]} "
                f"features per step over {Xp.shape[1]} steps. If X is in the (n, channels, T) "
                "layout of aeon/sktime, pass X.transpose(0, 2, 1).", UserWarning, stacklevel=4)

    def _check_feature_count(self, n_features):
        if n_features != self.n_features_in_:
            raise ValueError(
                f"X has {n_features} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input. {_LAYOUT_HINT}")

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

    def _own_arrays(self):
        """Writable copies of the weights and optimizer state where they are read-only.

        A model loaded memory-mapped (``joblib.load(f, mmap_mode="r")``) has
        read-only arrays; training on goes on in copies (the file is never
        written).
        """
        self.coefs_flat_ = writable(self.coefs_flat_)
        state = getattr(self, "_optimizer", None)
        for name, value in (vars(state).items() if state is not None else ()):
            if isinstance(value, np.ndarray):
                setattr(state, name, writable(value))

    def _fit(self, X, y, sample_weight, incremental, classes=None):
        self._device_for_training()
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        first = not (incremental or self.warm_start) or not hasattr(self, "coefs_flat_")
        if not first:
            self._check_unchanged_architecture()
            self._own_arrays()
        Xp, lengths = self._validate_X(X, reset=first)
        n = Xp.shape[0]
        try:
            n_y = len(y) if isinstance(y, (list, tuple)) else _num_samples(y)
        except TypeError:
            raise TypeError(f"y must be array-like; got {type(y).__name__}.") from None
        if n_y != n:
            raise ValueError(f"Found input variables with inconsistent numbers of samples: X has {n} "
                             f"samples but y has {n_y}.")
        y_enc = self._encode_targets(y, lengths, reset=first, classes=classes)
        sw = self._normalized_weights(sample_weight, Xp, y_enc)
        if first:
            self._initialize(Xp.shape[2], y_enc)
        self._rng = getattr(self, "_rng", None) if not first else None
        if self._rng is None:
            self._rng = np.random.default_rng(check_random_state(self.random_state).randint(2**31))
        epochs = 1 if incremental else self.max_iter
        self._run_epochs(Xp, lengths, y_enc, sw, epochs, incremental)
        return self

    def _hidden_tuple(self):
        hidden = self.hidden_layer_sizes
        hidden = (hidden,) if np.isscalar(hidden) else tuple(hidden)
        if len(hidden) == 0 or not all(isinstance(h, (int, np.integer)) and not isinstance(h, bool)
                                       and h >= 1 for h in hidden):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}.")
        return tuple(int(h) for h in hidden)

    def _check_unchanged_architecture(self):
        """warm_start / partial_fit continue the fitted network: its architecture must not have changed."""
        spec = self._spec
        now = {"hidden_layer_sizes": self._hidden_tuple(), "cell": self.cell,
               "bidirectional": bool(self.bidirectional), "dtype": np.dtype(self.dtype),
               "solver": self.solver}
        was = {"hidden_layer_sizes": spec.hidden, "cell": spec.cell, "bidirectional": spec.bidirectional,
               "dtype": self.coefs_flat_.dtype, "solver": {"AdamOptimizer": "adam", "SGDOptimizer": "sgd",
                                                           "RMSpropOptimizer": "rmsprop"}[
                                                               type(self._optimizer).__name__]}
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

    def _initialize(self, n_features, y_enc):
        hidden = self._hidden_tuple()
        if self.bidirectional and self.bptt_steps is not None:
            raise ValueError("bidirectional=True cannot be combined with bptt_steps (the reverse "
                             "direction needs the whole sequence).")
        rs = check_random_state(self.random_state)
        init_rng = np.random.default_rng(rs.randint(2**31))
        self._spec = NetworkSpec(self.cell, int(n_features), hidden, bool(self.bidirectional), self.n_outputs_)
        self.coefs_flat_ = self._spec.init_params(init_rng, self._np_dtype)
        self._optimizer = make_optimizer(self, self.coefs_flat_.shape[0], self._np_dtype)
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self.best_loss_ = np.inf
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None
        self._no_improvement_count = 0
        self._best_coefs = None

    def _batch_size(self, n):
        if self.batch_size == "auto":
            return min(200, n)
        return int(np.clip(self.batch_size, 1, n))

    def _split_validation(self, Xp, lengths, y_enc, sw):
        from sklearn.model_selection import train_test_split  # here: 55 ms of import that predict never needs

        stratify = self._stratify_labels(y_enc)
        idx = np.arange(Xp.shape[0])
        tr, va = train_test_split(idx, test_size=self.validation_fraction, random_state=self.random_state,
                                  stratify=stratify)
        if va.size < 1:
            raise ValueError("validation_fraction leaves no validation sample; use more data.")
        return tr, va

    def _stratify_labels(self, y_enc):
        return None

    def _run_epochs(self, Xp, lengths, y_enc, sw, epochs, incremental):
        """Epoch loop with MLP's stopping rules and best-weight restoration."""
        early = self.early_stopping and not incremental
        if early:
            if self.validation_scores_ is None:  # switched on after an earlier fit
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
            tr, va = self._split_validation(Xp, lengths, y_enc, sw)
            val = (Xp[va], lengths[va], y_enc[va])
            Xp, lengths, y_enc, sw = Xp[tr], lengths[tr], y_enc[tr], sw[tr]
        batch = self._batch_size(Xp.shape[0])
        steps = Xp.shape[1] if self.bptt_steps is None else min(self.bptt_steps, Xp.shape[1])
        on_gpu = self._device_for_training() == "cuda"
        need = _network.training_bytes(self._spec, batch, steps, self._np_dtype.itemsize)
        if not on_gpu and need > _physical_memory() // 2:
            raise MemoryError(
                f"One training batch ({batch} sequences x {steps} steps) would cache "
                f"{need / 1024 ** 3:.1f} GiB of activations, more than half of this machine's memory. "
                "Set bptt_steps (memory then grows with the chunk, not the sequence) or a smaller "
                "batch_size.")
        grad = np.empty_like(self.coefs_flat_)
        self._previous_coefs = np.empty_like(self.coefs_flat_)
        self._workspace = _network.Workspace()
        self._trainer = None
        if on_gpu:  # the GPU checks its own memory
            self._trainer = self._device_trainer(Xp, lengths, y_enc, sw, batch, steps)
        bar = self._progress_bar(epochs)
        self.diverged_ = False
        try:
            with _deferred_interrupt() as interrupt:
                stopped = self._epoch_loop(Xp, lengths, y_enc, sw, grad, batch, epochs, incremental, early,
                                           val if early else None, bar, interrupt)
        except BaseException:
            try:  # keep the GPU's last weights if it still answers; never mask the original error
                self._sync_from_device()
            except Exception:  # noqa: BLE001
                pass
            raise
        else:
            self._sync_from_device()
        finally:
            del self._workspace, self._previous_coefs, self._trainer
        if bar is not None:
            bar.close()
        if stopped == "completed" and not incremental:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.", ConvergenceWarning)
        if early and self._best_coefs is not None:
            self.coefs_flat_[:] = self._best_coefs
        if stopped == "interrupted":
            kept = ("the best validation weights" if early and self._best_coefs is not None
                    else "the weights after the last completed batch")
            warnings.warn(f"Training interrupted (KeyboardInterrupt) during epoch {self.n_iter_ + 1}; "
                          f"the model is fitted with {kept}.", TrainingInterruptedWarning, stacklevel=3)

    def _epoch_loop(self, Xp, lengths, y_enc, sw, grad, batch, epochs, incremental, early, val, bar,
                    interrupt):
        """Run epochs; returns "completed", "stopped", "diverged" or "interrupted"."""
        for _ in range(epochs):
            try:
                loss = self._run_epoch(Xp, lengths, y_enc, sw, grad, batch, interrupt)
            except KeyboardInterrupt:
                return "interrupted"
            except _Diverged as exc:
                self.diverged_ = True
                warnings.warn(
                    f"Training diverged in epoch {self.n_iter_ + 1}: {exc}. Stopped; the model keeps "
                    "the last weights with a finite loss. Lower learning_rate_init, or set clip_norm "
                    "/ clip_value.", DivergenceWarning, stacklevel=4)
                return "diverged"
            if loss is None:
                return "interrupted"
            self.n_iter_ += 1
            self.t_ += Xp.shape[0]
            self.loss_curve_.append(loss)
            self.loss_ = loss
            self._optimizer.iteration_ends(self.t_)
            if incremental:
                self.best_loss_ = min(self.best_loss_, loss)
                self._advance(bar, loss)
                continue
            if early:
                self._sync_from_device()
                self._update_validation(*val)
            else:
                self._update_no_improvement(loss)
            self._advance(bar, loss)
            if self._no_improvement_count > self.n_iter_no_change:
                what = "Validation score" if early else "Training loss"
                msg = (f"{what} did not improve more than tol={self.tol} for "
                       f"{self.n_iter_no_change} consecutive epochs.")
                if self._optimizer.trigger_stopping(msg, self.verbose):
                    return "stopped"
                self._no_improvement_count = 0
        return "completed"

    def _progress_bar(self, epochs):
        """A tqdm bar over epochs when ``verbose`` (None otherwise)."""
        if not self.verbose:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=epochs, desc=type(self).__name__, unit="epoch", leave=True)

    def _advance(self, bar, loss):
        if bar is None:
            return
        post = {"loss": f"{loss:.5g}"}
        if self.validation_scores_:
            post["val_score"] = f"{self.validation_scores_[-1]:.4g}"
        bar.set_postfix(post)
        bar.update(1)

    def _run_epoch(self, Xp, lengths, y_enc, sw, grad, batch, interrupt):
        """One pass over the data; None when interrupted (checked between batches)."""
        n = Xp.shape[0]
        total = 0.0
        for idx in self._batches(lengths, batch):
            if interrupt["hit"]:
                return None
            if self._trainer is not None:
                loss = self._device_step(idx)
            else:
                loss = self._train_step(Xp[idx], lengths[idx], y_enc[idx], sw[idx], grad)
            total += loss * len(idx)
        return total / n

    def _batches(self, lengths, batch):
        """Index arrays of one epoch's mini-batches.

        With ``shuffle``, sequences of unequal lengths are bucketed: a random
        permutation is cut into pools of 50 batches, each pool sorted by length
        and cut into batches, and the batches are shuffled, so short sequences
        rarely share a batch (and its padded length) with long ones.
        """
        n = lengths.shape[0]
        if not self.shuffle:
            order = np.arange(n)
            return [order[i:i + batch] for i in range(0, n, batch)]
        order = self._rng.permutation(n)
        if lengths.min() == lengths.max():
            return [order[i:i + batch] for i in range(0, n, batch)]
        pool = 50 * batch
        out = []
        for p in range(0, n, pool):
            chunk = order[p:p + pool]
            chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
            out.extend(chunk[i:i + batch] for i in range(0, len(chunk), batch))
        self._rng.shuffle(out)
        return out

    def _train_step(self, Xb, lb, yb, wb, grad):
        """Forward, backward, clip and one optimizer update; raises _Diverged instead of going non-finite."""
        tmax = int(lb.max())
        loss = _network.loss_and_grad(
            self._spec, self.coefs_flat_, grad, Xb[:, :tmax], lb, yb, wb, self._loss,
            alpha=self.alpha, dropout=self.dropout, rng=self._rng, bptt_steps=self.bptt_steps,
            return_sequences=self.return_sequences, clip_value=self.clip_value,
            clip_norm=self.clip_norm, use_blas=True, workspace=self._workspace,
            n_threads=compute_threads())
        if not np.isfinite(loss) or not np.isfinite(_network.global_norm(grad)):
            raise _Diverged(f"the loss became {loss}")
        before = self._previous_coefs
        before[:] = self.coefs_flat_
        with flush_denormals():  # Adam's moments of tiny gradients would otherwise be denormal
            self._optimizer.update(self.coefs_flat_, grad)
        if not np.isfinite(_network.global_norm(self.coefs_flat_)):
            self.coefs_flat_[:] = before
            raise _Diverged("the weights overflowed")
        return loss

    # ------------------------------------------------------------------ GPU
    def _gpu_reason(self):
        """None when ``device`` selects a usable GPU, else why not ("cpu" when the CPU was asked for)."""
        if self.device == "cpu":
            return "cpu"
        from ._kernels.cuda import status

        ok, reason = status()
        return None if ok else reason

    def _device_for_training(self):
        """"cpu" or "cuda" for a fit; ``device="cuda"`` without a usable GPU is an error."""
        reason = self._gpu_reason()
        if reason is None:
            return "cuda"
        if self.device == "cuda":
            raise ValueError(f"device='cuda' was requested, but {reason}")
        return "cpu"

    def _device_for_prediction(self):
        """"cpu" or "cuda" for prediction: without a GPU, a model set to "cuda" predicts on the CPU.

        The weights always live in host memory, so a model fitted on a GPU
        predicts anywhere; ``device="cuda"`` then warns that the CPU was used.
        """
        reason = self._gpu_reason()
        if reason is None:
            return "cuda"
        if self.device == "cuda":
            warnings.warn(f"device='cuda' but {reason} Predicting on the CPU (same weights).",
                          UserWarning, stacklevel=4)
        return "cpu"

    def _device_trainer(self, Xp, lengths, y_enc, sw, batch, steps):
        """Move the training data, weights and optimizer state to the GPU for this fit."""
        from . import _cuda_network

        _cuda_network.check_training_memory(self._spec, batch, steps, self._np_dtype.itemsize,
                                            self.dropout > 0, Xp.nbytes)
        return _cuda_network.DeviceTrainer(
            self._spec, self.coefs_flat_, self._optimizer, Xp, lengths, y_enc, sw, self._loss,
            alpha=self.alpha, dropout=self.dropout, bptt_steps=self.bptt_steps,
            return_sequences=self.return_sequences, clip_value=self.clip_value, clip_norm=self.clip_norm)

    def _device_step(self, idx):
        """One training step on the GPU; raises _Diverged as :meth:`_train_step` does."""
        key = int(self._rng.integers(2 ** 32)) if self.dropout > 0 else 0
        loss, outcome = self._trainer.step(idx, key)
        if outcome == "gradient":
            raise _Diverged(f"the loss became {loss}")
        if outcome == "weights":
            raise _Diverged("the weights overflowed")
        return loss

    def _sync_from_device(self):
        """Copy the GPU's weights and optimizer state into ``coefs_flat_`` and the optimizer."""
        trainer = getattr(self, "_trainer", None)
        if trainer is not None:
            trainer.download()

    def _forward(self, Xp, lengths, return_sequences=False, head=True):
        """Network outputs on the prediction device (see :meth:`_device_for_prediction`)."""
        if self._device_for_prediction() == "cuda":
            from . import _cuda_network

            return _cuda_network.forward(self._spec, self.coefs_flat_, Xp, lengths,
                                         return_sequences=return_sequences, head=head)
        return _network.forward(self._spec, self.coefs_flat_, Xp, lengths, return_sequences=return_sequences,
                                head=head, n_threads=None)

    def _update_no_improvement(self, loss):
        if loss > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if loss < self.best_loss_:
            self.best_loss_ = loss

    def _update_validation(self, Xv, lv, yv):
        score = self._validation_score(Xv, lv, yv)
        self.validation_scores_.append(score)
        if score < self.best_validation_score_ + self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            self._best_coefs = self.coefs_flat_.copy()

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
    # Attributes saved by sklstm.save, with the type each must have on load.
    _STATE_SCHEMA = {
        "n_features_in_": int, "feature_names_in_": np.ndarray, "coefs_flat_": np.ndarray,
        "loss_": float, "loss_curve_": list, "best_loss_": float, "validation_scores_": (list, type(None)),
        "best_validation_score_": (float, type(None)), "n_iter_": int, "t_": int, "n_outputs_": int,
        "classes_": np.ndarray, "_y_ndim": int, "_loss": str, "_no_improvement_count": int,
        "_best_coefs": (np.ndarray, type(None)), "_spec": dict, "_optimizer": dict, "_rng": dict,
        "diverged_": bool,
    }

    def _persistent_state(self) -> dict:
        """Fitted state as plain values and arrays (see :mod:`sklstm.persistence`)."""
        if not hasattr(self, "coefs_flat_"):
            return {}
        out = {}
        for k in self._STATE_SCHEMA:
            if not hasattr(self, k):
                continue
            v = getattr(self, k)
            if k == "_spec":
                v = {"cell": v.cell, "n_features": v.n_features, "hidden": list(v.hidden),
                     "bidirectional": v.bidirectional, "n_outputs": v.n_outputs}
            elif k == "_optimizer":
                v = {"kind": type(v).__name__, "state": v.state()}
            elif k == "_rng":
                v = v.bit_generator.state
            out[k] = v
        return out

    def _restore_state(self, state: dict) -> None:
        """Inverse of :meth:`_persistent_state`, checking every type and shape."""
        from ._optimizers import AdamOptimizer, RMSpropOptimizer, SGDOptimizer

        if not state:
            return
        unknown = set(state) - set(self._STATE_SCHEMA)
        if unknown:
            raise ValueError(f"unexpected attributes {sorted(unknown)}")
        for k, v in state.items():
            want = self._STATE_SCHEMA[k]
            if want is float and isinstance(v, int) and not isinstance(v, bool):
                v = float(v)
            if want is int and (isinstance(v, bool) or not isinstance(v, int)):
                raise ValueError(f"{k} must be an int")
            if not isinstance(v, want):
                raise ValueError(f"{k} has type {type(v).__name__}")
            state[k] = v
        for k in ("coefs_flat_", "_spec", "_optimizer", "_rng", "_loss", "n_outputs_", "n_features_in_"):
            if k not in state:
                raise ValueError(f"missing {k}")
        sp = state["_spec"]
        if set(sp) != {"cell", "n_features", "hidden", "bidirectional", "n_outputs"}:
            raise ValueError("malformed network description")
        hidden = tuple(sp["hidden"])
        if not hidden or not all(isinstance(h, int) and 0 < h < 1_000_000 for h in hidden):
            raise ValueError("bad hidden sizes")
        if sp["cell"] not in _CELLS or not isinstance(sp["bidirectional"], bool):
            raise ValueError("bad cell")
        for k in ("n_features", "n_outputs"):
            if not isinstance(sp[k], int) or not 0 < sp[k] < 10_000_000:
                raise ValueError(f"bad {k}")
        spec = NetworkSpec(sp["cell"], sp["n_features"], hidden, sp["bidirectional"], sp["n_outputs"])
        flat = state["coefs_flat_"]
        dt = flat.dtype  # the fitted dtype (the dtype parameter may have been changed after fit)
        if dt not in (np.float32, np.float64) or flat.shape != (spec.n_params,):
            raise ValueError(f"coefs_flat_ has dtype {flat.dtype} and shape {flat.shape}; expected "
                             f"{dt} and ({spec.n_params},)")
        if not np.isfinite(flat).all():
            raise ValueError("coefs_flat_ holds non-finite values")
        if state["n_outputs_"] != spec.n_outputs or state["n_features_in_"] != spec.n_features:
            raise ValueError("n_outputs_ / n_features_in_ do not match the network")
        if state["_loss"] not in ("squared_error", "softmax", "logistic", "multilabel"):
            raise ValueError("unknown loss")
        best = state.get("_best_coefs")
        if best is not None and (best.dtype != dt or best.shape != flat.shape):
            raise ValueError("_best_coefs does not match coefs_flat_")
        opt = state["_optimizer"]
        kinds = {"AdamOptimizer": AdamOptimizer, "SGDOptimizer": SGDOptimizer,
                 "RMSpropOptimizer": RMSpropOptimizer}
        if set(opt) != {"kind", "state"} or opt["kind"] not in kinds or not isinstance(opt["state"], dict):
            raise ValueError("malformed optimizer state")
        optimizer = make_optimizer(self, spec.n_params, dt)
        if type(optimizer) is not kinds[opt["kind"]]:
            raise ValueError("optimizer state does not match the solver parameter")
        current = optimizer.state()
        if set(opt["state"]) != set(current):
            raise ValueError("optimizer state has unexpected fields")
        for k, v in opt["state"].items():
            ref = current[k]
            if isinstance(ref, np.ndarray):
                if not isinstance(v, np.ndarray) or v.dtype != ref.dtype or v.shape != ref.shape:
                    raise ValueError(f"optimizer array {k} does not match the network")
            elif isinstance(ref, bool) != isinstance(v, bool) or not isinstance(v, (int, float, str, bool)):
                raise ValueError(f"optimizer field {k} has type {type(v).__name__}")
        optimizer.set_state(opt["state"])
        rng = np.random.default_rng()
        try:
            rng.bit_generator.state = state["_rng"]
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"bad random state ({exc})") from None
        for k in ("loss_curve_", "validation_scores_"):
            v = state.get(k)
            if v is not None and not all(isinstance(x, (int, float)) for x in v):
                raise ValueError(f"{k} must hold numbers")
        if "classes_" in state:
            classes = state["classes_"]
            if classes.ndim != 1 or classes.size < 2:
                raise ValueError("classes_ must be 1D with at least 2 classes")
        fn = state.get("feature_names_in_")
        if fn is not None and (fn.ndim != 1 or fn.shape[0] != spec.n_features):
            raise ValueError("feature_names_in_ does not match n_features_in_")
        for k, v in state.items():
            if k not in ("_spec", "_optimizer", "_rng"):
                setattr(self, k, v)
        self._spec = spec
        self._optimizer = optimizer
        self._rng = rng
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
        for k, v in views.items():
            a = np.asarray(state[k].detach().cpu().numpy() if hasattr(state[k], "detach") else state[k])
            if a.shape != v.shape:
                raise ValueError(f"{k}: expected shape {v.shape}, got {a.shape}.")
            v[...] = a
        return self


class StreamingPredictor:
    """Feeds a fitted unidirectional model one timestep at a time (see ``stream()``).

    Parameters
    ----------
    estimator : fitted sklstm estimator

    Attributes
    ----------
    n_steps_ : int
        Timesteps consumed since the last :meth:`reset`.

    Examples
    --------
    >>> import numpy as np, warnings
    >>> from sklstm import LSTMRegressor
    >>> X = np.random.default_rng(0).normal(size=(20, 6, 2))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     reg = LSTMRegressor(hidden_layer_sizes=(4,), max_iter=2).fit(X, X[:, -1, 0])
    >>> s = reg.stream()
    >>> outs = [s.step(x_t) for x_t in X[0]]
    >>> bool(outs[-1] == reg.predict(X[:1])[0])
    True
    """

    def __init__(self, estimator):
        self.estimator = estimator
        self.reset()

    def reset(self):
        """Forget the sequence seen so far.

        Returns
        -------
        self : StreamingPredictor
        """
        est = self.estimator
        self._states = _network._zero_states(est._spec, 1, est.coefs_flat_.dtype)
        self.n_steps_ = 0
        return self

    def _advance(self, x_t):
        est = self.estimator
        x = np.asarray(x_t)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"x_t must be numeric; got dtype {x.dtype}")
        x = x.reshape(-1) if x.ndim <= 1 or x.shape[0] == 1 else x
        if x.ndim != 1 or x.shape[0] != est.n_features_in_:
            raise ValueError(f"x_t must hold one timestep of {est.n_features_in_} features; got shape "
                             f"{np.shape(x_t)}")
        if not np.isfinite(x).all():
            raise ValueError("x_t contains NaN or infinity")
        xb = np.array(x, dtype=est.coefs_flat_.dtype).reshape(1, 1, -1)  # a writable copy
        v = est._spec.views(writable(est.coefs_flat_))
        top, _, _, self._states = _network._stack_forward(
            est._spec, v, xb, np.ones(1, dtype=np.int64), self._states, False, False)
        self.n_steps_ += 1
        raw = np.empty((1, est._spec.n_outputs), dtype=xb.dtype)
        _network.linear_forward(np.ascontiguousarray(top[0]), np.ascontiguousarray(v["head.weight"].T),
                                v["head.bias"], raw, False)
        return output_activation(est._loss, raw)[0]

    def step(self, x_t):
        """Consume one timestep and predict.

        Parameters
        ----------
        x_t : array-like of shape (n_features,)

        Returns
        -------
        prediction
            ``predict`` of the sequence so far: a label (classifier) or a
            value / vector (regressor).
        """
        return self.estimator._stream_output(self._advance(x_t))

    def step_proba(self, x_t):
        """Consume one timestep and return class probabilities (classifiers).

        Parameters
        ----------
        x_t : array-like of shape (n_features,)

        Returns
        -------
        proba : ndarray of shape (n_classes,)
        """
        if not hasattr(self.estimator, "predict_proba"):
            raise AttributeError("step_proba is only available for classifiers")
        act = self._advance(x_t)
        return np.concatenate([1.0 - act, act]) if self.estimator._loss == "logistic" else act
