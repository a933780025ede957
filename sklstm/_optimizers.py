"""Optimizers as small objects over the flat parameter vector.

Update formulas are torch.optim's (Adam with epsilon added after bias
correction, SGD with momentum / Nesterov, RMSprop); the parameter names and
learning-rate schedules are MLPClassifier's. State is plain numpy arrays
and numbers so it pickles and saves.
"""

from __future__ import annotations

import numpy as np

from ._kernels.optim import adam_update, rmsprop_update, sgd_update

__all__ = ["make_optimizer", "AdamOptimizer", "SGDOptimizer", "RMSpropOptimizer"]


class _Optimizer:
    """Base class: holds the learning rate and the update count."""

    def __init__(self, n_params: int, dtype, learning_rate_init: float):
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.t = 0
        self.dtype = np.dtype(dtype)

    def state(self) -> dict:
        """Everything needed to continue training identically (arrays and numbers)."""
        return {k: v for k, v in vars(self).items() if k != "dtype"}

    def set_state(self, state: dict) -> None:
        """Restore what :meth:`state` returned."""
        for k, v in state.items():
            setattr(self, k, v)

    def iteration_ends(self, time_step: int) -> None:
        """Hook called after each epoch with the number of samples seen."""

    def trigger_stopping(self, msg: str, verbose: bool) -> bool:
        """Called when training would stop for lack of progress; True means stop."""
        if verbose:
            print(msg + " Stopping.")
        return True


class AdamOptimizer(_Optimizer):
    """Adam (Kingma & Ba 2014) as torch.optim.Adam computes it."""

    def __init__(self, n_params, dtype, learning_rate_init, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        super().__init__(n_params, dtype, learning_rate_init)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.m = np.zeros(n_params, dtype=dtype)
        self.v = np.zeros(n_params, dtype=dtype)

    def update(self, params: np.ndarray, grads: np.ndarray) -> None:
        """Apply one step in place."""
        self.t += 1
        adam_update(params, grads, self.m, self.v, self.learning_rate,
                    self.beta_1, self.beta_2, self.epsilon, self.t)


class SGDOptimizer(_Optimizer):
    """SGD with momentum / Nesterov (torch formula) and MLP's learning-rate schedules."""

    def __init__(self, n_params, dtype, learning_rate_init, learning_rate="constant",
                 momentum=0.9, nesterov=True, power_t=0.5):
        super().__init__(n_params, dtype, learning_rate_init)
        self.lr_schedule = learning_rate
        self.momentum, self.nesterov, self.power_t = float(momentum), bool(nesterov), float(power_t)
        self.buf = np.zeros(n_params, dtype=dtype)

    def update(self, params, grads):
        """Apply one step in place."""
        sgd_update(params, grads, self.buf, self.learning_rate, self.momentum,
                   self.nesterov, self.t == 0)
        self.t += 1

    def iteration_ends(self, time_step):
        """``invscaling``: ``lr = lr_init / (time_step + 1) ** power_t``."""
        if self.lr_schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg, verbose):
        """``adaptive``: divide the learning rate by 5 instead of stopping, until it is tiny."""
        if self.lr_schedule != "adaptive":
            return super().trigger_stopping(msg, verbose)
        if self.learning_rate <= 1e-6:
            return super().trigger_stopping(msg + " Learning rate too small.", verbose)
        self.learning_rate /= 5.0
        if verbose:
            print(msg + f" Setting learning rate to {self.learning_rate:f}")
        return False


class RMSpropOptimizer(_Optimizer):
    """RMSprop as torch.optim.RMSprop (``rho`` is torch's ``alpha``)."""

    def __init__(self, n_params, dtype, learning_rate_init, rho=0.9, epsilon=1e-8):
        super().__init__(n_params, dtype, learning_rate_init)
        self.rho, self.epsilon = float(rho), float(epsilon)
        self.sq = np.zeros(n_params, dtype=dtype)

    def update(self, params, grads):
        """Apply one step in place."""
        self.t += 1
        rmsprop_update(params, grads, self.sq, self.learning_rate, self.rho, self.epsilon)


def make_optimizer(est, n_params: int, dtype) -> _Optimizer:
    """The optimizer named by ``est.solver``, configured from the estimator's parameters."""
    if est.solver == "adam":
        return AdamOptimizer(n_params, dtype, est.learning_rate_init, est.beta_1, est.beta_2, est.epsilon)
    if est.solver == "sgd":
        return SGDOptimizer(n_params, dtype, est.learning_rate_init, est.learning_rate,
                            est.momentum, est.nesterovs_momentum, est.power_t)
    return RMSpropOptimizer(n_params, dtype, est.learning_rate_init, est.rho, est.epsilon)
