"""Shared, seeded fixtures and helpers."""

import os
import sys

# The CUDA backend's tests run under numba's CUDA simulator, on any machine, unless
# SKLSTM_TEST_CUDA=gpu asks for a real GPU (see DEVELOPERS.md). Set before numba is imported.
if os.environ.get("SKLSTM_TEST_CUDA", "sim") != "gpu":
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))

from sklstm._optimizers import SOLVERS as _SOLVER_REGISTRY  # noqa: E402
from sklstm._spec import CELL_GATES  # noqa: E402

#: every cell and every solver sklstm has (a new one is tested everywhere these are used)
CELLS = list(CELL_GATES)
SOLVERS = list(_SOLVER_REGISTRY)

#: a fit of a few epochs on a tiny network: for API, persistence and device tests, not for accuracy
TINY = dict(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
#: small but really learning: sklearn's common checks need accuracy > 0.83 and R2 > 0.5
LEARNS = dict(hidden_layer_sizes=(8,), max_iter=60, learning_rate_init=0.02, random_state=0)


@pytest.fixture
def rng():
    """A fresh seeded generator per test."""
    return np.random.default_rng(12345)


def sign_of_sum(rng, n=80, T=6, F=2, dtype=np.float64):
    """The sign-of-sum task: X ``(n, T, F)`` normal, y = 1 where feature 0 sums to more than 0."""
    X = rng.normal(size=(n, T, F)).astype(dtype)
    return X, (X[:, :, 0].sum(axis=1) > 0).astype(int)


def make_batch(rng, lengths, n_features, dtype=np.float64):
    """Padded (n, T, F) batch (zeros at padding) and the list of its sequences."""
    lengths = np.asarray(lengths, dtype=np.int64)
    X = np.zeros((len(lengths), int(lengths.max()), n_features), dtype=dtype)
    seqs = []
    for i, L in enumerate(lengths):
        s = rng.standard_normal((L, n_features))
        X[i, :L] = s
        seqs.append(s)
    return X, lengths, seqs


def make_params(spec, rng, dtype=np.float64, scale=0.3):
    """Random flat parameters (init plus noise, so biases are nonzero too)."""
    flat = spec.init_params(rng, np.float64)
    flat += rng.normal(0.0, scale, flat.shape)
    return flat.astype(dtype)


def make_targets(rng, loss, n, n_out, lengths=None):
    """Encoded targets for a loss; per step when ``lengths`` is given."""
    shape = (n,) if lengths is None else (n, int(max(lengths)))
    if loss == "squared_error":
        return rng.standard_normal(shape + (n_out,))
    if loss == "softmax":
        return rng.integers(0, n_out, size=shape)
    return rng.integers(0, 2, size=shape + (n_out,)).astype(float)


def per_sequence_targets(y, lengths, return_sequences):
    """The reference takes per-step targets as a list cut to each length."""
    if not return_sequences:
        return y
    return [y[i, :L] for i, L in enumerate(lengths)]
