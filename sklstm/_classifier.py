"""LSTMClassifier and GRUClassifier."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelBinarizer, LabelEncoder
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from ._base import BaseRecurrent
from ._losses import output_activation
from ._sequences import check_targets_per_step
from ._sklearn_compat import StrOptions

__all__ = ["LSTMClassifier", "GRUClassifier"]


class LSTMClassifier(ClassifierMixin, BaseRecurrent):
    """Recurrent-network classifier for sequences (LSTM by default; GRU / RNN through ``cell``).

    Reads sequences as 3D arrays ``(n, T, F)``, ragged lists of ``(T_i, F)``
    arrays, or tabular rows (2D, one-step sequences), and classifies each
    sequence from the last layer's final hidden state (or every timestep
    with ``return_sequences=True``). Binary problems use one logit and the
    logistic loss, multiclass the softmax cross-entropy, multilabel indicator
    targets a sigmoid per label.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(64,)
        Hidden size of each stacked recurrent layer.
    cell : {"lstm", "lstm1997", "gru", "rnn"}, default="lstm"
        Recurrent cell: LSTM with forget gate, the 1997 LSTM without it, GRU
        or a plain tanh RNN.
    bidirectional : bool, default=False
        Run each layer in both directions.
    dropout : float, default=0.0
        Dropout rate between layers and before the head (training only).
    return_sequences : bool, default=False
        Predict one label per timestep.
    solver : {"adam", "sgd", "rmsprop"}, default="adam"
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Schedule for ``solver="sgd"`` (MLPClassifier's meaning).
    learning_rate_init : float, default=1e-3
    power_t : float, default=0.5
    momentum : float, default=0.9
    nesterovs_momentum : bool, default=True
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's parameters (``epsilon`` also for RMSprop).
    rho : float, default=0.9
        RMSprop decay.
    alpha : float, default=1e-4
        L2 penalty on weight matrices.
    batch_size : int or "auto", default="auto"
        ``min(200, n_samples)`` when "auto".
    max_iter : int, default=200
        Epochs.
    shuffle : bool, default=True
    random_state : int, RandomState instance or None, default=None
    tol : float, default=1e-4
    n_iter_no_change : int, default=10
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` (stratified), stop when the
        validation accuracy stops improving and restore the best weights.
    validation_fraction : float, default=0.1
    warm_start : bool, default=False
    verbose : bool, default=False
    clip_value : float or None, default=None
        Clip each gradient component to ``[-clip_value, clip_value]``.
    clip_norm : float or None, default=5.0
        Rescale the gradient when its global L2 norm exceeds this.
    bptt_steps : int or None, default=None
        Truncated backpropagation through time in chunks of this many steps.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where to train and predict. ``"cuda"`` runs on an NVIDIA GPU through
        numba.cuda (``pip install "sklstm[cuda]"``) and raises a ValueError
        at fit when no usable GPU is found; ``"auto"`` uses the GPU when one
        is found, else the CPU. Weights stay numpy arrays, so a model fitted
        on a GPU predicts, saves and loads on a CPU-only machine.
    dtype : {"float32", "float64"}, default="float32"
        Compute precision.
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
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
        Features per timestep.
    feature_names_in_ : ndarray of str
        Column names when fitted on a DataFrame.
    coefs_flat_ : ndarray
        All weights in one vector (see :meth:`state_dict` for named views).
    loss_ : float
    loss_curve_ : list of float
    best_loss_ : float
    validation_scores_ : list of float or None
    best_validation_score_ : float or None
    n_iter_ : int
    t_ : int
        Samples seen during training.
    n_outputs_ : int
        Width of the dense head.

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import LSTMClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 10, 2)).astype("float32")
    >>> y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    >>> clf = LSTMClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **BaseRecurrent._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(self, hidden_layer_sizes=(64,), cell="lstm", bidirectional=False, dropout=0.0,
                 return_sequences=False, solver="adam", learning_rate="constant",
                 learning_rate_init=1e-3, power_t=0.5, momentum=0.9, nesterovs_momentum=True,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, rho=0.9, alpha=1e-4, batch_size="auto",
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, n_iter_no_change=10,
                 early_stopping=False, validation_fraction=0.1, warm_start=False, verbose=False,
                 clip_value=None, clip_norm=5.0, bptt_steps=None, device="cpu", dtype="float32",
                 class_weight=None, embedding_dim=None, vocab_size=None, padding_idx=0):
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
        self.class_weight = class_weight

    # ------------------------------------------------------------------ targets
    def _encode_targets(self, y, lengths, reset, classes=None):
        if self.return_sequences:
            ys = check_targets_per_step(y, lengths, numeric=False)
            flat = np.concatenate(ys)
        else:
            flat = np.asarray(y) if not hasattr(y, "iloc") else y.to_numpy()
            if flat.ndim == 2 and flat.shape[1] == 1:
                flat = column_or_1d(flat, warn=True)
        kind = type_of_target(flat, input_name="y")
        if kind not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(f"Unknown label type: {kind!r}. LSTMClassifier needs binary, multiclass "
                             "or multilabel-indicator targets.")
        if kind == "multilabel-indicator" and self.return_sequences:
            raise ValueError("Multilabel targets are not supported with return_sequences=True.")
        if reset:
            if kind == "multilabel-indicator":
                self._label_binarizer = LabelBinarizer().fit(flat)
                self.classes_ = self._label_binarizer.classes_
                self._loss, self.n_outputs_ = "multilabel", flat.shape[1]
            else:
                labels = unique_labels(flat) if classes is None else np.asarray(classes)
                if classes is not None and not set(unique_labels(flat)) <= set(labels.tolist()):
                    raise ValueError(f"y contains labels not in classes={list(labels)}.")
                self._label_encoder = LabelEncoder().fit(labels)
                self.classes_ = self._label_encoder.classes_
                if len(self.classes_) < 2:
                    raise ValueError(f"The classifier needs samples of at least 2 classes in the data, "
                                     f"but the data contains only one class: {self.classes_[0]!r}.")
                if len(self.classes_) == 2:
                    self._loss, self.n_outputs_ = "logistic", 1
                else:
                    self._loss, self.n_outputs_ = "softmax", len(self.classes_)
        elif (self._loss == "multilabel") != (kind == "multilabel-indicator") or (
                kind == "multilabel-indicator" and flat.shape[1] != self.n_outputs_):
            raise ValueError(f"y is {kind} with shape {np.shape(flat)}, but the model was fitted on "
                             f"{'multilabel' if self._loss == 'multilabel' else 'single-label'} targets "
                             f"with {self.n_outputs_} output(s).")
        else:
            unseen = np.setdiff1d(unique_labels(flat), self.classes_)
            if unseen.size:
                raise ValueError(f"y contains labels {list(unseen)} not seen in the first call: "
                                 f"{list(self.classes_)}.")
        enc = self._encode_flat(flat)
        if not self.return_sequences:
            return enc
        T = int(lengths.max())
        out = np.zeros((len(ys), T) + enc.shape[1:], dtype=enc.dtype)
        pos = 0
        for i, a in enumerate(ys):
            out[i, :len(a)] = enc[pos:pos + len(a)]
            pos += len(a)
        return out

    def _encode_flat(self, flat):
        if self._loss == "multilabel":
            return np.asarray(flat, dtype=np.float64)
        idx = self._label_encoder.transform(flat)
        if self._loss == "logistic":
            return idx.astype(np.float64)[:, None]
        return idx.astype(np.int64)

    def _after_restore(self):
        if self._loss == "multilabel":
            if not np.array_equal(self.classes_, np.arange(self.n_outputs_)):
                raise ValueError("multilabel classes_ must be 0..n_labels-1")
        else:
            expected = 1 if len(self.classes_) == 2 else len(self.classes_)
            if self.n_outputs_ != expected or self._loss != ("logistic" if expected == 1 else "softmax"):
                raise ValueError("classes_ do not match the network's output")
            self._label_encoder = LabelEncoder().fit(self.classes_)
            if not np.array_equal(self._label_encoder.classes_, self.classes_):
                raise ValueError("classes_ must be sorted and unique")

    def _stratify_labels(self, y_enc):
        if self.return_sequences or self._loss == "multilabel":
            return None
        lab = y_enc[:, 0] if y_enc.ndim == 2 else y_enc
        _, counts = np.unique(lab, return_counts=True)
        return lab if counts.min() >= 2 else None

    def _class_weights(self, y_enc):
        if self.class_weight is None:
            return None
        if self.return_sequences or self._loss == "multilabel":
            raise ValueError("class_weight is supported for one label per sequence (binary or multiclass), "
                             "not with return_sequences=True or multilabel targets; use sample_weight.")
        lab = (y_enc[:, 0] if y_enc.ndim == 2 else y_enc).astype(np.int64)
        if isinstance(self.class_weight, dict):
            unknown = set(self.class_weight) - set(self.classes_.tolist())
            if unknown:
                raise ValueError(f"class_weight names classes {sorted(unknown, key=str)} that are not in "
                                 f"the data: {list(self.classes_)}.")
            bad = {k: v for k, v in self.class_weight.items()
                   if not (isinstance(v, (int, float, np.integer, np.floating))
                           and np.isfinite(v) and v >= 0)}
            if bad:
                raise ValueError(f"class_weight values must be finite non-negative numbers; got {bad}.")
            cw = {i: self.class_weight.get(c, 1.0) for i, c in enumerate(self.classes_)}
            return np.array([cw[i] for i in lab], dtype=np.float64)
        return compute_sample_weight(self.class_weight, lab)

    def _validation_score(self, Xp, lengths, y_enc):
        """Accuracy as :meth:`score` computes it: valid steps only, exact match for multilabel."""
        hit = self._decode(self._proba_from(Xp, lengths)) == self._decode_enc(y_enc)
        if self._loss == "multilabel":
            hit = hit.all(axis=-1)
        if self.return_sequences:
            hit = hit[np.arange(hit.shape[1])[None, :] < lengths[:, None]]
        return float(np.mean(hit))

    # ------------------------------------------------------------------ predict
    def _proba_from(self, Xp, lengths):
        return output_activation(self._loss, self._raw_output(Xp, lengths))

    def _decode(self, proba):
        if self._loss == "logistic":
            return (proba[..., 0] > 0.5).astype(np.int64)
        if self._loss == "softmax":
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype(np.int64)

    def _decode_enc(self, y_enc):
        return y_enc[..., 0].astype(np.int64) if self._loss == "logistic" else y_enc

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over ``(X, y)``, continuing from the current state.

        Parameters
        ----------
        X : 3D array-like, list of arrays, or 2D array-like
        y : array-like
        classes : array-like, default=None
            All classes that will ever appear; required on the first call
            unless ``y`` is a multilabel indicator matrix.
        sample_weight : array-like of shape (n,), default=None

        Returns
        -------
        self : object
        """
        first = not hasattr(self, "coefs_flat_")
        if first and classes is None and type_of_target(y) != "multilabel-indicator":
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if not first and classes is not None and not np.array_equal(np.sort(np.asarray(classes)),
                                                                    self.classes_):
            raise ValueError(f"`classes={list(classes)}` is not the same as on the first call "
                             f"to partial_fit: {list(self.classes_)}.")
        return self._partial_fit(X, y, sample_weight=sample_weight, classes=classes)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : 3D array-like, list of arrays, or 2D array-like

        Returns
        -------
        proba : ndarray of shape (n, n_classes), float64
            For ``return_sequences=True`` a list of ``(T_i, n_classes)`` arrays.
        """
        out, lengths = self._predict_activation(X)
        if self._loss == "logistic":
            out = np.concatenate([1.0 - out, out], axis=-1)
        if self.return_sequences:
            return [out[i, :L] for i, L in enumerate(lengths)]
        return out

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : 3D array-like, list of arrays, or 2D array-like

        Returns
        -------
        log_proba : ndarray of shape (n, n_classes)
        """
        p = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return [np.log(a) for a in p] if isinstance(p, list) else np.log(p)

    def predict(self, X):
        """Predicted labels.

        Parameters
        ----------
        X : 3D array-like, list of arrays, or 2D array-like

        Returns
        -------
        y : ndarray of shape (n,) (or (n, n_labels) for multilabel)
            For ``return_sequences=True`` a list of 1D label arrays.
        """
        out, lengths = self._predict_activation(X)
        labels = self._labels_from_activation(out)
        if self.return_sequences:
            return [labels[i, :L] for i, L in enumerate(lengths)]
        return labels

    def _labels_from_activation(self, out):
        idx = self._decode(out)
        return idx if self._loss == "multilabel" else self.classes_[idx]

    def _stream_output(self, act):
        """What ``predict`` returns for one sequence, from its activation (streaming)."""
        return self._labels_from_activation(act[None])[0]

    def score(self, X, y, sample_weight=None):
        """Mean accuracy (over all valid steps with ``return_sequences=True``).

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
        pred = self.predict(X)
        lengths = np.array([len(p) for p in pred])
        ys = check_targets_per_step(y, lengths, numeric=False)
        hit = np.concatenate(pred) == np.concatenate(ys)
        w = None if sample_weight is None else np.repeat(np.asarray(sample_weight, dtype=float), lengths)
        return float(np.average(hit, weights=w))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class GRUClassifier(LSTMClassifier):
    """:class:`LSTMClassifier` with ``cell="gru"`` by default (Cho et al. 2014).

    Parameters
    ----------
    cell : str, default="gru"
        See :class:`LSTMClassifier` for this and every other parameter.
    **kwargs
        The parameters of :class:`LSTMClassifier`.

    Examples
    --------
    >>> from sklstm import GRUClassifier
    >>> GRUClassifier().cell
    'gru'
    """

    def __init__(self, hidden_layer_sizes=(64,), cell="gru", bidirectional=False, dropout=0.0,
                 return_sequences=False, solver="adam", learning_rate="constant",
                 learning_rate_init=1e-3, power_t=0.5, momentum=0.9, nesterovs_momentum=True,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, rho=0.9, alpha=1e-4, batch_size="auto",
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, n_iter_no_change=10,
                 early_stopping=False, validation_fraction=0.1, warm_start=False, verbose=False,
                 clip_value=None, clip_norm=5.0, bptt_steps=None, device="cpu", dtype="float32",
                 class_weight=None, embedding_dim=None, vocab_size=None, padding_idx=0):
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
            dtype=dtype, class_weight=class_weight, embedding_dim=embedding_dim, vocab_size=vocab_size,
            padding_idx=padding_idx)
