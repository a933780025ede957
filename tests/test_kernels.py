"""The compiled kernels equal the plain-NumPy reference (tests/reference.py).

Forward outputs, the loss and every gradient: to 1e-10 in float64 and 1e-4
(relative) in float32, over every cell, stacked and bidirectional networks,
ragged lengths and the edge shapes T=1, batch 1, hidden 1.
"""

import numpy as np
import pytest

import reference as ref
from conftest import CELLS, make_batch, make_params, make_targets, per_sequence_targets
from driver import forward, loss_and_grad
from sklstm._network import NetworkSpec

LOSSES = ["squared_error", "softmax", "logistic", "multilabel"]


def _compare(cell, hidden, bidirectional, lengths, n_features, n_out, loss, return_sequences, dtype,
             rng, alpha=0.0, bptt_steps=None):
    spec = NetworkSpec(cell, n_features, tuple(hidden), bidirectional, n_out)
    flat = make_params(spec, rng, dtype)
    X, lengths, seqs = make_batch(rng, lengths, n_features, dtype)
    y = make_targets(rng, loss, len(lengths), n_out, lengths if return_sequences else None)
    w = rng.uniform(0.5, 1.5, len(lengths))
    grad = np.empty_like(flat)
    got = loss_and_grad(spec, flat, grad, X, lengths, y, w, loss, alpha=alpha,
                        return_sequences=return_sequences, bptt_steps=bptt_steps, clip_norm=None)
    p = {k: v.astype(np.float64) for k, v in spec.views(flat).items()}
    want, want_g = ref.loss_and_grads(cell, len(hidden), bidirectional, p,
                                      [s.astype(dtype).astype(np.float64) for s in seqs],
                                      per_sequence_targets(y, lengths, return_sequences), w, loss,
                                      return_sequences=return_sequences, alpha=alpha,
                                      bptt_steps=bptt_steps)
    out = forward(spec, flat, X, lengths, return_sequences=return_sequences)
    want_out = ref.outputs(cell, len(hidden), bidirectional, p, [s.astype(dtype) for s in seqs],
                           return_sequences)
    if dtype == np.float64:
        tol = dict(rtol=1e-10, atol=1e-10)
    else:
        tol = dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got, want, **tol)
    g = spec.views(grad)
    for k in want_g:
        np.testing.assert_allclose(g[k], want_g[k], err_msg=k, **tol)
    if return_sequences:
        for i, L in enumerate(lengths):
            np.testing.assert_allclose(out[i, :L], want_out[i], **tol)
            assert np.isnan(out[i, L:]).all()
    else:
        np.testing.assert_allclose(out, want_out, **tol)
    return spec, flat, grad


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_stacked_ragged_matches_reference(cell, bidirectional, dtype, rng):
    _compare(cell, (5, 3), bidirectional, [4, 7, 1, 5], 3, 2, "squared_error", False, dtype, rng,
             alpha=0.01)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("cell", CELLS)
def test_losses_and_per_step_outputs_match_reference(cell, loss, rng):
    n_out = 1 if loss == "logistic" else 3
    _compare(cell, (4,), False, [3, 6, 2], 2, n_out, loss, True, np.float64, rng)
    _compare(cell, (4,), True, [3, 6, 2], 2, n_out, loss, False, np.float64, rng)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("shape", [
    dict(lengths=[1], hidden=(1,), n_features=1),          # batch 1, T=1, hidden 1
    dict(lengths=[1, 1, 1], hidden=(2,), n_features=4),    # T=1 for all
    dict(lengths=[6], hidden=(1, 1), n_features=2),        # batch 1, stacked hidden 1
    dict(lengths=[2, 9, 9, 1, 3], hidden=(3,), n_features=1),
])
def test_edge_shapes_match_reference(cell, shape, rng):
    for bidirectional in (False, True):
        _compare(cell, shape["hidden"], bidirectional, shape["lengths"], shape["n_features"], 2,
                 "squared_error", False, np.float64, rng)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_truncated_bptt_matches_reference(cell, return_sequences, rng):
    """bptt_steps=k: state carried, gradients stopped at chunk boundaries."""
    for k in (1, 2, 3):
        _compare(cell, (4, 3), False, [7, 5, 2, 6], 2, 2, "squared_error", return_sequences,
                 np.float64, rng, bptt_steps=k)


