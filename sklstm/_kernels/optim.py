"""Optimizer updates on flat parameter vectors, with torch.optim's formulas."""

import math

from ._jit import jit


@jit
def adam_update(p, g, m, v, lr, beta_1, beta_2, eps, step):
    """One Adam step (torch.optim.Adam, single-tensor path).

    ``m`` and ``v`` are updated in place; ``step`` counts from 1.
    """
    bc1 = 1.0 - beta_1 ** step
    bc2_sqrt = math.sqrt(1.0 - beta_2 ** step)
    step_size = lr / bc1
    w1 = 1.0 - beta_1
    w2 = 1.0 - beta_2
    for i in range(p.shape[0]):
        gi = g[i]
        m[i] = m[i] + w1 * (gi - m[i])
        v[i] = v[i] * beta_2 + w2 * gi * gi
        p[i] = p[i] - step_size * (m[i] / (math.sqrt(v[i]) / bc2_sqrt + eps))


@jit
def sgd_update(p, g, buf, lr, momentum, nesterov, first):
    """One SGD step with (Nesterov) momentum, dampening 0 (torch.optim.SGD)."""
    for i in range(p.shape[0]):
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


@jit
def rmsprop_update(p, g, sq, lr, rho, eps):
    """One RMSprop step (torch.optim.RMSprop, ``alpha=rho``, not centered, no momentum)."""
    w = 1.0 - rho
    for i in range(p.shape[0]):
        gi = g[i]
        sq[i] = sq[i] * rho + w * gi * gi
        p[i] = p[i] - lr * (gi / (math.sqrt(sq[i]) + eps))
