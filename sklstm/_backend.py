"""Where training steps run: CPU and CUDA trainers behind one interface.

A backend holds what one fit needs on its device (the parameters, their
gradient, the optimizer state, and on a GPU the training data too) and
offers two calls to the training loop (:mod:`sklstm._training`):

- ``step(idx, rng) -> loss``: forward, backward, clipping and one optimizer
  update on the training samples ``idx``; raises :class:`Diverged` instead
  of letting the loss, the gradient or the weights become non-finite;
- ``sync()``: bring the parameters and the optimizer state back into the
  host arrays the estimator owns (a no-op on the CPU).

:func:`make_backend` picks one by device name, so the loop never branches
on the device.
"""

from __future__ import annotations

import numpy as np

from ._kernels._fpenv import flush_denormals
from ._kernels.head import global_norm
from ._network import Workspace
from ._sequences import _physical_memory
from ._threads import compute_threads

__all__ = ["Diverged", "CpuBackend", "CudaBackend", "make_backend"]


class Diverged(Exception):
    """Raised by a backend's step when the loss, gradient or weights stop being finite."""


class CpuBackend:
    """Training steps on the CPU, updating the host parameter vector in place.

    Parameters
    ----------
    objective : RecurrentObjective
    params : ndarray of shape (n_params,)
        The estimator's parameters (updated in place).
    optimizer : sklstm._optimizers._Optimizer
    data : sklstm._objectives.Batch
        The whole training set; steps take rows of it.
    batch_size : int
        Largest mini-batch (for the memory guard).
    """

    def __init__(self, objective, params, optimizer, data, batch_size):
        steps = data.X.shape[1] if objective.options.bptt_steps is None else min(
            objective.options.bptt_steps, data.X.shape[1])
        need = objective.training_bytes(batch_size, steps, params.dtype.itemsize)
        if need > _physical_memory() // 2:
            raise MemoryError(
                f"One training batch ({batch_size} sequences x {steps} steps) would cache "
                f"{need / 1024 ** 3:.1f} GiB of activations, more than half of this machine's memory. "
                "Set bptt_steps (memory then grows with the chunk, not the sequence) or a smaller "
                "batch_size.")
        self.objective, self.params, self.optimizer, self.data = objective, params, optimizer, data
        self.grad = np.empty_like(params)
        self.before = np.empty_like(params)
        self.workspace = Workspace()

    def step(self, idx, rng) -> float:
        """One update on the samples ``idx`` (``rng`` draws the dropout masks); returns the batch loss."""
        params, grad = self.params, self.grad
        loss = self.objective.loss_and_grad(params, grad, self.data.take(idx), rng, self.workspace,
                                            compute_threads())
        if not np.isfinite(loss) or not np.isfinite(global_norm(grad)):
            raise Diverged(f"the loss became {loss}")
        self.before[:] = params
        with flush_denormals():  # Adam's moments of tiny gradients would otherwise be denormal
            self.optimizer.update(params, grad)
        self.objective.after_update(params)
        if not np.isfinite(global_norm(params)):
            params[:] = self.before
            raise Diverged("the weights overflowed")
        return loss

    def sync(self) -> None:
        """Nothing to copy: the CPU trains on the host arrays themselves."""


class CudaBackend:
    """Training steps on an NVIDIA GPU: parameters, optimizer state and training data stay on it for the fit.

    Per step the host sends only the batch's sample indices and lengths (and,
    with ``return_sequences``, the index of each valid step) and reads back
    one small vector: the loss, the gradient norm and the weight norm.
    Clipping by norm and the refusal of non-finite steps are decided on the
    device. Same parameters as :class:`CpuBackend`.
    """

    def __init__(self, objective, params, optimizer, data, batch_size):
        from numba import cuda

        from . import _cuda_network as cn

        o = objective.options
        steps = data.X.shape[1] if o.bptt_steps is None else min(o.bptt_steps, data.X.shape[1])
        cn.check_training_memory(objective.spec, batch_size, steps, params.dtype.itemsize, o.dropout > 0,
                                 data.X.nbytes)
        self.objective, self.host_params, self.optimizer = objective, params, optimizer
        self.ws = cn.DeviceWorkspace()
        self.device = cn.DeviceParams(cuda.to_device(params), cuda.device_array_like(params),
                                      cuda.device_array(4, dtype=np.float64),
                                      cuda.to_device(objective.spec.weight_mask().astype(np.uint8)))
        self.before = cuda.device_array_like(params)
        # the optimizer's arrays (Adam's m and v, SGD's buf, RMSprop's sq) move; its numbers stay
        self.opt_arrays = {k: cuda.to_device(v) for k, v in optimizer.arrays().items()}
        self.X = cuda.to_device(np.ascontiguousarray(data.X))
        # token ids stay on the host too: the embedding's gradient is grouped by token there
        self.tokens = np.ascontiguousarray(data.X[:, :, 0]) if objective.spec.vocab_size else None
        self.lengths = data.lengths
        Y, y_steps = cn.upload_targets(data.y, o.return_sequences)
        self.targets = cn.DeviceTargets(Y, cuda.to_device(data.sample_weight.reshape(-1, 1)), y_steps)

    def step(self, idx, rng) -> float:
        """One update on the samples ``idx`` (``rng`` draws the dropout key); returns the batch loss."""
        from . import _cuda_network as cn

        key = int(rng.integers(2 ** 32)) if self.objective.options.dropout > 0 else 0
        batch = cn.device_batch(self.X, self.lengths, idx, self.ws, self.tokens)
        loss, outcome = self.device_step(batch, key)
        if outcome == "gradient":
            raise Diverged(f"the loss became {loss}")
        if outcome == "weights":
            raise Diverged("the weights overflowed")
        return loss

    def device_step(self, batch, key):
        """Loss, gradient and update of one device batch.

        Returns
        -------
        loss : float
        outcome : {"ok", "gradient", "weights"}
            "gradient": the loss or gradient was not finite, nothing changed;
            "weights": the update overflowed and was undone.
        """
        from . import _cuda_network as cn
        from ._kernels.cuda import head as dhead

        d = self.device
        cn.loss_and_grad(self.objective, d, batch, self.targets, self.ws, key)
        self.before.copy_to_device(d.flat)
        opt = self.optimizer
        opt.device_update(d.flat, d.grad, self.opt_arrays, d.stats)
        dhead.reduce_sum(d.flat, d.stats, cn.WEIGHT_NORM, square=True)
        stats = d.stats.copy_to_host()
        loss = float(stats[cn.LOSS])
        if not (np.isfinite(loss) and np.isfinite(stats[cn.GRAD_NORM])):
            opt.t -= 1  # the device refused the step: nothing changed
            return loss, "gradient"
        if not np.isfinite(stats[cn.WEIGHT_NORM]):
            d.flat.copy_to_device(self.before)
            return loss, "weights"
        return loss, "ok"

    def sync(self) -> None:
        """Copy the parameters and the optimizer arrays back to their host arrays."""
        self.device.flat.copy_to_host(self.host_params)
        host = self.optimizer.arrays()
        for k, arr in self.opt_arrays.items():
            arr.copy_to_host(host[k])


_BACKENDS = {"cpu": CpuBackend, "cuda": CudaBackend}


def make_backend(device, objective, params, optimizer, data, batch_size):
    """The backend of ``device`` ("cpu" or "cuda") for one fit (arguments as :class:`CpuBackend`)."""
    return _BACKENDS[device](objective, params, optimizer, data, batch_size)