@pytest.mark.parametrize("cell", CELLS)
def test_truncated_bptt_with_k_at_least_T_equals_full(cell, rng):
    spec = NetworkSpec(cell, 2, (3,), False, 1)
    flat = make_params(spec, rng)
    X, lengths, _ = make_batch(rng, [5, 3, 4], 2)
    y = rng.standard_normal((3, 1))
    w = np.ones(3)
    full = np.empty_like(flat)
    trunc = np.empty_like(flat)
    a = loss_and_grad(spec, flat, full, X, lengths, y, w, "squared_error")
    for k in (5, 6, 100):
        b = loss_and_grad(spec, flat, trunc, X, lengths, y, w, "squared_error", bptt_steps=k)
        assert a == b
        np.testing.assert_array_equal(full, trunc)
    # and with k < T the gradients do differ (truncation is real)
    loss_and_grad(spec, flat, trunc, X, lengths, y, w, "squared_error", bptt_steps=2)
    assert not np.allclose(full, trunc)


def test_blas_and_fixed_order_products_agree(rng):
    spec = NetworkSpec("lstm", 3, (6, 4), True, 2)
    flat = make_params(spec, rng)
    X, lengths, _ = make_batch(rng, [5, 2, 7], 3)
    y = rng.standard_normal((3, 2))
    g1, g2 = np.empty_like(flat), np.empty_like(flat)
    a = loss_and_grad(spec, flat, g1, X, lengths, y, np.ones(3), "squared_error", use_blas=True)
    b = loss_and_grad(spec, flat, g2, X, lengths, y, np.ones(3), "squared_error", use_blas=False)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(g1, g2, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_batch_split_across_threads_matches_reference(cell, return_sequences, rng):
    """n_threads > 1: a fixed partition, gradients summed in order: same values, reproducible."""
    spec = NetworkSpec(cell, 3, (4, 3), cell != "rnn", 2)
    flat = make_params(spec, rng)
    lengths = rng.integers(1, 9, size=40)
    X, lengths, seqs = make_batch(rng, lengths, 3)
    y = make_targets(rng, "squared_error", 40, 2, lengths if return_sequences else None)
    w = rng.uniform(0.5, 1.5, 40)
    one, two, again = (np.empty_like(flat) for _ in range(3))
    kw = dict(alpha=0.01, return_sequences=return_sequences, clip_norm=None)
    a = loss_and_grad(spec, flat, one, X, lengths, y, w, "squared_error", **kw)
    b = loss_and_grad(spec, flat, two, X, lengths, y, w, "squared_error", n_threads=2, **kw)
    c = loss_and_grad(spec, flat, again, X, lengths, y, w, "squared_error", n_threads=2, **kw)
    np.testing.assert_allclose(b, a, rtol=1e-12)
    np.testing.assert_allclose(two, one, rtol=1e-10, atol=1e-13)
    assert b == c
    np.testing.assert_array_equal(two, again)


@pytest.mark.parametrize("forget", [True, False])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("D,H,lengths", [
    (3, 6, [7, 7, 5, 2, 1]),
    (256, 6, [7, 7, 5, 2, 1]),  # 256 = _gemm.KC, the widest input the kernel takes
    (3, 35, [6, 4, 1, 1, 1]),   # whole panels plus a partial one; one running row; a step with none
])
def test_lstm_inference_kernel_matches_training_forward(forget, reverse, dtype, D, H, lengths, rng):
    """The gate-major inference kernel gives the training forward's outputs and final states, bitwise."""
    from sklstm._kernels._gemm import KC
    from sklstm._kernels.head import linear_forward
    from sklstm._kernels.lstm import lstm_forward, lstm_infer

    assert D <= KC
    T, B, G = 7, 5, 4 if forget else 3
    lengths = np.array(lengths, dtype=np.int64)
    x = rng.normal(size=(T, B, D)).astype(dtype)
    for t in range(T):  # padding steps hold garbage: neither kernel may read it
        x[t, lengths <= t] = np.nan
    w_ih_t = rng.normal(size=(D, G * H)).astype(dtype)
    b_ih = rng.normal(size=G * H).astype(dtype)
    whh_t = (0.4 * rng.normal(size=(H, G * H))).astype(dtype)
    bhh = rng.normal(size=G * H).astype(dtype)
    h0 = rng.normal(size=(B, H)).astype(dtype)
    c0 = rng.normal(size=(B, H)).astype(dtype)
    new = lambda *shape: np.full(shape, 7.0, dtype=dtype)  # noqa: E731 - never-written values show
    hs, hprev, cs, tcs = new(T, B, H), new(T, B, H), new(T, B, H), new(T, B, H)
    h_n, c_n = new(B, H), new(B, H)
    xproj = new(T * B, G * H)
    linear_forward(x.reshape(T * B, D), w_ih_t, b_ih, xproj, False)
    xproj = xproj.reshape(T, B, G * H)
    lstm_forward(xproj, whh_t, bhh, lengths, reverse, forget, h0, c0, hs, hprev, cs, tcs,
                 new(T, B, G * H), h_n, c_n, new(B, G * H), False, 0, B)
    hs2, h2, c2 = new(T, B, H), new(B, H), new(B, H)
    lstm_infer(x.reshape(T * B, D), w_ih_t, b_ih, bhh, whh_t, lengths, reverse, forget, h0, c0, hs2, h2, c2)
    # bitwise: prediction switches between the two kernels by batch size
    np.testing.assert_array_equal(hs2, hs)
    np.testing.assert_array_equal(h2, h_n)
    np.testing.assert_array_equal(c2, c_n)
    assert not np.isnan(hs2).any() and (hs2[np.arange(T)[:, None] >= lengths[None, :]] == 0).all()


@pytest.mark.parametrize("cell", ["lstm", "lstm1997"])
def test_prediction_with_inputs_wider_than_a_product_block_is_batch_independent(cell, rng):
    """Inputs wider than _gemm.KC go through the per-row kernel in a batch too: same bits as alone."""
    from sklstm._kernels._gemm import KC
    from driver import forward

    spec = NetworkSpec(cell, KC + 9, (5,), True, 2)
    flat = make_params(spec, rng, np.float32)
    lengths = np.array([4, 6, 3, 6, 5], dtype=np.int64)
    X = rng.normal(size=(5, 6, KC + 9)).astype(np.float32)
    out = forward(spec, flat, X, lengths)
    for i, L in enumerate(lengths):
        np.testing.assert_array_equal(forward(spec, flat, X[i:i + 1, :L], lengths[i:i + 1])[0], out[i])


def test_parameter_views_follow_the_array_and_stay_out_of_pickles(rng):
    import pickle

    spec = NetworkSpec("lstm", 3, (4,), False, 1)
    a = make_params(spec, rng, np.float32)
    b = a.copy()
    va = spec.views(a)
    assert spec.views(a) is va  # kept for the same array
    vb = spec.views(b)
    assert all(np.shares_memory(vb[k], b) and not np.shares_memory(vb[k], a) for k in vb)
    a[:] += 1  # in-place updates show through the kept views
    assert np.array_equal(spec.views(a)["head.bias"], a[-1:])
    clone = pickle.loads(pickle.dumps(spec))
    assert "_views" not in clone.__dict__ and clone == spec and hash(clone) == hash(spec)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gate_nonlinearities_are_accurate_odd_and_bounded(dtype):
    """tanh_s / sigmoid_s against float64 numpy: the float32 rational approximation within 4e-7."""
    import numba

    from sklstm._kernels._math import sigmoid_s, tanh_s

    @numba.njit(error_model="numpy")
    def both(x, t, s):
        for i in range(x.shape[0]):
            t[i] = tanh_s(x[i])
            s[i] = sigmoid_s(x[i])

    x = np.concatenate([np.linspace(-12, 12, 600_001), np.linspace(-1e-3, 1e-3, 20_001),
                        [0.0, 40.0, -40.0, 1e30, -1e30]]).astype(dtype)
    t, s = np.empty_like(x), np.empty_like(x)
    both(x, t, s)
    x64 = x.astype(np.float64)
    tol_t, tol_s = (4e-7, 2.5e-7) if dtype == np.float32 else (1e-15, 1e-15)
    assert np.abs(t - np.tanh(x64)).max() < tol_t
    with np.errstate(over="ignore"):
        assert np.abs(s - 1.0 / (1.0 + np.exp(-x64))).max() < tol_s
    both(-x, t2 := np.empty_like(x), np.empty_like(x))
    np.testing.assert_array_equal(t2, -t)  # odd, bit for bit
    assert np.abs(t).max() <= 1.0 and s.min() >= 0.0 and s.max() <= 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gate_activation_is_sigmoid_or_tanh(dtype):
    """gate_s with the LSTM kernels' constants: bitwise sigmoid_s / tanh_s in float32, and in
    float64 the sigmoid keeps its relative accuracy far into the negative tail."""
    import numba

    from sklstm._kernels._math import gate_s, sigmoid_s, tanh_s

    @numba.njit(error_model="numpy")
    def run(x, half, one, zero, out):
        for i in range(x.shape[0]):
            out[0, i] = gate_s(x[i], half, half, half, False)
            out[1, i] = gate_s(x[i], one, one, zero, True)
            out[2, i] = sigmoid_s(x[i])
            out[3, i] = tanh_s(x[i])

    x = np.concatenate([np.linspace(-60, 60, 100_001), [0.0, -0.0, 1e-30, -1e30]]).astype(dtype)
    out = np.empty((4, x.size), dtype)
    run(x, dtype(0.5), dtype(1), dtype(0), out)
    np.testing.assert_array_equal(out[0], out[2])
    np.testing.assert_array_equal(out[1], out[3])
    if dtype == np.float64:
        neg = (x < -20) & (x > -700)  # the sigmoid underflows to 0 below about -745
        exact = 1.0 / (1.0 + np.exp(-x[neg]))
        assert np.abs(out[0, neg] / exact - 1).max() < 1e-14


def test_prefer_wide_vectors_gives_512_bit_loops_where_the_cpu_has_them():
    """The function attribute reaches LLVM: a plain loop uses zmm registers on AVX-512 CPUs."""
    import numba

    from sklstm._kernels._gemm import VECTOR_BYTES
    from sklstm._kernels._math import prefer_wide_vectors

    def wide(x, y):
        prefer_wide_vectors()
        for i in range(x.shape[0]):
            y[i] = x[i] * np.float32(3.0) + y[i]

    def plain(x, y):
        for i in range(x.shape[0]):
            y[i] = x[i] * np.float32(3.0) + y[i]

    x = np.ones(1000, np.float32)
    asm = {}
    for name, fn in (("wide", wide), ("plain", plain)):
        f = numba.njit(error_model="numpy")(fn)  # fresh and uncached: its assembly can be read
        y = np.ones(1000, np.float32)
        f(x, y)
        assert (y == 4.0).all()
        asm[name] = "\n".join(f.inspect_asm().values())
    if VECTOR_BYTES == 64:
        assert "zmm" in asm["wide"]
    else:
        assert "zmm" not in asm["wide"]
