"""Export to ONNX: sklstm estimators and whole pipelines, for onnxruntime and other ONNX runtimes.

Importing this module registers converters with skl2onnx for
:class:`~sklstm.LSTMRegressor`, :class:`~sklstm.GRURegressor`,
:class:`~sklstm.LSTMClassifier`, :class:`~sklstm.GRUClassifier`,
:class:`~sklstm.RecurrentFeatures` and
:class:`~sklstm.preprocessing.SequenceScaler`, so that
``skl2onnx.to_onnx(pipeline, ...)`` converts a ``Pipeline`` holding sklstm
steps next to scikit-learn ones; :func:`to_onnx` does the same and picks
the input type for you. Needs the ``onnx`` extra
(``pip install "sklstm[onnx]"``: onnx, skl2onnx, onnxruntime).

The graph uses ONNX's ``LSTM`` / ``GRU`` / ``RNN`` operators (one node per
layer; stacked and bidirectional), an embedding as ``Gather``, and
computes each sequence's length inside the graph, so a ragged batch
exported once predicts like sklstm:

* sequence input ``(N, T, F)`` float: trailing all-NaN steps are padding
  (pad ragged sequences with :func:`pad_sequences`); 2D ``(N, F)`` input is
  tabular rows (one step each), as in sklstm;
* token input (estimators with ``embedding_dim``): ``(N, T)`` int64 ids,
  trailing ``padding_idx`` ids are padding;
* a row that ``predict`` would refuse (no valid step; NaN or inf
  inside the sequence) gives NaN outputs, never a silent value.

Outputs follow skl2onnx: classifiers give ``label`` and ``probabilities``
(as a list of dicts with the ``zipmap`` option, on by default; pass
``options={"zipmap": False}`` for a tensor); regressors give ``variable``
``(N, n_targets)`` (a single target keeps its column); RecurrentFeatures
gives ``variable`` ``(N, n_features_out)``. With ``return_sequences=True``
every step: ``(N, T, k)`` values with NaN at padding steps (labels there are
meaningless; no zipmap). Everything is computed in float32 (onnxruntime's
recurrent kernels are float32 only).

Not exported: the ``lstm1997`` cell is (an ONNX LSTM with its forget gate
held at exactly 1; tested), but :class:`~sklstm.LSTMLanguageModel`,
:class:`~sklstm.LSTMSeq2Seq`, the forecaster and the text vectorizer are
not: their prediction is a search or a text tokenizer, which stays in
Python (a clear error says so).

Examples
--------
>>> import numpy as np, onnxruntime as ort
>>> from sklstm import LSTMRegressor
>>> from sklstm.onnx import pad_sequences, to_onnx
>>> rng = np.random.default_rng(0)
>>> X = [rng.normal(size=(t, 2)) for t in (5, 3, 7, 4)]
>>> y = np.array([x.sum() for x in X])
>>> est = LSTMRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, y)
>>> onx = to_onnx(est)
>>> sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
>>> out = sess.run(None, {"X": pad_sequences(X)})[0]
>>> out.shape
(4, 1)
>>> bool(np.allclose(out[:, 0], est.predict(X), atol=1e-5))
True
"""

from __future__ import annotations

import numpy as np

__all__ = ["to_onnx", "register_converters", "pad_sequences"]

_INSTALL = 'ONNX export needs the "onnx" extra: pip install "sklstm[onnx]" (onnx, skl2onnx, onnxruntime).'
_REGISTERED = False


def _skl2onnx():
    try:
        import skl2onnx
    except ImportError as exc:
        raise ImportError(f"{_INSTALL} ({exc})") from None
    return skl2onnx


