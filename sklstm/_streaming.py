"""StreamingPredictor: a fitted unidirectional model fed one timestep at a time."""

from __future__ import annotations

import numpy as np

from . import _network as net
from ._kernels.head import linear_forward
from ._losses import output_activation
from ._sequences import writable

__all__ = ["StreamingPredictor"]


class StreamingPredictor:
    """Feeds a fitted unidirectional model one timestep at a time (see ``stream()``).

    Each step runs the recurrence once from the carried state (the
    network driver's one-step call), so a step costs the same at step 1
    and at step 10,000.

    Parameters
    ----------
    estimator : fitted sklstm estimator

    Attributes
    ----------
    n_steps_ : int
        Timesteps consumed since the last :meth:`reset`.

    Examples
    --------
    >>> import numpy as np, warnings
    >>> from sklstm import LSTMRegressor
    >>> X = np.random.default_rng(0).normal(size=(20, 6, 2))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     reg = LSTMRegressor(hidden_layer_sizes=(4,), max_iter=2).fit(X, X[:, -1, 0])
    >>> s = reg.stream()
    >>> outs = [s.step(x_t) for x_t in X[0]]
    >>> bool(outs[-1] == reg.predict(X[:1])[0])
    True
    """

    def __init__(self, estimator):
        self.estimator = estimator
        self._source = self._flat = self._views = None
        self.reset()

    def reset(self):
        """Forget the sequence seen so far.

        Returns
        -------
        self : StreamingPredictor
        """
        est = self.estimator
        self._states = net.zero_states(est._spec, 1, est.coefs_flat_.dtype)
        self.n_steps_ = 0
        return self

    def _weights(self):
        """Views of the estimator's weights; a read-only (memory-mapped) vector is copied once, not per step.
        """
        flat = self.estimator.coefs_flat_
        if flat is not self._source:
            self._source, self._flat = flat, writable(flat)
            self._views = self.estimator._spec.views(self._flat)
        return self._views

    def _token_input(self, x_t):
        """One token id as the embedded step (1, E) of a model with an embedding."""
        spec = self.estimator._spec
        ok = isinstance(x_t, (int, np.integer)) and not isinstance(x_t, bool)
        if not ok and np.ndim(x_t) == 1 and np.size(x_t) == 1 and np.asarray(x_t).dtype.kind in "iu":
            x_t, ok = int(np.asarray(x_t)[0]), True
        if not ok:
            raise TypeError(f"x_t must be one token id (an integer) for a model with an embedding; "
                            f"got {x_t!r}")
        if not 0 <= int(x_t) < spec.vocab_size:
            raise ValueError(f"token id {int(x_t)} is outside the vocabulary (0 to {spec.vocab_size - 1})")
        return np.array(self._weights()["embedding.weight"][int(x_t)]).reshape(1, -1)

    def _advance(self, x_t):
        est = self.estimator
        if est._spec.vocab_size:
            return self._run_step(self._token_input(x_t))
        x = np.asarray(x_t)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"x_t must be numeric; got dtype {x.dtype}")
        x = x.reshape(-1) if x.ndim <= 1 or x.shape[0] == 1 else x
        if x.ndim != 1 or x.shape[0] != est.n_features_in_:
            raise ValueError(f"x_t must hold one timestep of {est.n_features_in_} features; got shape "
                             f"{np.shape(x_t)}")
        if not np.isfinite(x).all():
            raise ValueError("x_t contains NaN or infinity")
        return self._run_step(np.array(x, dtype=est.coefs_flat_.dtype).reshape(1, -1))  # a writable copy

    def _run_step(self, xb):
        """One step of the recurrence from the carried state and the head's activation."""
        est = self.estimator
        v = self._weights()
        self._states, top = net.step(est._spec, v, self._states, xb)
        self.n_steps_ += 1
        raw = np.empty((1, est._spec.n_outputs), dtype=xb.dtype)
        # the head transposed at every step: weights changed in place (load_state_dict, partial_fit) count
        head_t = net.transposed(v["head.weight"])
        linear_forward(np.ascontiguousarray(top), head_t, v["head.bias"], raw, False)
        return output_activation(est._loss, raw)[0]

    def step(self, x_t):
        """Consume one timestep and predict.

        Parameters
        ----------
        x_t : array-like of shape (n_features,), or int
            One timestep; a token id for a model with an embedding.

        Returns
        -------
        prediction
            ``predict`` of the sequence so far: a label (classifier) or a
            value / vector (regressor).
        """
        return self.estimator._stream_output(self._advance(x_t))

    def step_proba(self, x_t):
        """Consume one timestep and return class probabilities (classifiers).

        Parameters
        ----------
        x_t : array-like of shape (n_features,)

        Returns
        -------
        proba : ndarray of shape (n_classes,)
        """
        if not hasattr(self.estimator, "predict_proba"):
            raise AttributeError("step_proba is only available for classifiers")
        act = self._advance(x_t)
        return np.concatenate([1.0 - act, act]) if self.estimator._loss == "logistic" else act
