"""LSTMRegressor and GRURegressor."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin

from ._base import BaseRecurrent
from ._sequences import check_targets_per_step

__all__ = ["LSTMRegressor", "GRURegressor"]


class LSTMRegressor(RegressorMixin, BaseRecurrent):
    """Recurrent-network regressor for sequences (LSTM by default; GRU / RNN through ``cell``).

    Reads sequences as 3D arrays ``(n, T, F)``, ragged lists of ``(T_i, F)``
    arrays, or tabular rows (2D, one-step sequences). The loss is the squared
    error averaged over outputs (torch's ``MSELoss``).

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(64,)
        Hidden size of each stacked recurrent layer.
    cell : {"lstm", "lstm1997", "gru", "rnn"}, default="lstm"
    bidirectional : bool, default=False
    dropout : float, default=0.0
        Between layers and before the head, training only.
    return_sequences : bool, default=False
        One prediction per timestep; ``y`` is ``(n, T[, n_targets])`` or a
        list of per-sequence arrays, predictions come back in the form X came in.
    solver : {"adam", "sgd", "rmsprop"}, default="adam"
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
    learning_rate_init : float, default=1e-3
    power_t : float, default=0.5
    momentum : float, default=0.9
    nesterovs_momentum : bool, default=True
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
    rho : float, default=0.9
    alpha : float, default=1e-4
    batch_size : int or "auto", default="auto"
    max_iter : int, default=200
    shuffle : bool, default=True
    random_state : int, RandomState instance or None, default=None
    tol : float, default=1e-4
    n_iter_no_change : int, default=10
    early_stopping : bool, default=False
        Stop on the validation R2 and restore the best weights.
    validation_fraction : float, default=0.1
    warm_start : bool, default=False
    verbose : bool, default=False
    clip_value : float or None, default=None
    clip_norm : float or None, default=5.0
    bptt_steps : int or None, default=None
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where to train and predict. ``"cuda"`` runs on an NVIDIA GPU through
        numba.cuda (``pip install "sklstm[cuda]"``) and raises a ValueError
        at fit when no usable GPU is found; ``"auto"`` uses the GPU when one
        is found, else the CPU. Weights stay numpy arrays, so a model fitted
        on a GPU predicts, saves and loads on a CPU-only machine.
    dtype : {"float32", "float64"}, default="float32"
    embedding_dim : int or None, default=None
        An integer switches on a learned token embedding of that width: X is
        then token ids (a list of 1D integer arrays, or a 2D integer array
        padded at the end with ``padding_idx``), looked up in
        ``embedding.weight`` before the recurrent layers (as
        ``torch.nn.Embedding``). None: X is numeric features.
    vocab_size : int or None, default=None
        Number of token ids the embedding holds; None infers it from the
        training data (one more than the largest id). Ids at or above it are
        a ValueError.
    padding_idx : int, default=0
        The id whose embedding row stays zero and gets no gradient.

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of str
    coefs_flat_ : ndarray
    loss_ : float
    loss_curve_ : list of float
    best_loss_ : float
    validation_scores_ : list of float or None
    best_validation_score_ : float or None
    n_iter_ : int
    t_ : int
    n_outputs_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import LSTMRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 10, 2)).astype("float32")
    >>> y = X[:, :, 0].mean(axis=1)
    >>> reg = LSTMRegressor(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    def __init__(self, hidden_layer_sizes=(64,), cell="lstm", bidirectional=False, dropout=0.0,
                 return_sequences=False, solver="adam", learning_rate="constant",
                 learning_rate_init=1e-3, power_t=0.5, momentum=0.9, nesterovs_momentum=True,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, rho=0.9, alpha=1e-4, batch_size="auto",
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, n_iter_no_change=10,
                 early_stopping=False, validation_fraction=0.1, warm_start=False, verbose=False,
                 clip_value=None, clip_norm=5.0, bptt_steps=None, device="cpu", dtype="float32",
                 embedding_dim=None, vocab_size=None, padding_idx=0):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, cell=cell, bidirectional=bidirectional,
            dropout=dropout, return_sequences=return_sequences, solver=solver,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t,
            momentum=momentum, nesterovs_momentum=nesterovs_momentum, beta_1=beta_1,
            beta_2=beta_2, epsilon=epsilon, rho=rho, alpha=alpha, batch_size=batch_size,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            n_iter_no_change=n_iter_no_change, early_stopping=early_stopping,
            validation_fraction=validation_fraction, warm_start=warm_start, verbose=verbose,
            clip_value=clip_value, clip_norm=clip_norm, bptt_steps=bptt_steps, device=device,
            dtype=dtype, embedding_dim=embedding_dim, vocab_size=vocab_size, padding_idx=padding_idx)

    def _encode_targets(self, y, lengths, reset, classes=None):
        self._loss = "squared_error"
        if self.return_sequences:
            ys = [np.asarray(a, dtype=np.float64) for a in check_targets_per_step(y, lengths, numeric=True)]
            ndim = ys[0].ndim
            if any(a.ndim != ndim for a in ys) or ndim > 2:
                raise ValueError("Per-step targets must all be 1D (n_timesteps,) "
                                 "or 2D (n_timesteps, n_targets).")
            ys = [a[:, None] if ndim == 1 else a for a in ys]
            k = ys[0].shape[1]
            enc = np.zeros((len(ys), int(lengths.max()), k))
            for i, a in enumerate(ys):
                if a.shape[1] != k:
                    raise ValueError(f"y[{i}] has {a.shape[1]} targets per step, y[0] has {k}.")
                enc[i, :len(a)] = a
            flat = np.concatenate(ys)
        else:
            y = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
            if y.dtype.kind not in "biuf":
                try:
                    y = y.astype(np.float64)
                except (TypeError, ValueError):
                    raise ValueError(f"y must be numeric for regression; got dtype {y.dtype}.") from None
            if y.ndim not in (1, 2):
                raise ValueError(f"y must be 1D or 2D for regression; got shape {y.shape}.")
            ndim = y.ndim
            enc = np.asarray(y, dtype=np.float64).reshape(y.shape[0], -1)
            flat = enc
        if not np.isfinite(flat).all():
            raise ValueError("Input y contains NaN or infinity.")
        if reset:
            self._y_ndim = ndim
            self.n_outputs_ = enc.shape[-1]
        elif enc.shape[-1] != self.n_outputs_ or ndim != self._y_ndim:
            raise ValueError(f"y has {enc.shape[-1]} target(s) in a {ndim}D form but the model was "
                             f"fitted with {self.n_outputs_} in a {self._y_ndim}D form.")
        return enc

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``, continuing from the current state.

        Parameters
        ----------
        X : 3D array-like, list of arrays, or 2D array-like
        y : array-like
        sample_weight : array-like of shape (n,), default=None

        Returns
        -------
        self : object
        """
        return self._partial_fit(X, y, sample_weight=sample_weight)

    def _after_restore(self):
        if self._loss != "squared_error" or getattr(self, "_y_ndim", None) not in (1, 2):
            raise ValueError("regressor state is inconsistent")

    def _validation_score(self, Xp, lengths, y_enc):
        from sklearn.metrics import r2_score  # imported where used, as RegressorMixin.score does

        pred = self._raw_output(Xp, lengths).astype(np.float64)
        if self.return_sequences:
            valid = np.arange(pred.shape[1])[None, :] < lengths[:, None]
            return float(r2_score(y_enc[valid], pred[valid]))
        return float(r2_score(y_enc, pred))

    def predict(self, X):
        """Predicted values, float64.

        Parameters
        ----------
        X : 3D array-like, list of arrays, or 2D array-like

        Returns
        -------
        y : ndarray of shape (n,) or (n, n_targets)
            With ``return_sequences=True``: a list of per-sequence arrays
            for list input, else an array ``(n, T[, n_targets])`` with NaN
            at padding steps.
        """
        out, lengths = self._predict_activation(X)
        if self._y_ndim == 1:
            out = out[..., 0]
        if self.return_sequences and isinstance(X, (list, tuple)):
            return [out[i, :L] for i, L in enumerate(lengths)]
        return out

    def _stream_output(self, act):
        """What ``predict`` returns for one sequence, from its activation (streaming)."""
        return act[0] if self._y_ndim == 1 else act

    def score(self, X, y, sample_weight=None):
        """R2 (over all valid steps with ``return_sequences=True``).

        Parameters
        ----------
        X : array-like
        y : array-like
        sample_weight : array-like, default=None

        Returns
        -------
        score : float
        """
        if not self.return_sequences:
            return super().score(X, y, sample_weight=sample_weight)
        self._check_fitted()
        out, lengths = self._predict_activation(X)
        ys = check_targets_per_step(y, lengths, numeric=True)
        pred = np.concatenate([out[i, :L] for i, L in enumerate(lengths)])
        truth = np.concatenate([np.asarray(a, dtype=np.float64).reshape(len(a), -1) for a in ys])
        w = None if sample_weight is None else np.repeat(np.asarray(sample_weight, dtype=float), lengths)
        from sklearn.metrics import r2_score

        return float(r2_score(truth, pred.reshape(len(truth), -1), sample_weight=w))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class GRURegressor(LSTMRegressor):
    """:class:`LSTMRegressor` with ``cell="gru"`` by default (Cho et al. 2014).

    Parameters
    ----------
    cell : str, default="gru"
        See :class:`LSTMRegressor` for this and every other parameter.
    **kwargs
        The parameters of :class:`LSTMRegressor`.

    Examples
    --------
    >>> from sklstm import GRURegressor
    >>> GRURegressor().cell
    'gru'
    """

    def __init__(self, hidden_layer_sizes=(64,), cell="gru", bidirectional=False, dropout=0.0,
                 return_sequences=False, solver="adam", learning_rate="constant",
                 learning_rate_init=1e-3, power_t=0.5, momentum=0.9, nesterovs_momentum=True,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, rho=0.9, alpha=1e-4, batch_size="auto",
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, n_iter_no_change=10,
                 early_stopping=False, validation_fraction=0.1, warm_start=False, verbose=False,
                 clip_value=None, clip_norm=5.0, bptt_steps=None, device="cpu", dtype="float32",
                 embedding_dim=None, vocab_size=None, padding_idx=0):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, cell=cell, bidirectional=bidirectional,
            dropout=dropout, return_sequences=return_sequences, solver=solver,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t,
            momentum=momentum, nesterovs_momentum=nesterovs_momentum, beta_1=beta_1,
            beta_2=beta_2, epsilon=epsilon, rho=rho, alpha=alpha, batch_size=batch_size,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            n_iter_no_change=n_iter_no_change, early_stopping=early_stopping,
            validation_fraction=validation_fraction, warm_start=warm_start, verbose=verbose,
            clip_value=clip_value, clip_norm=clip_norm, bptt_steps=bptt_steps, device=device,
            dtype=dtype, embedding_dim=embedding_dim, vocab_size=vocab_size, padding_idx=padding_idx)
