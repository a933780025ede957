"""sklstm: LSTM, GRU and RNN estimators with a scikit-learn API, compiled with Numba."""

from importlib.metadata import PackageNotFoundError, version

from ._streaming import StreamingPredictor
from ._classifier import GRUClassifier, LSTMClassifier
from ._features import RecurrentFeatures
from ._precompile import precompile
from ._regressor import GRURegressor, LSTMRegressor
from .persistence import load, save

try:
    __version__ = version("sklstm")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["LSTMClassifier", "LSTMRegressor", "GRUClassifier", "GRURegressor", "RecurrentFeatures",
           "StreamingPredictor", "save", "load", "precompile", "__version__"]
