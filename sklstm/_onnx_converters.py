"""skl2onnx shape calculators, converters and parsers for sklstm's classes (see :mod:`sklstm.onnx`).

Imported only where skl2onnx is installed. The graphs themselves are built
by :mod:`sklstm._onnx_graph`.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto
from skl2onnx._parse import _parse_sklearn_classifier, _parse_sklearn_simple_model
from skl2onnx.common.data_types import (DoubleTensorType, FloatTensorType, Int64TensorType,
                                        StringTensorType, guess_proto_type)

from ._onnx_graph import Graph, emit_network

__all__ = ["registrations"]


def _out_type(var):
    """skl2onnx's rule: double input gives double outputs, anything else float."""
    return DoubleTensorType if isinstance(var.type, DoubleTensorType) else FloatTensorType


def _network_estimator(est):
    """``est``, fitted (the cell is checked by :func:`sklstm._onnx_graph.emit_network`)."""
    est._check_fitted()
    return est


def _check_input(est, var):
    """Input rank and element type against what the network reads."""
    shape = var.type.shape
    proto = guess_proto_type(var.type)
    if est._spec.vocab_size:
        if proto != TensorProto.INT64 or len(shape) != 2:
            raise ValueError(f"{type(est).__name__} reads token ids through its embedding: export it with "
                             "an int64 input of shape (N, T) (e.g. Int64TensorType([None, None])); got "
                             f"{type(var.type).__name__}{list(shape)}.")
    elif len(shape) not in (2, 3):
        raise ValueError(f"{type(est).__name__} reads (N, T, F) sequences or (N, F) tabular rows; the "
                         f"input has {len(shape)} dimension(s).")
    elif proto not in (TensorProto.FLOAT, TensorProto.DOUBLE):
        raise ValueError(f"{type(est).__name__} reads float input; got {type(var.type).__name__}.")
    return len(shape), proto


def _emit(scope, operator, container, est, *, sequences, head=True):
    g = Graph(scope, container)
    rank, proto = _check_input(est, operator.inputs[0])
    out, _ = emit_network(g, est._spec, est.coefs_flat_, operator.inputs[0].full_name, rank, proto,
                          sequences=sequences, head=head)
    return g, out


def _finish(g, value, var):
    """Write ``value`` (float32) to the output variable ``var``, in its element type."""
    if isinstance(var.type, DoubleTensorType):
        g.op("Cast", [value], out=var.full_name, to=TensorProto.DOUBLE)
    else:
        g.op("Identity", [value], out=var.full_name)


# ---------------------------------------------------------------------------------------- regressor
def regressor_shape(operator):
    """Output ``variable``: ``(N, n_targets)``, or ``(N, T, n_targets)`` with ``return_sequences``."""
    est = _network_estimator(operator.raw_operator)
    N = operator.inputs[0].get_first_dimension()
    shape = [N, None, est.n_outputs_] if est.return_sequences else [N, est.n_outputs_]
    operator.outputs[0].type = _out_type(operator.inputs[0])(shape)


def convert_regressor(scope, operator, container):
    """The network and its head; padding steps NaN with ``return_sequences``."""
    est = _network_estimator(operator.raw_operator)
    g, out = _emit(scope, operator, container, est, sequences=est.return_sequences)
    _finish(g, out, operator.outputs[0])


# ---------------------------------------------------------------------------------------- classifier
def _classes(est):
    """``classes_`` as an int64 or string array (the label output's element type)."""
    if est._loss == "multilabel":
        return np.arange(est.n_outputs_, dtype=np.int64)
    c = np.asarray(est.classes_)
    if c.dtype.kind in "biu":
        return c.astype(np.int64)
    if c.dtype.kind == "f":
        if np.all(np.isfinite(c)) and np.all(c == np.round(c)):
            return c.astype(np.int64)
        raise ValueError(f"classes_ {c.tolist()} are non-integer floats; ONNX labels are int64 or strings. "
                         "Encode the labels as integers or strings before fitting.")
    if all(isinstance(s, str) for s in c.tolist()):
        return c.astype(str)
    raise ValueError(f"classes_ of dtype {c.dtype} must all be integers or all strings for ONNX export.")


def classifier_shape(operator):
    """Outputs ``label`` (int64 or string) and ``probabilities``."""
    est = _network_estimator(operator.raw_operator)
    N = operator.inputs[0].get_first_dimension()
    classes = _classes(est)
    label_type = StringTensorType if classes.dtype.kind == "U" else Int64TensorType
    multilabel = est._loss == "multilabel"
    C = est.n_outputs_ if multilabel else len(classes)
    if est.return_sequences:
        operator.outputs[0].type = label_type([N, None])
        operator.outputs[1].type = _out_type(operator.inputs[0])([N, None, C])
    else:
        operator.outputs[0].type = label_type([N, C] if multilabel else [N])
        operator.outputs[1].type = _out_type(operator.inputs[0])([N, C])


