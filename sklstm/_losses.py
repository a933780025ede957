"""Losses and their gradients with respect to the head output (docs/CONTRACT.md, "Losses").

Every function returns ``(loss, grad)`` where ``loss = sum_i w_i * loss_i / denom``
and ``grad`` is its gradient with respect to the logits. The per-sample
losses are those of torch: ``MSELoss`` (squared error averaged over
outputs), ``CrossEntropyLoss`` (softmax), ``BCEWithLogitsLoss`` (logistic,
and multilabel averaged over labels).
"""

from __future__ import annotations

import numpy as np

__all__ = ["LOSSES", "loss_and_output_grad", "output_activation", "PinballLoss"]

LOSSES = ("squared_error", "softmax", "logistic", "multilabel")


def _log_sigmoid(z):
    # log(sigmoid(z)) without overflow
    return -np.logaddexp(0.0, -z)


def _sigmoid(z):
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def _softmax(z):
    """Softmax over the last axis (classes), for (n, k) and per-step (n, T, k) outputs."""
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def loss_and_output_grad(loss: str, logits: np.ndarray, y: np.ndarray,
                         w: np.ndarray, denom: float):
    """Weighted loss and its gradient with respect to ``logits``.

    Parameters
    ----------
    loss : {"squared_error", "softmax", "logistic", "multilabel"}
    logits : ndarray of shape (n, n_outputs)
        Head output (any float dtype; the loss is computed in float64).
    y : ndarray
        Targets: floats of shape (n, n_outputs) for ``squared_error``,
        ``logistic`` (0/1, one column) and ``multilabel``; integer class
        indices of shape (n,) for ``softmax``.
    w : ndarray of shape (n,)
        Sample weights.
    denom : float
        Normaliser (batch size, or number of valid steps).

    Returns
    -------
    loss : float
    grad : ndarray of the shape and dtype of ``logits``
    """
    if callable(loss):
        return loss(logits, y, w, denom)
    z = logits.astype(np.float64)
    n, k = z.shape
    if loss == "squared_error":
        diff = z - y
        per = (diff * diff).mean(axis=1)
        grad = diff * (2.0 / k)
    elif loss == "softmax":
        zs = z - z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(zs).sum(axis=1))
        idx = np.arange(n)
        per = lse - zs[idx, y]
        grad = np.exp(zs - lse[:, None])
        grad[idx, y] -= 1.0
    elif loss in ("logistic", "multilabel"):
        per = -(y * _log_sigmoid(z) + (1.0 - y) * _log_sigmoid(-z)).mean(axis=1)
        grad = (_sigmoid(z) - y) / k
    else:  # pragma: no cover - guarded by the estimators
        raise ValueError(f"unknown loss {loss!r}")
    scale = w / denom
    return float(np.dot(per, scale)), (grad * scale[:, None]).astype(logits.dtype)


def output_activation(loss: str, logits: np.ndarray) -> np.ndarray:
    """Map head outputs to predictions (identity, softmax or sigmoid), float64."""
    z = np.asarray(logits, dtype=np.float64)
    if loss == "squared_error":
        return z
    if loss == "softmax":
        return _softmax(z)
    return _sigmoid(z)


class PinballLoss:
    """Squared error of a point forecast plus the pinball (quantile) loss of quantile forecasts.

    A callable loss for :func:`loss_and_output_grad`: the head writes
    ``steps`` point values, then ``steps`` values per quantile level
    (``[point | q_1 | q_2 | ...]``). Per sample: the squared error averaged
    over the steps, plus for each level ``q`` the pinball loss
    ``max(q * (y - z), (q - 1) * (y - z))`` averaged over the steps
    (Koenker & Bassett 1978; the quantile head of MQ-RNN and DeepAR-style
    forecasters).

    Parameters
    ----------
    steps : int
    quantiles : tuple of float
        Levels in (0, 1).
    """

    def __init__(self, steps, quantiles=()):
        self.steps = int(steps)
        self.quantiles = tuple(float(q) for q in quantiles)

    def __call__(self, logits, y, w, denom):
        """``(loss, grad)`` as :func:`loss_and_output_grad` returns them; ``y`` of shape (n, steps)."""
        z = logits.astype(np.float64)
        h = self.steps
        y = np.asarray(y, dtype=np.float64).reshape(z.shape[0], h)
        diff = z[:, :h] - y
        per = (diff * diff).mean(axis=1)
        grad = np.empty_like(z)
        grad[:, :h] = diff * (2.0 / h)
        for j, q in enumerate(self.quantiles):
            zq = z[:, (j + 1) * h:(j + 2) * h]
            r = y - zq
            per = per + np.maximum(q * r, (q - 1.0) * r).mean(axis=1)
            grad[:, (j + 1) * h:(j + 2) * h] = np.where(r > 0, -q, 1.0 - q) / h
        scale = w / denom
        return float(np.dot(per, scale)), (grad * scale[:, None]).astype(logits.dtype)
