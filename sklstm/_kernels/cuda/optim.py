"""Optimizer updates on the GPU, with the formulas of :mod:`sklstm._kernels.optim`.

Each kernel first reads the step's statistics vector (``stats[0]`` the loss,
``stats[2]`` the squared gradient norm, written on the device): when either
is not finite it changes nothing, as the CPU loop refuses such a step before
updating. The host learns of it from the same vector afterwards.
"""

import math

from numba import cuda

from ._common import ELEM, blocks, kernel

__all__ = ["adam_update", "sgd_update", "rmsprop_update"]


@cuda.jit(device=True, inline=True, cache=True)
def _finite_step(stats):
    return math.isfinite(stats[0]) and math.isfinite(stats[2])


@kernel
def _adam(p, g, m, v, step_size, bc2_sqrt, beta_2, w1, w2, eps, stats):
    i = cuda.grid(1)
    if i >= p.shape[0] or not _finite_step(stats):
        return
    gi = g[i]
    m[i] = m[i] + w1 * (gi - m[i])
    v[i] = v[i] * beta_2 + w2 * gi * gi
    p[i] = p[i] - step_size * (m[i] / (math.sqrt(v[i]) / bc2_sqrt + eps))


def adam_update(p, g, m, v, lr, beta_1, beta_2, eps, step, stats):
    """One Adam step (torch.optim.Adam) on flat device vectors; ``step`` counts from 1."""
    bc1 = 1.0 - beta_1 ** step
    bc2_sqrt = math.sqrt(1.0 - beta_2 ** step)
    _adam[blocks(p.size), ELEM](p, g, m, v, float(lr / bc1), float(bc2_sqrt), float(beta_2),
                                float(1.0 - beta_1), float(1.0 - beta_2), float(eps), stats)


@kernel
def _sgd(p, g, buf, lr, momentum, nesterov, first, stats):
    i = cuda.grid(1)
    if i >= p.shape[0] or not _finite_step(stats):
        return
    gi = g[i]
    if momentum != 0.0:
        if first:
            buf[i] = gi
        else:
            buf[i] = buf[i] * momentum + gi
        if nesterov:
            gi = gi + momentum * buf[i]
        else:
            gi = buf[i]
    p[i] = p[i] - lr * gi


def sgd_update(p, g, buf, lr, momentum, nesterov, first, stats):
    """One SGD step with (Nesterov) momentum (torch.optim.SGD, dampening 0)."""
    _sgd[blocks(p.size), ELEM](p, g, buf, float(lr), float(momentum), bool(nesterov), bool(first), stats)


@kernel
def _rmsprop(p, g, sq, lr, rho, eps, stats):
    i = cuda.grid(1)
    if i >= p.shape[0] or not _finite_step(stats):
        return
    gi = g[i]
    sq[i] = sq[i] * rho + (1.0 - rho) * gi * gi
    p[i] = p[i] - lr * (gi / (math.sqrt(sq[i]) + eps))


def rmsprop_update(p, g, sq, lr, rho, eps, stats):
    """One RMSprop step (torch.optim.RMSprop, not centered, no momentum)."""
    _rmsprop[blocks(p.size), ELEM](p, g, sq, float(lr), float(rho), float(eps), stats)
