"""Central finite differences confirm every gradient; clipping and dropout behave as specified."""

import numpy as np
import pytest

from conftest import CELLS, make_batch, make_params
from driver import loss_and_grad
from sklstm._network import NetworkSpec


def _fd_check(spec, flat, X, lengths, y, loss, n_probe=40, eps=1e-6, seed=0, **kw):
    grad = np.empty_like(flat)
    w = np.linspace(0.5, 1.5, len(lengths))

    def f(theta):
        rng = np.random.default_rng(seed)  # same dropout masks at every evaluation
        return loss_and_grad(spec, theta, np.empty_like(theta), X, lengths, y, w, loss, rng=rng,
                             clip_norm=None, **kw)

    rng = np.random.default_rng(seed)
    loss_and_grad(spec, flat, grad, X, lengths, y, w, loss, rng=rng, clip_norm=None, **kw)
    probe = np.random.default_rng(1).choice(flat.size, size=min(n_probe, flat.size), replace=False)
    for i in probe:
        e = np.zeros_like(flat)
        e[i] = eps
        num = (f(flat + e) - f(flat - e)) / (2 * eps)
        assert abs(num - grad[i]) <= 1e-6 + 1e-5 * abs(num), (i, num, grad[i])


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_finite_differences_stacked_ragged(cell, bidirectional, rng):
    spec = NetworkSpec(cell, 2, (3, 2), bidirectional, 2)
    flat = make_params(spec, rng)
    X, lengths, _ = make_batch(rng, [4, 1, 3], 2)
    y = rng.standard_normal((3, 2))
    _fd_check(spec, flat, X, lengths, y, "squared_error", alpha=0.05)


@pytest.mark.parametrize("cell", CELLS)
def test_finite_differences_per_step_softmax(cell, rng):
    spec = NetworkSpec(cell, 2, (3,), True, 3)
    flat = make_params(spec, rng)
    X, lengths, _ = make_batch(rng, [4, 2, 3], 2)
    y = rng.integers(0, 3, size=(3, 4))
    _fd_check(spec, flat, X, lengths, y, "softmax", return_sequences=True)


@pytest.mark.parametrize("cell", CELLS)
def test_finite_differences_with_dropout(cell, rng):
    """Inverted dropout between layers and before the head, masks fixed by the generator."""
    spec = NetworkSpec(cell, 2, (3, 3), False, 1)
    flat = make_params(spec, rng)
    X, lengths, _ = make_batch(rng, [4, 3, 2], 2)
    y = rng.standard_normal((3, 1))
    _fd_check(spec, flat, X, lengths, y, "squared_error", dropout=0.3)


def test_dropout_changes_training_output_only(rng):
    spec = NetworkSpec("lstm", 2, (4, 4), False, 1)
    flat = make_params(spec, rng)
    X, lengths, _ = make_batch(rng, [4, 3], 2)
    y = rng.standard_normal((2, 1))
    w = np.ones(2)
    g = np.empty_like(flat)
    a = loss_and_grad(spec, flat, g, X, lengths, y, w, "squared_error")
    b = loss_and_grad(spec, flat, g, X, lengths, y, w, "squared_error", dropout=0.5,
                      rng=np.random.default_rng(0))
    assert a != b


def test_clip_by_value_is_the_threshold_rule(rng):
    spec = NetworkSpec("rnn", 2, (3,), False, 1)
    flat = make_params(spec, rng, scale=1.0)
    X, lengths, _ = make_batch(rng, [5, 2], 2)
    y = 10 * rng.standard_normal((2, 1))
    w = np.ones(2)
    raw, clipped = np.empty_like(flat), np.empty_like(flat)
    loss_and_grad(spec, flat, raw, X, lengths, y, w, "squared_error")
    loss_and_grad(spec, flat, clipped, X, lengths, y, w, "squared_error", clip_value=0.1)
    assert np.abs(raw).max() > 0.1
    np.testing.assert_array_equal(clipped, np.clip(raw, -0.1, 0.1))


def test_clip_by_global_norm(rng):
    spec = NetworkSpec("gru", 2, (3,), False, 1)
    flat = make_params(spec, rng, scale=1.0)
    X, lengths, _ = make_batch(rng, [5, 2], 2)
    y = 10 * rng.standard_normal((2, 1))
    w = np.ones(2)
    raw, clipped = np.empty_like(flat), np.empty_like(flat)
    loss_and_grad(spec, flat, raw, X, lengths, y, w, "squared_error")
    norm = np.linalg.norm(raw)
    assert norm > 0.5
    loss_and_grad(spec, flat, clipped, X, lengths, y, w, "squared_error", clip_norm=0.5)
    np.testing.assert_allclose(np.linalg.norm(clipped), 0.5, rtol=1e-5)
    np.testing.assert_allclose(clipped, raw * (0.5 / (norm + 1e-6)), rtol=1e-12)
    loss_and_grad(spec, flat, clipped, X, lengths, y, w, "squared_error", clip_norm=2 * norm)
    np.testing.assert_array_equal(clipped, raw)


@pytest.mark.parametrize("cell", CELLS)
def test_input_gradient_norms_match_finite_differences(cell, rng):
    from driver import input_gradient_norms

    spec = NetworkSpec(cell, 2, (3, 2), False, 1)
    flat = make_params(spec, rng)
    X, lengths, _ = make_batch(rng, [5], 2)
    y = rng.standard_normal((1, 1))
    w = np.ones(1)
    norms = input_gradient_norms(spec, flat, X, lengths, y, w, "squared_error")

    def f(Xv):
        return loss_and_grad(spec, flat, np.empty_like(flat), Xv, lengths, y, w, "squared_error",
                             clip_norm=None)

    eps = 1e-6
    for t in range(5):
        g = np.zeros(2)
        for k in range(2):
            e = np.zeros_like(X)
            e[0, t, k] = eps
            g[k] = (f(X + e) - f(X - e)) / (2 * eps)
        np.testing.assert_allclose(norms[t], np.linalg.norm(g), rtol=1e-5, atol=1e-9)
