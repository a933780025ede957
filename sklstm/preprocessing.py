"""Preprocessing for sequence data."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from ._sequences import check_sequences, is_sequence_input

__all__ = ["SequenceScaler"]


class SequenceScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Standardise each feature over all timesteps of all sequences.

    Statistics are taken over the valid steps only (padding and ragged
    lengths are ignored), so the same scaler serves 3D arrays, ragged lists
    and 2D tabular rows. Output keeps the form of the input: a 3D array
    (with trailing all-NaN padding kept as NaN), a list of arrays, or a 2D
    array. Only 2D (tabular) output follows ``set_output`` or
    ``sklearn.set_config(transform_output="pandas")``; sequences pass
    through as arrays or lists (a DataFrame cannot hold them), so pipelines
    under a global pandas setting work.

    Parameters
    ----------
    with_mean : bool, default=True
        Centre each feature.
    with_std : bool, default=True
        Scale each feature to unit variance (constant features are left
        unscaled).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    scale_ : ndarray of shape (n_features,)
    var_ : ndarray of shape (n_features,)
    n_features_in_ : int
    n_steps_seen_ : int
        Number of valid timesteps the statistics were computed from.

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm.preprocessing import SequenceScaler
    >>> X = [np.array([[1.0], [2.0], [3.0]]), np.array([[5.0]])]
    >>> Xt = SequenceScaler().fit_transform(X)
    >>> [x.ravel().round(2).tolist() for x in Xt]
    [[-1.18, -0.51, 0.17], [1.52]]
    """

    _parameter_constraints: dict = {"with_mean": ["boolean"], "with_std": ["boolean"]}

    def __init__(self, with_mean=True, with_std=True):
        self.with_mean = with_mean
        self.with_std = with_std

    def _steps(self, X):
        """All valid steps as a 2D (n_steps, F) float64 array, plus how to rebuild X."""
        if is_sequence_input(X):
            Xp, lengths = check_sequences(X, dtype=np.float64)
            valid = np.arange(Xp.shape[1])[None, :] < lengths[:, None]
            return Xp[valid], (Xp.shape, lengths, valid)
        return check_array(X, dtype=np.float64), None

    def fit(self, X, y=None):
        """Compute per-feature mean and standard deviation over all valid steps.

        Parameters
        ----------
        X : 3D array-like, list of arrays, or 2D array-like
        y : ignored

        Returns
        -------
        self : object
        """
        self._validate_params()
        steps, _ = self._steps(X)
        self.n_features_in_ = steps.shape[1]
        self.n_steps_seen_ = steps.shape[0]
        self.mean_ = steps.mean(axis=0) if self.with_mean else np.zeros(steps.shape[1])
        self.var_ = steps.var(axis=0)
        scale = np.sqrt(self.var_)
        scale[scale < 10 * np.finfo(np.float64).eps] = 1.0
        self.scale_ = scale if self.with_std else np.ones(steps.shape[1])
        return self

    def _apply(self, X, fn, out_dtype):
        check_is_fitted(self, "mean_")
        steps, rebuild = self._steps(X)
        if steps.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {steps.shape[1]} features, but SequenceScaler is expecting "
                             f"{self.n_features_in_} features as input.")
        steps = fn(steps)
        if rebuild is None:
            return steps.astype(out_dtype, copy=False)
        shape, lengths, valid = rebuild
        if isinstance(X, (list, tuple)) or (isinstance(X, np.ndarray) and X.dtype == object):
            out, pos = [], 0
            for L in lengths:
                out.append(steps[pos:pos + L].astype(out_dtype, copy=False))
                pos += L
            return out
        full = np.full(shape, np.nan, dtype=out_dtype)
        full[valid] = steps
        return full

    @staticmethod
    def _dtype_of(X):
        dt = getattr(X, "dtype", None)
        if dt is None and isinstance(X, (list, tuple)) and X and hasattr(X[0], "dtype"):
            dt = X[0].dtype
        return np.float32 if dt == np.float32 else np.float64

    def transform(self, X):
        """Standardise X.

        Parameters
        ----------
        X : 3D array-like, list of arrays, or 2D array-like

        Returns
        -------
        Xt : same form as X
            float32 for float32 input, else float64; 2D output in the
            container that ``set_output`` selects.
        """
        out = self._apply(X, lambda s: (s - self.mean_) / self.scale_, self._dtype_of(X))
        return self._wrap_tabular(out, X)

    def set_output(self, *, transform=None):
        """Set the container of 2D (tabular) output, as scikit-learn transformers do.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None
            None leaves the setting unchanged. Sequence output (3D or a list)
            is never wrapped.

        Returns
        -------
        self : SequenceScaler
        """
        if transform is not None:
            if not hasattr(self, "_sklearn_output_config"):
                self._sklearn_output_config = {}
            self._sklearn_output_config["transform"] = transform
        return self

    def _wrap_tabular(self, out, X):
        """2D output in the configured container (estimator or global setting); sequences unchanged."""
        if not (isinstance(out, np.ndarray) and out.ndim == 2):
            return out
        from sklearn.utils._set_output import ADAPTERS_MANAGER, _get_output_config

        dense = _get_output_config("transform", self)["dense"]
        if dense == "default":
            return out
        return ADAPTERS_MANAGER.adapters[dense].create_container(out, X, columns=self.get_feature_names_out)

    def inverse_transform(self, X):
        """Undo :meth:`transform`.

        Parameters
        ----------
        X : 3D array-like, list of arrays, or 2D array-like

        Returns
        -------
        X_original : same form as X
        """
        return self._apply(X, lambda s: s * self.scale_ + self.mean_, self._dtype_of(X))

    def _persistent_state(self):
        """Fitted state for :func:`sklstm.save`."""
        keys = ("mean_", "scale_", "var_", "n_features_in_", "n_steps_seen_")
        return {k: getattr(self, k) for k in keys if hasattr(self, k)}

    def _restore_state(self, state):
        """Inverse of :meth:`_persistent_state`, checking types and shapes."""
        if not state:
            return
        if set(state) != {"mean_", "scale_", "var_", "n_features_in_", "n_steps_seen_"}:
            raise ValueError("unexpected SequenceScaler attributes")
        n = state["n_features_in_"]
        if (not isinstance(n, int) or isinstance(n, bool) or n < 1
                or not isinstance(state["n_steps_seen_"], int)):
            raise ValueError("bad counts")
        for k in ("mean_", "scale_", "var_"):
            a = state[k]
            if not isinstance(a, np.ndarray) or a.dtype != np.float64 or a.shape != (n,):
                raise ValueError(f"{k} must be float64 of shape ({n},)")
        if not all(np.isfinite(state[k]).all() for k in ("mean_", "scale_", "var_")):
            raise ValueError("statistics must be finite")
        if not (state["scale_"] > 0).all():
            raise ValueError("scale_ must be positive")
        for k, v in state.items():
            setattr(self, k, v)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
