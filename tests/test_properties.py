"""Hypothesis properties of the network driver: shapes, lengths, dtypes, padding invariance."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reference as ref
from driver import forward, loss_and_grad
from sklstm._network import NetworkSpec

from conftest import CELLS

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def networks(draw):
    cell = draw(st.sampled_from(CELLS))
    n_layers = draw(st.integers(1, 2))
    hidden = tuple(draw(st.integers(1, 5)) for _ in range(n_layers))
    spec = NetworkSpec(cell, draw(st.integers(1, 4)), hidden, draw(st.booleans()), draw(st.integers(1, 3)))
    lengths = np.array(draw(st.lists(st.integers(1, 6), min_size=1, max_size=5)), dtype=np.int64)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**16))
    return spec, lengths, dtype, seed


def _data(spec, lengths, dtype, seed, extra_pad=0):
    rng = np.random.default_rng(seed)
    flat = spec.init_params(rng, np.float64)
    flat += rng.normal(0, 0.2, flat.shape)
    flat = flat.astype(dtype)
    X = np.zeros((len(lengths), int(lengths.max()) + extra_pad, spec.n_features), dtype=dtype)
    for i, L in enumerate(lengths):
        X[i, :L] = rng.standard_normal((L, spec.n_features))
    y = rng.standard_normal((len(lengths), spec.n_outputs))
    return flat, X, y


@SETTINGS
@given(networks())
def test_shapes_dtypes_and_reference(case):
    spec, lengths, dtype, seed = case
    flat, X, y = _data(spec, lengths, dtype, seed)
    grad = np.empty_like(flat)
    loss = loss_and_grad(spec, flat, grad, X, lengths, y, np.ones(len(lengths)), "squared_error")
    assert np.isfinite(loss) and grad.dtype == dtype and grad.shape == flat.shape
    out = forward(spec, flat, X, lengths)
    assert out.shape == (len(lengths), spec.n_outputs) and out.dtype == dtype
    seqs = [X[i, :L].astype(np.float64) for i, L in enumerate(lengths)]
    p = {k: v.astype(np.float64) for k, v in spec.views(flat).items()}
    want = ref.outputs(spec.cell, len(spec.hidden), spec.bidirectional, p, seqs)
    tol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(out, want, rtol=tol, atol=tol)


@SETTINGS
@given(networks(), st.integers(0, 4))
def test_padding_and_batch_mates_never_change_a_sequence(case, extra_pad):
    """Output: bitwise equal alone or in any batch; gradient: the batch's is the mean of the parts."""
    spec, lengths, dtype, seed = case
    flat, X, y = _data(spec, lengths, dtype, seed, extra_pad=extra_pad)
    out = forward(spec, flat, X, lengths)
    out_seq = forward(spec, flat, X, lengths, return_sequences=True)
    rev = np.arange(len(lengths))[::-1]
    np.testing.assert_array_equal(forward(spec, flat, X[rev], lengths[rev]), out[rev])
    total = np.zeros(flat.shape, dtype=np.float64)
    for i, L in enumerate(lengths):
        alone = forward(spec, flat, X[i:i + 1, :L], lengths[i:i + 1])
        np.testing.assert_array_equal(alone[0], out[i])
        alone_seq = forward(spec, flat, X[i:i + 1, :L], lengths[i:i + 1], return_sequences=True)
        np.testing.assert_array_equal(alone_seq[0], out_seq[i, :L])
        g = np.empty_like(flat)
        loss_and_grad(spec, flat, g, X[i:i + 1, :L], lengths[i:i + 1], y[i:i + 1], np.ones(1),
                      "squared_error", use_blas=False, clip_norm=None)
        total += g
    g = np.empty_like(flat)
    loss_and_grad(spec, flat, g, X, lengths, y, np.ones(len(lengths)), "squared_error",
                  use_blas=False, clip_norm=None)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(g, total / len(lengths), rtol=tol, atol=tol)
