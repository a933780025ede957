"""RecurrentFeatures: a trained recurrent network as a feature extractor in pipelines."""

from __future__ import annotations

from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

__all__ = ["RecurrentFeatures"]


class RecurrentFeatures(TransformerMixin, BaseEstimator):
    """Train a recurrent estimator on ``(X, y)``, then transform sequences into its final hidden state.

    Parameters
    ----------
    estimator : LSTMClassifier, LSTMRegressor, GRUClassifier or GRURegressor
        Cloned and fitted by :meth:`fit`.

    Attributes
    ----------
    estimator_ : fitted estimator
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np, warnings
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklstm import LSTMClassifier, RecurrentFeatures
    >>> X = np.random.default_rng(0).normal(size=(40, 6, 2))
    >>> y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    >>> pipe = make_pipeline(RecurrentFeatures(LSTMClassifier(hidden_layer_sizes=(8,), max_iter=5)),
    ...                      LogisticRegression())
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     pipe = pipe.fit(X, y)
    >>> pipe.predict(X).shape
    (40,)
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y, **fit_params):
        """Fit a clone of ``estimator`` on ``(X, y)``.

        Parameters
        ----------
        X : 3D array-like, list of arrays, or 2D array-like
        y : array-like
        **fit_params : dict
            Passed to the estimator's ``fit`` (e.g. ``sample_weight``).

        Returns
        -------
        self : object
        """
        self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def transform(self, X):
        """The fitted network's final hidden state for each sequence.

        Parameters
        ----------
        X : 3D array-like, list of arrays, or 2D array-like

        Returns
        -------
        H : ndarray of shape (n, n_hidden_last * n_directions), float64
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.hidden_state(X)

    def get_feature_names_out(self, input_features=None):
        """Names ``h0, h1, ...`` of the output features.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        names : ndarray of str
        """
        import numpy as np

        check_is_fitted(self, "estimator_")
        return np.array([f"h{i}" for i in range(self.estimator_._spec.head_size)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.required = True
        return tags
