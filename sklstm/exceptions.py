"""Warnings raised by sklstm."""

from sklearn.exceptions import ConvergenceWarning

__all__ = ["DivergenceWarning", "TrainingInterruptedWarning"]


class DivergenceWarning(ConvergenceWarning):
    """Training stopped because the loss or the weights stopped being finite.

    The estimator keeps the last finite weights; ``diverged_`` is True.
    """


class TrainingInterruptedWarning(UserWarning):
    """``fit`` was interrupted (Ctrl-C); the estimator is fitted with the weights it had."""
