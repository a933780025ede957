"""sklstm: LSTM, GRU and RNN estimators with a scikit-learn API, compiled with Numba."""

import importlib
import importlib.metadata as _metadata

from ._streaming import StreamingPredictor
from ._chunks import partial_fit_chunks
from ._classifier import GRUClassifier, LSTMClassifier
from ._features import RecurrentFeatures
from .language_model import LSTMLanguageModel
from ._precompile import precompile
from ._regressor import GRURegressor, LSTMRegressor
from .persistence import load, save
from .seq2seq import LSTMSeq2Seq
from ._show_versions import show_versions

try:
    __version__ = _metadata.version("sklstm")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["LSTMClassifier", "LSTMRegressor", "GRUClassifier", "GRURegressor", "LSTMLanguageModel",
           "LSTMSeq2Seq", "RecurrentFeatures",
           "StreamingPredictor", "save", "load", "precompile", "show_versions", "partial_fit_chunks",
           "__version__"]

#: public submodules, imported on first attribute access (``sklstm.preprocessing`` works after
#: ``import sklstm``, as in numpy and scikit-learn) without slowing ``import sklstm`` down
_SUBMODULES = ("datasets", "exceptions", "forecasting", "inspection", "language_model", "onnx", "persistence",
               "preprocessing", "seq2seq", "text")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
