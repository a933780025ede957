"""Call the CPU driver as the tests do: one function per call, options as keywords.

``loss_and_grad(spec, flat, grad, X, lengths, y, w, loss, **options)`` builds
the :class:`~sklstm._objectives.RecurrentObjective` of ``spec`` and ``loss``
with ``options`` (the fields of :class:`~sklstm._objectives.TrainOptions`,
plus ``rng``, ``workspace`` and ``n_threads``) and runs it on one batch.
"""

from sklstm._objectives import Batch, RecurrentObjective, TrainOptions, forward

__all__ = ["loss_and_grad", "forward", "input_gradient_norms", "objective"]


def objective(spec, loss, **options):
    """The objective of ``spec`` and ``loss`` with training ``options``."""
    return RecurrentObjective(spec, loss, TrainOptions(**options))


def loss_and_grad(spec, flat, grad, X, lengths, y, w, loss, *, rng=None, workspace=None, n_threads=1,
                  **options):
    """Loss of one batch and its gradient (into ``grad``), as :meth:`RecurrentObjective.loss_and_grad`."""
    return objective(spec, loss, **options).loss_and_grad(flat, grad, Batch(X, lengths, y, w), rng, workspace,
                                                          n_threads)


def input_gradient_norms(spec, flat, X, lengths, y, w, loss):
    """Mean norm of dLoss/dx_t per step, as :meth:`RecurrentObjective.input_gradient_norms`."""
    return objective(spec, loss).input_gradient_norms(flat, Batch(X, lengths, y, w))
