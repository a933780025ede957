"""Per-timestep importance: how much a fitted model's output moves with each input step.

:func:`timestep_importance` and :class:`TimestepImportanceDisplay`, exported
by :mod:`sklstm.inspection`. The importance of step ``t`` of a sequence is
the L2 norm over the step's features of the gradient of the model's output
with respect to ``x_t`` (a saliency map, Simonyan et al. 2014), computed
exactly by backpropagating a unit cotangent on the head output through the
training driver (:meth:`sklstm._objectives.RecurrentObjective.input_gradients`).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["timestep_importance", "TimestepImportanceDisplay"]

#: sequences per backward pass (bounds the memory of the activations kept for backward)
BATCH = 256


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _unit(j, scale=None):
    """Cotangent ``e_j`` (times ``scale(z)``, one value per row) on every row."""
    def cotangent(z):
        c = np.zeros(z.shape, dtype=np.float64)
        c[:, j] = 1.0 if scale is None else scale(z.astype(np.float64)[:, j])
        return c
    return cotangent


def _class_index(estimator, target):
    """Column of ``classes_`` that ``target`` names, or a ValueError listing the classes."""
    classes = estimator.classes_
    hit = np.flatnonzero(classes == target) if np.ndim(target) == 0 else []
    if len(hit) != 1:
        raise ValueError(f"target must be one of the classes {classes.tolist()} (or None: the predicted "
                         f"class); got {target!r}.")
    return int(hit[0])


def _cotangents(estimator, target):
    """One cotangent per backward pass; the importance is the root of the sum of their squared norms."""
    loss, k = estimator._loss, estimator._spec.n_outputs
    if loss == "squared_error":
        if target is None:
            return [_unit(j) for j in range(k)]
        if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or not 0 <= target < k:
            raise ValueError(f"target must be an output index in [0, {k}) (or None: every output, "
                             f"the norm over outputs); got {target!r}.")
        return [_unit(int(target))]
    if loss == "multilabel":
        labels = range(k) if target is None else [_class_index(estimator, target)]
        return [_unit(j, lambda zj: _sigmoid(zj) * (1.0 - _sigmoid(zj))) for j in labels]
    if loss == "logistic":  # p(class 1) = sigmoid(z), p(class 0) = 1 - sigmoid(z)
        sign = -1.0 if target is not None and _class_index(estimator, target) == 0 else 1.0
        return [_unit(0, lambda z0: sign * _sigmoid(z0) * (1.0 - _sigmoid(z0)))]
    chosen = None if target is None else _class_index(estimator, target)

    def softmax_prob(z):  # d p_c / d z = p_c (e_c - p), c the chosen or the predicted class
        z = z.astype(np.float64)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        rows = np.arange(len(z))
        c = p.argmax(axis=1) if chosen is None else np.full(len(z), chosen)
        out = -p * p[rows, c][:, None]
        out[rows, c] += p[rows, c]
        return out
    return [softmax_prob]


def timestep_importance(estimator, X, *, target=None, average=True):
    """Norm of the gradient of a fitted model's output with respect to each input step.

    For each sequence and each of its steps ``t``: ``||d output / d x_t||``,
    the L2 norm over the step's features, computed exactly by
    backpropagation (no dropout, no truncation, on the CPU whatever the
    estimator's ``device``). For token ids (``embedding_dim`` set) ``x_t``
    is the step's embedding vector.

    Parameters
    ----------
    estimator : fitted LSTMRegressor, GRURegressor, LSTMClassifier or GRUClassifier
        With one output per sequence (``return_sequences=False``).
    X : sequences, as the estimator's ``predict`` takes them
        A 3D array with trailing-NaN padding, a ragged list, or tabular rows.
    target : int, class label or None, default=None
        Which output. Regressor: an output index; None is the only output,
        or with several outputs the norm over outputs (of the Jacobian:
        ``sqrt(sum_j ||d y_j / d x_t||^2)``). Classifier: a class of
        ``classes_`` whose probability is differentiated; None is each
        sequence's predicted class (binary: both classes give the same
        norm). Multilabel: a label of ``classes_``; None is the norm over
        the labels' probabilities.
    average : bool, default=True
        Return the mean over sequences per step (step ``t``'s mean is over
        the sequences longer than ``t``), else one row per sequence.

    Returns
    -------
    importance : ndarray of shape (T,) or (n, T), float64
        ``T`` is the longest sequence's length; per sequence (``average=False``)
        the rows are NaN past each sequence's end, in ``X``'s order.

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import LSTMRegressor
    >>> from sklstm.datasets import make_adding_problem
    >>> from sklstm.inspection import timestep_importance
    >>> X, y = make_adding_problem(20, 10, random_state=0)
    >>> reg = LSTMRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    >>> timestep_importance(reg, X).shape
    (10,)
    >>> per_sequence = timestep_importance(reg, [X[0, :6], X[1]], average=False)
    >>> per_sequence.shape, bool(np.isnan(per_sequence[0, 6:]).all())
    ((2, 10), True)
    """
    from ._base import BaseRecurrent

    if not isinstance(estimator, BaseRecurrent):
        raise TypeError("timestep_importance needs a fitted LSTMRegressor, GRURegressor, LSTMClassifier or "
                        f"GRUClassifier; got {type(estimator).__name__}.")
    check_is_fitted(estimator, "coefs_flat_")
    if estimator.return_sequences:
        raise ValueError("timestep_importance needs one output per sequence (return_sequences=False); this "
                         "model has an output at every step.")
    if not isinstance(average, (bool, np.bool_)):
        raise TypeError(f"average must be True or False; got {average!r}.")
    cotangents = _cotangents(estimator, target)
    Xp, lengths = estimator._validate_X(X, reset=False)
    objective = estimator._objective()
    n, T = len(lengths), int(lengths.max())
    out = np.full((n, T), np.nan)
    for s in range(0, n, BATCH):
        lens = lengths[s:s + BATCH]
        sq = sum((objective.input_gradients(estimator.coefs_flat_, Xp[s:s + BATCH], lens, c) ** 2).sum(axis=2)
                 for c in cotangents)
        valid = np.arange(sq.shape[1])[None, :] < lens[:, None]
        out[s:s + BATCH, :sq.shape[1]] = np.where(valid, np.sqrt(sq), np.nan)
    return np.nanmean(out, axis=0) if average else out


class TimestepImportanceDisplay:
    """Per-timestep importance of a fitted model's inputs, in the style of sklearn's Display objects.

    One line per sequence, or one line of the mean over sequences: the norm
    of the gradient of the output with respect to each input step (see
    :func:`timestep_importance`). Build it with :meth:`from_estimator`.

    Parameters
    ----------
    importances : array-like of shape (T,) or (n, T), or list of 1D arrays
        A mean per step (one line), or one row per sequence (NaN past its
        end) or a ragged list of per-sequence arrays (a line each).
    estimator_name : str or None, default=None
        Title of the plot.

    Attributes
    ----------
    importances : ndarray of shape (T,) or (n, T)
        Ragged lists are stored NaN-padded.
    lines_ : list of matplotlib Line2D
        One per sequence, or the one line of the mean.
    line_ : matplotlib Line2D or None
        The line, when there is one.
    highlight_lines_ : list of matplotlib Line2D
        The vertical markers of ``highlight``.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import LSTMRegressor
    >>> from sklstm.datasets import make_adding_problem
    >>> from sklstm.inspection import TimestepImportanceDisplay
    >>> X, y = make_adding_problem(20, 10, random_state=0)
    >>> reg = LSTMRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    >>> marked = np.flatnonzero(X[0, :, 1])
    >>> disp = TimestepImportanceDisplay.from_estimator(reg, X[:1], highlight=marked)  # doctest: +SKIP
    """

    def __init__(self, importances, *, estimator_name=None):
        if isinstance(importances, (list, tuple)):
            rows = [np.asarray(a, dtype=float) for a in importances]
            if not rows or any(r.ndim != 1 for r in rows):
                raise ValueError("importances as a list must hold one 1D array per sequence.")
            padded = np.full((len(rows), max(r.size for r in rows)), np.nan)
            for i, r in enumerate(rows):
                padded[i, :r.size] = r
            importances = padded
        self.importances = np.asarray(importances, dtype=float)
        if self.importances.ndim not in (1, 2) or self.importances.size == 0:
            raise ValueError("importances must be a mean per step (T,), one row per sequence (n, T) or a "
                             f"list of 1D arrays; got shape {self.importances.shape}.")
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, highlight=None, yscale="linear", **kwargs):
        """Draw the importance per step.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        highlight : array-like of int or None, default=None
            Steps (0-based) marked by dashed vertical lines, e.g. the marked
            steps of the adding problem.
        yscale : str, default="linear"
            The y axis' scale (``"log"`` shows a vanishing gradient).
        **kwargs : dict
            Passed to ``ax.plot`` for every line.

        Returns
        -------
        display : TimestepImportanceDisplay
        """
        from .inspection import _axes

        marks = [] if highlight is None else np.asarray(highlight).ravel()
        T = self.importances.shape[-1]
        if len(marks) and (marks.dtype.kind not in "iu" or marks.min() < 0 or marks.max() >= T):
            raise ValueError(f"highlight must be integer steps in [0, {T}); got {highlight!r}.")
        ax = _axes(ax, "TimestepImportanceDisplay")
        mean = self.importances.ndim == 1
        rows = self.importances[None] if mean else self.importances
        self.lines_ = []
        for i, row in enumerate(rows):
            label = "mean over sequences" if mean else f"sequence {i}"
            (line,) = ax.plot(np.arange(T), row, **{"label": label, **kwargs})
            self.lines_.append(line)
        self.line_ = self.lines_[0] if len(self.lines_) == 1 else None
        self.highlight_lines_ = [ax.axvline(int(t), color="0.4", linestyle="--", linewidth=1, zorder=0)
                                 for t in marks]
        ax.set_yscale(yscale)
        ax.set_xlabel("step t")
        ax.set_ylabel("mean |d output / d x_t|" if mean else "|d output / d x_t|")
        if 1 < len(self.lines_) <= 10:
            ax.legend()
        if self.estimator_name:
            ax.set_title(self.estimator_name)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, X, *, target=None, average=True, highlight=None, yscale="linear",
                       ax=None, **kwargs):
        """Compute the importance per step of a fitted estimator on ``X`` and plot it.

        Parameters
        ----------
        estimator : fitted LSTMRegressor, GRURegressor, LSTMClassifier or GRUClassifier
            With one output per sequence (``return_sequences=False``).
        X : sequences, as the estimator's ``predict`` takes them
        target : int, class label or None, default=None
            Which output (see :func:`timestep_importance`).
        average : bool, default=True
            One line of the mean over sequences (over those that have the
            step), else one line per sequence.
        highlight : array-like of int or None, default=None
            Steps marked by dashed vertical lines.
        yscale : str, default="linear"
        ax : matplotlib Axes, default=None
        **kwargs : dict
            Passed to ``ax.plot``.

        Returns
        -------
        display : TimestepImportanceDisplay
        """
        imp = timestep_importance(estimator, X, target=target, average=average)
        return cls(imp, estimator_name=type(estimator).__name__).plot(
            ax=ax, highlight=highlight, yscale=yscale, **kwargs)