def convert_classifier(scope, operator, container):
    """Probabilities as :meth:`predict_proba` gives them; labels as :meth:`predict`."""
    est = _network_estimator(operator.raw_operator)
    g, logits = _emit(scope, operator, container, est, sequences=est.return_sequences)
    if est._loss == "logistic":
        p = g.op("Sigmoid", [logits])
        proba = g.op("Concat", [g.op("Sub", [g.const("one", 1.0), p]), p], axis=-1)
    elif est._loss == "softmax":
        proba = g.op("Softmax", [logits], axis=-1)
    else:
        proba = g.op("Sigmoid", [logits])
    if est._loss == "multilabel":
        g.op("Cast", [g.op("Greater", [proba, g.const("half", 0.5)])], out=operator.outputs[0].full_name,
             to=TensorProto.INT64)
    else:
        idx = g.op("ArgMax", [proba], axis=-1, keepdims=0)
        classes = _classes(est)
        g.op("Gather", [g.const("classes", classes, classes.dtype), idx], out=operator.outputs[0].full_name,
             axis=0)
    _finish(g, proba, operator.outputs[1])


def parse_classifier(scope, model, inputs, custom_parsers=None):
    """skl2onnx's classifier parser (zipmap option); per-step outputs (3D) skip zipmap."""
    if getattr(model, "return_sequences", False):
        return _parse_sklearn_simple_model(scope, model, inputs, custom_parsers=custom_parsers)
    return _parse_sklearn_classifier(scope, model, inputs, custom_parsers=custom_parsers)


# ---------------------------------------------------------------------------------------- features
def features_shape(operator):
    """Output ``variable`` ``(N, hidden[-1] * n_directions)``: the final hidden state."""
    rf = operator.raw_operator
    if not hasattr(rf, "estimator_"):
        from sklearn.exceptions import NotFittedError

        raise NotFittedError("This RecurrentFeatures instance is not fitted yet.")
    est = _network_estimator(rf.estimator_)
    N = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = _out_type(operator.inputs[0])([N, est._spec.head_size])


def convert_features(scope, operator, container):
    """The recurrent stack without its head (:meth:`hidden_state`)."""
    est = _network_estimator(operator.raw_operator.estimator_)
    g, feats = _emit(scope, operator, container, est, sequences=False, head=False)
    _finish(g, feats, operator.outputs[0])


# ---------------------------------------------------------------------------------------- scaler
def scaler_shape(operator):
    """Output ``variable``: the input's shape and float type."""
    sc = operator.raw_operator
    if not hasattr(sc, "mean_"):
        from sklearn.exceptions import NotFittedError

        raise NotFittedError("This SequenceScaler instance is not fitted yet.")
    operator.outputs[0].type = _out_type(operator.inputs[0])(list(operator.inputs[0].type.shape))


def convert_scaler(scope, operator, container):
    """``(x - mean_) / scale_`` over the last axis (NaN padding stays NaN)."""
    sc = operator.raw_operator
    g = Graph(scope, container)
    x = operator.inputs[0].full_name
    proto = guess_proto_type(operator.inputs[0].type)
    dt = np.float64 if proto == TensorProto.DOUBLE else np.float32
    if proto not in (TensorProto.FLOAT, TensorProto.DOUBLE):
        x = g.cast(x, TensorProto.FLOAT)
    out = g.op("Div", [g.op("Sub", [x, g.const("mean", sc.mean_, dt)]), g.const("scale", sc.scale_, dt)])
    g.op("Identity", [out], out=operator.outputs[0].full_name)


# ---------------------------------------------------------------------------------------- refused
_REFUSED = {
    "LSTMLanguageModel": "its generation is a sampling or search loop over the vocabulary",
    "NgramLanguageModel": "it is a table of counts read by Python code",
    "LSTMSeq2Seq": "its predict is a greedy or beam search that feeds each output back",
    "LSTMForecaster": "its predict builds and rescales windows per series and chains forecast blocks",
    "TextVectorizer": ("it tokenizes strings in Python; export the estimator that reads its token ids "
                       "(input int64 (N, T)) and call the fitted vectorizer's transform before it"),
}


def refuse_shape(operator):
    """Raise a TypeError naming why this class has no ONNX graph."""
    name = type(operator.raw_operator).__name__
    raise TypeError(f"{name} cannot be exported to ONNX: {_REFUSED[name]}; that part stays in Python "
                    "(save it with sklstm.save instead).")


def _refuse_convert(scope, operator, container):  # pragma: no cover - refuse_shape raises first
    refuse_shape(operator)


def registrations():
    """``(class, alias, shape calculator, converter, parser, options)`` for each sklstm class."""
    from . import (GRUClassifier, GRURegressor, LSTMClassifier, LSTMLanguageModel, LSTMRegressor,
                   LSTMSeq2Seq, RecurrentFeatures)
    from ._forecaster import LSTMForecaster
    from ._ngram import NgramLanguageModel
    from .preprocessing import SequenceScaler
    from .text import TextVectorizer

    zipmap = {"zipmap": [True, False, "columns"], "nocl": [True, False]}
    out = [(cls, f"Sklstm{cls.__name__}", regressor_shape, convert_regressor, None, None)
           for cls in (LSTMRegressor, GRURegressor)]
    out += [(cls, f"Sklstm{cls.__name__}", classifier_shape, convert_classifier, parse_classifier, zipmap)
            for cls in (LSTMClassifier, GRUClassifier)]
    out.append((RecurrentFeatures, "SklstmRecurrentFeatures", features_shape, convert_features, None, None))
    out.append((SequenceScaler, "SklstmSequenceScaler", scaler_shape, convert_scaler, None, None))
    out += [(cls, f"Sklstm{cls.__name__}", refuse_shape, _refuse_convert, None, None)
            for cls in (LSTMLanguageModel, NgramLanguageModel, LSTMSeq2Seq, LSTMForecaster, TextVectorizer)]
    return out
