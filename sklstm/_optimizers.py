"""Optimizers as small objects over the flat parameter vector, found by solver name.

Update formulas are torch.optim's (Adam with epsilon added after bias
correction, SGD with momentum / Nesterov, RMSprop); the parameter names and
learning-rate schedules are MLPClassifier's. State is plain numpy arrays
and numbers so it pickles and saves.

Every optimizer updates on the CPU (:meth:`update`) and on a GPU
(:meth:`device_update`, with its state arrays moved to the device by the
CUDA backend: :meth:`arrays` names them), and is registered in
:data:`SOLVERS` under its ``solver`` name, which persistence uses to save
and restore any of them.
"""

from __future__ import annotations

import numpy as np

from ._kernels.optim import adam_update, rmsprop_update, sgd_update

__all__ = ["SOLVERS", "make_optimizer", "optimizer_class", "AdamOptimizer", "SGDOptimizer",
           "RMSpropOptimizer"]

#: solver name -> optimizer class (filled by :func:`register`)
SOLVERS: dict = {}


def register(cls):
    """Class decorator: make ``cls`` the optimizer of ``solver=cls.solver``."""
    SOLVERS[cls.solver] = cls
    return cls


class _Optimizer:
    """Base class: holds the learning rate and the update count.

    Subclasses set ``solver`` (their registry name), ``hyperparameters``
    (estimator parameter -> constructor argument) and ``state_arrays`` (the
    names of their per-parameter arrays).
    """

    solver = None
    hyperparameters: dict = {}
    state_arrays: tuple = ()

    def __init__(self, n_params: int, dtype, learning_rate_init: float):
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.t = 0
        self.dtype = np.dtype(dtype)

    @classmethod
    def from_params(cls, params: dict, n_params: int, dtype) -> "_Optimizer":
        """The optimizer configured from estimator parameters (``get_params()``)."""
        kwargs = {arg: params[name] for name, arg in cls.hyperparameters.items()}
        return cls(n_params, dtype, params["learning_rate_init"], **kwargs)

    def arrays(self) -> dict:
        """The per-parameter state arrays by name (what moves to a GPU)."""
        return {k: getattr(self, k) for k in self.state_arrays}

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

    def update(self, params: np.ndarray, grads: np.ndarray) -> None:
        """Apply one step in place (CPU arrays)."""
        raise NotImplementedError

    def device_update(self, params, grads, arrays: dict, stats) -> None:
        """Apply one step in place on the GPU.

        ``arrays`` holds the device copies of :meth:`arrays`; ``stats`` is the
        step's device statistics vector: the kernels skip the update when its
        loss or gradient norm is not finite. The update count advances as
        in :meth:`update`.
        """
        raise NotImplementedError


@register
class AdamOptimizer(_Optimizer):
    """Adam (Kingma & Ba 2014) as torch.optim.Adam computes it."""

    solver = "adam"
    hyperparameters = {"beta_1": "beta_1", "beta_2": "beta_2", "epsilon": "epsilon"}
    state_arrays = ("m", "v")

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

    def device_update(self, params, grads, arrays, stats):
        """Apply one step in place on the GPU."""
        from ._kernels.cuda.optim import adam_update as device_adam

        self.t += 1
        device_adam(params, grads, arrays["m"], arrays["v"], self.learning_rate, self.beta_1, self.beta_2,
                    self.epsilon, self.t, stats)


@register
class SGDOptimizer(_Optimizer):
    """SGD with momentum / Nesterov (torch formula) and MLP's learning-rate schedules."""

    solver = "sgd"
    hyperparameters = {"learning_rate": "learning_rate", "momentum": "momentum",
                       "nesterovs_momentum": "nesterov", "power_t": "power_t"}
    state_arrays = ("buf",)

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

    def device_update(self, params, grads, arrays, stats):
        """Apply one step in place on the GPU."""
        from ._kernels.cuda.optim import sgd_update as device_sgd

        device_sgd(params, grads, arrays["buf"], self.learning_rate, self.momentum, self.nesterov,
                   self.t == 0, stats)
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


@register
class RMSpropOptimizer(_Optimizer):
    """RMSprop as torch.optim.RMSprop (``rho`` is torch's ``alpha``)."""

    solver = "rmsprop"
    hyperparameters = {"rho": "rho", "epsilon": "epsilon"}
    state_arrays = ("sq",)

    def __init__(self, n_params, dtype, learning_rate_init, rho=0.9, epsilon=1e-8):
        super().__init__(n_params, dtype, learning_rate_init)
        self.rho, self.epsilon = float(rho), float(epsilon)
        self.sq = np.zeros(n_params, dtype=dtype)

    def update(self, params, grads):
        """Apply one step in place."""
        self.t += 1
        rmsprop_update(params, grads, self.sq, self.learning_rate, self.rho, self.epsilon)

    def device_update(self, params, grads, arrays, stats):
        """Apply one step in place on the GPU."""
        from ._kernels.cuda.optim import rmsprop_update as device_rmsprop

        self.t += 1
        device_rmsprop(params, grads, arrays["sq"], self.learning_rate, self.rho, self.epsilon, stats)


def optimizer_class(solver: str):
    """The registered optimizer class of ``solver`` (ValueError for an unknown name)."""
    try:
        return SOLVERS[solver]
    except KeyError:
        raise ValueError(f"unknown solver {solver!r}; known: {sorted(SOLVERS)}") from None


def make_optimizer(params: dict, n_params: int, dtype) -> _Optimizer:
    """The optimizer named by ``params["solver"]``, configured from the estimator parameters ``params``."""
    return optimizer_class(params["solver"]).from_params(params, n_params, dtype)
