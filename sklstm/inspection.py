"""Plots of fitted estimators (matplotlib, optional: ``pip install sklstm[plot]``)."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["LossCurveDisplay", "input_gradient_norms"]


class LossCurveDisplay:
    """Training loss (and validation score) per epoch, in the style of sklearn's Display objects.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
    validation_scores : array-like of shape (n_epochs,) or None, default=None
    estimator_name : str or None, default=None

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes of the loss curve.
    ax_score_ : matplotlib Axes or None
        Twin axes of the validation score.
    figure_ : matplotlib Figure
    line_ : matplotlib Line2D
    line_score_ : matplotlib Line2D or None

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import LSTMRegressor
    >>> from sklstm.inspection import LossCurveDisplay
    >>> X = np.random.default_rng(0).normal(size=(30, 5, 1))
    >>> reg = LSTMRegressor(hidden_layer_sizes=(4,), max_iter=3).fit(X, X[:, -1, 0])
    >>> disp = LossCurveDisplay.from_estimator(reg)  # doctest: +SKIP
    """

    def __init__(self, loss_curve, validation_scores=None, estimator_name=None):
        self.loss_curve = np.asarray(loss_curve, dtype=float)
        self.validation_scores = None if validation_scores is None else np.asarray(validation_scores, float)
        self.estimator_name = estimator_name

    def plot(self, ax=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.

        Returns
        -------
        display : LossCurveDisplay
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("LossCurveDisplay needs matplotlib: pip install sklstm[plot]") from exc
        if ax is None:
            _, ax = plt.subplots()
        epochs = np.arange(1, len(self.loss_curve) + 1)
        (self.line_,) = ax.plot(epochs, self.loss_curve, color="C0", label="training loss")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
        self.ax_score_ = self.line_score_ = None
        if self.validation_scores is not None and len(self.validation_scores):
            self.ax_score_ = ax.twinx()
            (self.line_score_,) = self.ax_score_.plot(
                np.arange(1, len(self.validation_scores) + 1), self.validation_scores,
                color="C1", label="validation score")
            self.ax_score_.set_ylabel("validation score")
        if self.estimator_name:
            ax.set_title(self.estimator_name)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, ax=None):
        """Plot the curves recorded by a fitted sklstm estimator.

        Parameters
        ----------
        estimator : fitted LSTMClassifier / LSTMRegressor
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : LossCurveDisplay
        """
        check_is_fitted(estimator, "loss_curve_")
        return cls(estimator.loss_curve_, getattr(estimator, "validation_scores_", None),
                   type(estimator).__name__).plot(ax=ax)


def input_gradient_norms(estimator, X, y):
    """Mean norm of the loss gradient with respect to each input step (vanishing-gradient diagnostics).

    Backpropagates the training loss of ``(X, y)`` (no dropout, no
    truncation) and averages ``||dLoss/dx_t||`` over the sequences longer
    than ``t``: for an RNN on a long-lag task it decays geometrically
    towards the first steps, for an LSTM it does not (Hochreiter &
    Schmidhuber 1997).

    Parameters
    ----------
    estimator : fitted LSTMRegressor or LSTMClassifier (one output per sequence)
    X : sequences, as the estimator's ``fit`` takes them
    y : targets, as the estimator's ``fit`` takes them

    Returns
    -------
    norms : ndarray of shape (T_max,), float64
    """
    from ._objectives import Batch

    check_is_fitted(estimator, "coefs_flat_")
    if estimator.return_sequences:
        raise ValueError("input_gradient_norms needs one output per sequence (return_sequences=False)")
    Xp, lengths = estimator._validate_X(X, reset=False)
    y_enc = estimator._encode_targets(y, lengths, reset=False)
    batch = Batch(Xp, lengths, y_enc, np.ones(len(lengths)))
    return estimator._objective().input_gradient_norms(estimator.coefs_flat_, batch)
