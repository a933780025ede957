"""The one module that imports scikit-learn's private helpers.

A scikit-learn upgrade that moves them touches this file only.
"""

from sklearn.utils._param_validation import Interval, Options, StrOptions  # noqa: F401
from sklearn.utils.validation import (  # noqa: F401
    _check_sample_weight,
    _num_samples,
    check_is_fitted,
    validate_data,
)

__all__ = [
    "Interval",
    "Options",
    "StrOptions",
    "_check_sample_weight",
    "_num_samples",
    "check_is_fitted",
    "validate_data",
]