def pad_sequences(X, dtype=np.float32, padding_value=np.nan):
    """Pad ragged sequences into one block, the input an exported graph reads.

    Parameters
    ----------
    X : list of arrays, or 3D / 2D array
        Ragged ``(T_i, F)`` (or ``(T_i,)`` token ids / one-feature steps)
        sequences; an array is returned as ``dtype`` unchanged in shape.
    dtype : numpy dtype, default=np.float32
        ``np.int64`` for token ids.
    padding_value : scalar, default=np.nan
        NaN for feature sequences; the model's ``padding_idx`` for token ids.

    Returns
    -------
    padded : ndarray of shape (n, T_max, F), or (n, T_max) for 1D items of ids

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm.onnx import pad_sequences
    >>> pad_sequences([np.ones((2, 1)), np.ones((1, 1))])[:, :, 0]
    array([[ 1.,  1.],
           [ 1., nan]], dtype=float32)
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "i" and isinstance(padding_value, float) and np.isnan(padding_value):
        raise ValueError("integer (token id) sequences need an integer padding_value: the model's "
                         "padding_idx.")
    if not isinstance(X, (list, tuple)):
        return np.asarray(X, dtype=dtype)
    if len(X) == 0:
        raise ValueError("X is empty: nothing to pad.")
    seqs = [np.asarray(s, dtype=dtype) for s in X]
    if dtype.kind == "f" and all(s.ndim == 1 for s in seqs):
        seqs = [s[:, None] for s in seqs]
    shapes = {s.shape[1:] for s in seqs}
    if len(shapes) != 1 or any(s.ndim not in (1, 2) or len(s) == 0 for s in seqs):
        raise ValueError(f"sequences must be non-empty and share their trailing shape; got {sorted(shapes)}.")
    out = np.full((len(seqs), max(len(s) for s in seqs)) + seqs[0].shape[1:], padding_value, dtype=dtype)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s
    return out


def register_converters():
    """Register sklstm's shape calculators, converters and parsers with skl2onnx (idempotent).

    Called when :mod:`sklstm.onnx` is imported (where skl2onnx is
    installed); call it again after ``skl2onnx``'s registry was reset.

    Returns
    -------
    classes : list of type
        The sklstm classes skl2onnx can now convert.
    """
    global _REGISTERED
    skl2onnx = _skl2onnx()
    from . import _onnx_converters as conv

    for cls, alias, shape_fn, convert_fn, parser, options in conv.registrations():
        skl2onnx.update_registered_converter(cls, alias, shape_fn, convert_fn, parser=parser, options=options)
    _REGISTERED = True
    return [r[0] for r in conv.registrations()]


def _first_step(model):
    from sklearn.pipeline import Pipeline

    while isinstance(model, Pipeline):
        model = model.steps[0][1]
    return model


def _initial_types(model, X):
    """skl2onnx input types from X (or from the first step's fitted attributes): batch and time dynamic."""
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType

    from ._features import RecurrentFeatures

    first = _first_step(model)
    est = first.estimator_ if isinstance(first, RecurrentFeatures) and hasattr(first, "estimator_") else first
    spec = getattr(est, "_spec", None)
    if spec is not None and spec.vocab_size:
        return [("X", Int64TensorType([None, None]))]
    if X is None:
        n = getattr(first, "n_features_in_", None)
        if n is None:
            raise ValueError("Pass X (a sample of the input) or initial_types: the first step of the model "
                             "has no n_features_in_ to read the input width from.")
        return [("X", FloatTensorType([None, None, int(n)]))]
    if isinstance(X, (list, tuple)) and X and isinstance(X[0], np.ndarray):
        x0 = np.asarray(X[0])
        return [("X", FloatTensorType([None, None, x0.shape[1] if x0.ndim == 2 else 1]))]
    shape = np.shape(X)
    if len(shape) == 3:
        return [("X", FloatTensorType([None, None, shape[2]]))]
    if len(shape) == 2:
        return [("X", FloatTensorType([None, shape[1]]))]
    raise ValueError(f"X must be 3D (n, T, F), 2D (n, F) or a list of (T_i, F) arrays; got shape {shape}.")


def to_onnx(model, X=None, *, initial_types=None, target_opset=None, options=None, name=None):
    """Convert a fitted sklstm estimator or a Pipeline holding sklstm steps to an ONNX model.

    Parameters
    ----------
    model : fitted estimator or Pipeline
    X : array-like or list of arrays, default=None
        A sample of the input, read only for its type and width: 3D (or a
        list of ``(T_i, F)`` arrays) exports sequence input ``(N, T, F)``,
        2D tabular rows ``(N, F)``. Without X (and ``initial_types``) the
        input is sequences of the first step's ``n_features_in_`` features
        (token ids ``(N, T)`` int64 for a model with an embedding). Batch and
        time dimensions stay dynamic.
    initial_types : list of (str, skl2onnx type), default=None
        skl2onnx's input description, overriding X.
    target_opset : int, default=None
        ONNX opset (>= 14); None: skl2onnx's latest tested one.
    options : dict, default=None
        skl2onnx converter options, e.g. ``{"zipmap": False}`` for
        probabilities as a tensor.
    name : str, default=None
        Graph name.

    Returns
    -------
    onx : onnx.ModelProto
        Checked with ``onnx.checker.check_model``; the input is named
        ``"X"`` unless ``initial_types`` says otherwise.

    Raises
    ------
    ImportError
        Without the onnx extra.
    ValueError, TypeError
        Unfitted models, models with nothing to export, ``target_opset < 14``.
    """
    skl2onnx = _skl2onnx()
    import onnx

    if target_opset is not None and (not isinstance(target_opset, int) or target_opset < 14):
        raise ValueError(f"target_opset must be an int >= 14 (the recurrent operators' layout); "
                         f"got {target_opset!r}.")
    register_converters()
    if initial_types is None:
        initial_types = _initial_types(model, X)
    kwargs = {"initial_types": initial_types, "target_opset": target_opset, "options": options}
    if name is not None:
        kwargs["name"] = name
    onx = skl2onnx.to_onnx(model, **kwargs)
    onnx.checker.check_model(onx)
    return onx


try:  # registered on import where skl2onnx is installed
    register_converters()
except ImportError:
    pass
