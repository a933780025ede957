"""GPU memory for the CUDA driver: reusable device buffers, and the checks before a fit or a prediction."""

from __future__ import annotations

import numpy as np
from numba import cuda

from ._kernels.cuda import head as dhead

__all__ = ["DeviceWorkspace", "step_bytes", "free_device_memory", "check_training_memory", "prediction_batch"]


class DeviceWorkspace:
    """Device buffers kept between calls; each grows to the largest shape asked for."""

    def __init__(self):
        self._bufs = {}

    def get(self, key, shape, dtype):
        """An uninitialised device array of ``shape`` valid until ``key`` is asked again."""
        shape = tuple(int(s) for s in shape)
        size = int(np.prod(shape))
        dtype = np.dtype(dtype)
        buf = self._bufs.get(key)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = cuda.device_array(max(size, 1), dtype=dtype)
            self._bufs[key] = buf
        return buf[:size].reshape(shape)

    def zeros(self, key, shape, dtype):
        """Like :meth:`get`, filled with zeros."""
        out = self.get(key, shape, dtype)
        dhead.fill(out, 0.0)
        return out

    def upload(self, key, host):
        """A device copy of the host array ``host`` (buffer reused)."""
        host = np.ascontiguousarray(host)
        out = self.get(key, host.shape, host.dtype)
        if host.size:
            out.copy_to_device(host)
        return out


def step_bytes(spec, training, dropout=False):
    """Device bytes per (sequence, timestep) of one batch's buffers, per unit of itemsize.

    Counts what :func:`loss_and_grad` (``training``) or :func:`forward`
    allocates per step: the input, every layer's output, input projection and
    caches, and in training the gradient buffers and dropout masks.
    """
    per = spec.n_features + spec.head_size  # the gathered input; dtop / features
    for layer, h in enumerate(spec.hidden):
        g = spec.n_gates * h
        per += spec.n_dirs * h + spec.n_dirs * g  # output, input projection (gates in place for LSTM)
        if not training:
            continue
        per += spec.input_size(layer) * (3 if dropout and layer > 0 else 1)  # dx, mask, masked input
        cell = {"lstm": 3 * h, "lstm1997": 3 * h, "gru": g + 2 * h, "rnn": h}[spec.cell]
        per += spec.n_dirs * (cell + g + (g if spec.cell == "gru" else 0))  # hprev & caches, dgx, dgh
    return per


def free_device_memory():
    """(free, total) bytes of the current GPU, or None where it cannot tell (the simulator)."""
    try:
        free, total = cuda.current_context().get_memory_info()
        return int(free), int(total)
    except Exception:  # noqa: BLE001
        return None


def check_training_memory(spec, batch, steps, itemsize, dropout, data_bytes):
    """Raise MemoryError when a fit would need more than the GPU's free memory."""
    need = step_bytes(spec, True, dropout) * int(batch) * int(steps) * itemsize + int(data_bytes)
    mem = free_device_memory()
    if mem is not None and need > mem[0]:
        free, total = mem
        raise MemoryError(
            f"Training on the GPU needs about {need / 1024 ** 3:.1f} GiB (the training data plus the "
            f"buffers of one batch of {batch} sequences x {steps} steps), but only "
            f"{free / 1024 ** 3:.1f} of {total / 1024 ** 3:.1f} GiB are free. Set bptt_steps or a smaller "
            "batch_size.")


def prediction_batch(spec, steps, itemsize, batch_size):
    """Sequences per prediction batch.

    ``batch_size``, or fewer so that one batch takes at most half the free memory.
    """
    mem = free_device_memory()
    per_seq = step_bytes(spec, False) * max(int(steps), 1) * itemsize
    if mem is None:
        return batch_size
    fit = mem[0] // 2 // per_seq
    if fit < 1:
        raise MemoryError(f"One sequence of {steps} steps needs {per_seq / 1024 ** 3:.1f} GiB on the GPU; "
                          f"{mem[0] / 1024 ** 3:.1f} GiB are free. Predict on the CPU (device='cpu').")
    return int(min(batch_size, fit))
