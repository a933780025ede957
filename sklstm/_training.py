"""THE training loop: ``fit_loop -> run_epoch -> train_step``, with the stopping rules.

Every model family trains here: an estimator supplies an objective
(:mod:`sklstm._objectives`), the training data as a
:class:`~sklstm._objectives.Batch`, and its optimizer; the loop runs
epochs of shuffled (length-bucketed) mini-batches on a backend
(:mod:`sklstm._backend`) and applies MLP's stopping rules: ``max_iter``,
``tol`` / ``n_iter_no_change`` on the training loss or the validation
score, early stopping with the best weights restored. Ctrl-C is deferred
to the end of the running batch; divergence stops with the last finite
weights. Where the fit stands is a :class:`LoopState`, published as the
estimator's fitted attributes (``n_iter_``, ``loss_curve_``, ...).

A family changes a step by subclassing :class:`TrainingLoop` (for example
:meth:`~TrainingLoop.batches`), never by copying the loop.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, fields

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._backend import Diverged, make_backend
from ._validation import warn_user
from .exceptions import DivergenceWarning, TrainingInterruptedWarning

__all__ = ["LoopConfig", "LoopState", "Validation", "TrainingLoop", "deferred_interrupt", "split_validation"]


@contextmanager
def deferred_interrupt():
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


@dataclass(frozen=True)
class LoopConfig:
    """The estimator parameters the loop reads (MLP's names and meanings)."""

    max_iter: int = 200
    batch_size: object = "auto"
    shuffle: bool = True
    tol: float = 1e-4
    n_iter_no_change: int = 10
    verbose: bool = False
    device: str = "cpu"
    name: str = "sklstm"

    @classmethod
    def from_estimator(cls, est, device):
        """The configuration of ``est``'s parameters, training on ``device``."""
        return cls(est.max_iter, est.batch_size, est.shuffle, est.tol, est.n_iter_no_change, est.verbose,
                   device, type(est).__name__)

    def batch(self, n) -> int:
        """Mini-batch size for ``n`` samples (``"auto"``: ``min(200, n)``)."""
        if self.batch_size == "auto":
            return min(200, n)
        return int(np.clip(self.batch_size, 1, n))


#: LoopState field -> the estimator attribute it is published as
_ATTRIBUTES = {
    "n_iter": "n_iter_", "t": "t_", "loss": "loss_", "loss_curve": "loss_curve_", "best_loss": "best_loss_",
    "validation_scores": "validation_scores_", "best_validation_score": "best_validation_score_",
    "no_improvement_count": "_no_improvement_count", "best_params": "_best_coefs", "diverged": "diverged_",
}


@dataclass
class LoopState:
    """Where a fit stands; carried over by ``warm_start`` and ``partial_fit``.

    Attributes
    ----------
    n_iter : int
        Epochs run.
    t : int
        Samples seen.
    loss : float or None
        Mean training loss of the last epoch.
    loss_curve : list of float
    best_loss : float
    validation_scores : list of float or None
        Per-epoch validation score (None without early stopping).
    best_validation_score : float or None
    no_improvement_count : int
        Consecutive epochs without an improvement larger than ``tol``.
    best_params : ndarray or None
        Parameters at the best validation score.
    diverged : bool
        Whether the last fit stopped on a non-finite loss or weights.
    """

    n_iter: int = 0
    t: int = 0
    loss: float = None
    loss_curve: list = field(default_factory=list)
    best_loss: float = np.inf
    validation_scores: list = None
    best_validation_score: float = None
    no_improvement_count: int = 0
    best_params: np.ndarray = None
    diverged: bool = False

    @classmethod
    def new(cls, early_stopping: bool) -> "LoopState":
        """The state before the first epoch."""
        return cls(validation_scores=[] if early_stopping else None,
                   best_validation_score=-np.inf if early_stopping else None)

    @classmethod
    def from_estimator(cls, est) -> "LoopState":
        """The state published on a fitted estimator."""
        return cls(**{f.name: getattr(est, _ATTRIBUTES[f.name]) for f in fields(cls)
                      if hasattr(est, _ATTRIBUTES[f.name])})

    def publish(self, est) -> None:
        """Set the estimator's fitted attributes from this state."""
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "loss" or value is not None:
                setattr(est, _ATTRIBUTES[f.name], value)


@dataclass(frozen=True)
class Validation:
    """Held-out data for early stopping and its score (higher is better)."""

    data: object
    score: object
    """Callable: ``score(batch) -> float`` with the current parameters."""


def split_validation(n, fraction, random_state, stratify=None):
    """Train and validation indices of ``n`` samples (``train_test_split``, stratified when given labels)."""
    from sklearn.model_selection import train_test_split  # here: 55 ms of import that predict never needs

    tr, va = train_test_split(np.arange(n), test_size=fraction, random_state=random_state, stratify=stratify)
    if va.size < 1:
        raise ValueError("validation_fraction leaves no validation sample; use more data.")
    return tr, va


class TrainingLoop:
    """Runs epochs of mini-batch updates of ``params`` on one backend.

    Parameters
    ----------
    config : LoopConfig
    objective : RecurrentObjective (or another objective)
    params : ndarray of shape (n_params,)
        The estimator's parameters, updated in place.
    optimizer : sklstm._optimizers._Optimizer
    rng : numpy.random.Generator
        Shuffling and dropout.
    """

    def __init__(self, config, objective, params, optimizer, rng):
        self.config, self.objective, self.params = config, objective, params
        self.optimizer, self.rng = optimizer, rng
        self.backend = None

    def fit_loop(self, state, data, epochs, incremental=False, validation=None) -> str:
        """Train for up to ``epochs`` epochs; returns "completed", "stopped", "diverged" or "interrupted".

        Without ``incremental`` (``partial_fit``), stopping rules apply and
        running out of epochs warns (``ConvergenceWarning``); with
        ``validation`` the best weights are restored at the end.
        """
        self.backend = make_backend(self.config.device, self.objective, self.params, self.optimizer, data,
                                    self.config.batch(len(data)))
        bar = self._progress_bar(epochs)
        state.diverged = False
        try:
            with deferred_interrupt() as interrupt:
                outcome = self._epochs(state, data, epochs, incremental, validation, bar, interrupt)
        except BaseException:
            try:  # keep the GPU's last weights if it still answers; never mask the original error
                self.backend.sync()
            except Exception:  # noqa: BLE001
                pass
            raise
        else:
            self.backend.sync()
        finally:
            self.backend = None
        if bar is not None:
            bar.close()
        self._finish(state, outcome, incremental, validation)
        return outcome

    def _epochs(self, state, data, epochs, incremental, validation, bar, interrupt):
        for _ in range(epochs):
            try:
                loss = self.run_epoch(data, interrupt)
            except KeyboardInterrupt:
                return "interrupted"
            except Diverged as exc:
                state.diverged = True
                warn_user(
                    f"Training diverged in epoch {state.n_iter + 1}: {exc}. Stopped; the model keeps "
                    "the last weights with a finite loss. Lower learning_rate_init, or set clip_norm "
                    "/ clip_value.", DivergenceWarning)
                return "diverged"
            if loss is None:
                return "interrupted"
            if self.end_epoch(state, loss, len(data), incremental, validation, bar):
                return "stopped"
        return "completed"

    def run_epoch(self, data, interrupt):
        """One pass over the data; its mean loss, or None when interrupted (checked between batches)."""
        total = 0.0
        for idx in self.batches(data.lengths):
            if interrupt["hit"]:
                return None
            total += self.train_step(idx) * len(idx)
        return total / len(data)

    def train_step(self, idx) -> float:
        """One update on the samples ``idx``; returns the batch loss (raises Diverged)."""
        return self.backend.step(idx, self.rng)

    def batches(self, lengths) -> list:
        """Index arrays of one epoch's mini-batches.

        With ``shuffle``, sequences of unequal lengths are bucketed: a random
        permutation is cut into pools of 50 batches, each pool sorted by length
        and cut into batches, and the batches are shuffled, so short sequences
        rarely share a batch (and its padded length) with long ones.
        """
        n = lengths.shape[0]
        batch = self.config.batch(n)
        if not self.config.shuffle:
            order = np.arange(n)
            return [order[i:i + batch] for i in range(0, n, batch)]
        order = self.rng.permutation(n)
        if lengths.min() == lengths.max():
            return [order[i:i + batch] for i in range(0, n, batch)]
        pool = 50 * batch
        out = []
        for p in range(0, n, pool):
            chunk = order[p:p + pool]
            chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
            out.extend(chunk[i:i + batch] for i in range(0, len(chunk), batch))
        self.rng.shuffle(out)
        return out

    def end_epoch(self, state, loss, n_samples, incremental, validation, bar) -> bool:
        """Record an epoch and apply the stopping rules; True stops training."""
        state.n_iter += 1
        state.t += n_samples
        state.loss_curve.append(loss)
        state.loss = loss
        self.optimizer.iteration_ends(state.t)
        cfg = self.config
        if incremental:
            state.best_loss = min(state.best_loss, loss)
        elif validation is not None:
            self.backend.sync()
            self._record_validation(state, validation.score(validation.data))
        else:
            self._record_loss(state, loss)
        self._advance(bar, state)
        if incremental or state.no_improvement_count <= cfg.n_iter_no_change:
            return False
        what = "Validation score" if validation is not None else "Training loss"
        msg = (f"{what} did not improve more than tol={cfg.tol} for "
               f"{cfg.n_iter_no_change} consecutive epochs.")
        if self.optimizer.trigger_stopping(msg, cfg.verbose):
            return True
        state.no_improvement_count = 0
        return False

    def _record_loss(self, state, loss):
        if loss > state.best_loss - self.config.tol:
            state.no_improvement_count += 1
        else:
            state.no_improvement_count = 0
        if loss < state.best_loss:
            state.best_loss = loss

    def _record_validation(self, state, score):
        state.validation_scores.append(score)
        if score < state.best_validation_score + self.config.tol:
            state.no_improvement_count += 1
        else:
            state.no_improvement_count = 0
        if score > state.best_validation_score:
            state.best_validation_score = score
            state.best_params = self.params.copy()

    def _finish(self, state, outcome, incremental, validation):
        """Warnings and best-weight restoration after the epochs."""
        if outcome == "completed" and not incremental:
            warn_user(
                f"Stochastic Optimizer: Maximum iterations ({self.config.max_iter}) reached and the "
                "optimization hasn't converged yet.", ConvergenceWarning)
        restored = validation is not None and state.best_params is not None
        if restored:
            self.params[:] = state.best_params
        if outcome == "interrupted":
            kept = "the best validation weights" if restored else "the weights after the last completed batch"
            warn_user(f"Training interrupted (KeyboardInterrupt) during epoch {state.n_iter + 1}; "
                      f"the model is fitted with {kept}.", TrainingInterruptedWarning)

    def _progress_bar(self, epochs):
        """A tqdm bar over epochs when ``verbose`` (None otherwise)."""
        if not self.config.verbose:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=epochs, desc=self.config.name, unit="epoch", leave=True)

    @staticmethod
    def _advance(bar, state):
        if bar is None:
            return
        post = {"loss": f"{state.loss:.5g}"}
        if state.validation_scores:
            post["val_score"] = f"{state.validation_scores[-1]:.4g}"
        bar.set_postfix(post)
        bar.update(1)
