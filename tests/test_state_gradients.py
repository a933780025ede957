"""Gradients through the initial and final states of the network driver (what a decoder needs).

``stack_backward`` takes gradients with respect to the final states
``(h_n, c_n)`` of every layer and direction and returns those with respect
to the initial states; checked against the plain-NumPy reference
(``tests/reference.py``) and against finite differences, for every cell,
stacked and bidirectional, on a ragged batch; the CUDA driver against the
CPU one. ``step`` (one timestep from carried states) equals
``stack_forward`` over the whole sequence bit for bit.
"""

import numpy as np
import pytest

import reference as ref
from conftest import CELLS, make_params
from cuda_support import fast_simulator  # noqa: F401 - fixture
from sklstm import _network as net
from sklstm._network import NetworkSpec

LENGTHS = np.array([5, 4, 4, 2, 1], dtype=np.int64)  # sorted decreasing, ragged
SHAPES = [((3,), False), ((3, 2), True)]


def _problem(rng, cell, hidden, bidirectional, dt=np.float64):
    """Random parameters, time-major input, initial states and upstream gradients."""
    spec = NetworkSpec(cell, 2, hidden, bidirectional, 1)
    flat = make_params(spec, rng, dt)
    T, B = int(LENGTHS.max()), len(LENGTHS)
    valid = np.arange(T)[:, None] < LENGTHS[None, :]
    x = rng.standard_normal((T, B, 2)).astype(dt) * valid[:, :, None]
    cellstate = net.has_cell_state(cell)
    states = [[(rng.standard_normal((B, h)).astype(dt),
                rng.standard_normal((B, h)).astype(dt) if cellstate else None)
               for _ in range(spec.n_dirs)] for h in hidden]
    dtop = rng.standard_normal((T, B, spec.head_size)).astype(dt) * valid[:, :, None]
    dfinal = [[(rng.standard_normal((B, h)).astype(dt),
                rng.standard_normal((B, h)).astype(dt) if cellstate else None)
               for _ in range(spec.n_dirs)] for h in hidden]
    return spec, flat, x, states, dtop, dfinal


def _objective(spec, flat, x, states, dtop, dfinal):
    """sum(top * dtop) + sum over layers and directions of h_n * dh_n (+ c_n * dc_n)."""
    top, _, final = net.stack_forward(net.Pass(spec, spec.views(flat), LENGTHS), x, states)
    total = float(np.sum(top * dtop))
    for row, drow in zip(final, dfinal):
        for (h, c), (dh, dc) in zip(row, drow):
            total += float(np.sum(h * dh)) + (0.0 if c is None else float(np.sum(c * dc)))
    return total


def _driver(spec, flat, x, states, dtop, dfinal):
    """Parameter gradient (flat) and initial-state gradients from the CPU driver."""
    grad = np.zeros_like(flat)
    p = net.Pass(spec, spec.views(flat), LENGTHS, keep=True)
    _, tape, _ = net.stack_forward(p, x, states)
    dx, dstates0 = net.stack_backward(p, spec.views(grad), dtop, tape, dfinal, input_grad=True)
    return grad, dstates0, dx


@pytest.mark.parametrize("hidden,bidirectional", SHAPES)
@pytest.mark.parametrize("cell", CELLS)
def test_state_gradients_match_the_reference(rng, cell, hidden, bidirectional):
    spec, flat, x, states, dtop, dfinal = _problem(rng, cell, hidden, bidirectional)
    grad, dstates0, dx = _driver(spec, flat, x, states, dtop, dfinal)
    p = {k: np.array(val, dtype=float) for k, val in spec.views(flat).items()}
    want = {k: np.zeros_like(val) for k, val in p.items()}
    dirs, H0 = spec.n_dirs, hidden[0]
    for b, L in enumerate(LENGTHS):
        zeros = lambda h: np.zeros(h)  # noqa: E731 - cells without c carry zeros in the reference
        init = [(states[layer][d][0][b], zeros(h) if states[layer][d][1] is None else states[layer][d][1][b])
                for layer, h in enumerate(hidden) for d in range(dirs)]
        dfin = [(dfinal[layer][d][0][b], zeros(h) if dfinal[layer][d][1] is None else dfinal[layer][d][1][b])
                for layer, h in enumerate(hidden) for d in range(dirs)]
        _, record = ref.network_forward(cell, len(hidden), bidirectional, p, x[:L, b], init=init)
        dxs, dinit = ref.network_backward(cell, len(hidden), bidirectional, p, dtop[:L, b], record, want,
                                          dfinal=dfin)
        np.testing.assert_allclose(dx[:L, b], dxs, rtol=1e-9, atol=1e-11)
        for layer in range(len(hidden)):
            for d in range(dirs):
                dh0, dc0 = dstates0[layer][d]
                np.testing.assert_allclose(dh0[b], dinit[layer * dirs + d][0], rtol=1e-9, atol=1e-11,
                                           err_msg=f"dh0 layer {layer} dir {d} row {b}")
                if dc0 is not None:
                    np.testing.assert_allclose(dc0[b], dinit[layer * dirs + d][1], rtol=1e-9, atol=1e-11,
                                               err_msg=f"dc0 layer {layer} dir {d} row {b}")
    g = spec.views(grad)
    for k in want:
        if k.startswith("rnn."):
            np.testing.assert_allclose(g[k], want[k], rtol=1e-9, atol=1e-11, err_msg=k)
    assert H0 and np.abs(dstates0[0][0][0]).max() > 0


@pytest.mark.parametrize("hidden,bidirectional", SHAPES)
@pytest.mark.parametrize("cell", CELLS)
def test_state_gradients_match_finite_differences(rng, cell, hidden, bidirectional):
    spec, flat, x, states, dtop, dfinal = _problem(rng, cell, hidden, bidirectional)
    grad, dstates0, _ = _driver(spec, flat, x, states, dtop, dfinal)
    eps = 1e-6
    checked = 0
    for layer in range(len(hidden)):
        for d in range(spec.n_dirs):
            for which in (0, 1):
                if states[layer][d][which] is None:
                    assert dstates0[layer][d][which] is None
                    continue
                arr = states[layer][d][which]
                for b in (0, len(LENGTHS) - 1):  # the longest and the one-step sequence
                    j = int(rng.integers(arr.shape[1]))
                    old = arr[b, j]
                    arr[b, j] = old + eps
                    up = _objective(spec, flat, x, states, dtop, dfinal)
                    arr[b, j] = old - eps
                    down = _objective(spec, flat, x, states, dtop, dfinal)
                    arr[b, j] = old
                    fd = (up - down) / (2 * eps)
                    got = dstates0[layer][d][which][b, j]
                    assert got == pytest.approx(fd, rel=1e-6, abs=1e-8), (layer, d, which, b)
                    checked += 1
    for i in rng.choice(flat.size - spec.n_outputs * (spec.head_size + 1), size=8, replace=False):
        old = flat[i]
        flat[i] = old + eps
        up = _objective(spec, flat, x, states, dtop, dfinal)
        flat[i] = old - eps
        down = _objective(spec, flat, x, states, dtop, dfinal)
        flat[i] = old
        assert grad[i] == pytest.approx((up - down) / (2 * eps), rel=1e-6, abs=1e-8), i
    assert checked >= 2 * len(hidden) * spec.n_dirs


@pytest.mark.parametrize("cell", CELLS)
def test_without_final_state_gradients_nothing_changes(rng, cell):
    """dstates=None (the estimators' training) equals explicit zeros, and the kernels leave no trace."""
    spec, flat, x, states, dtop, dfinal = _problem(rng, cell, (3, 2), False)
    zeros = [[(np.zeros_like(h), None if c is None else np.zeros_like(c)) for h, c in row] for row in dfinal]
    g1, s1, _ = _driver(spec, flat, x, states, dtop, None)
    g2, s2, _ = _driver(spec, flat, x, states, dtop, zeros)
    np.testing.assert_array_equal(g1, g2)
    for r1, r2 in zip(s1, s2):
        for (h1, c1), (h2, c2) in zip(r1, r2):
            np.testing.assert_array_equal(h1, h2)
            assert (c1 is None) == (c2 is None)
    copy = [[(h.copy(), None if c is None else c.copy()) for h, c in row] for row in dfinal]
    _driver(spec, flat, x, states, dtop, dfinal)
    for r, rc in zip(dfinal, copy):  # the caller's gradients are not overwritten
        for (h, c), (hc, cc) in zip(r, rc):
            np.testing.assert_array_equal(h, hc)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("cell", CELLS)
def test_step_equals_the_whole_sequence_bit_for_bit(rng, cell, dt):
    spec = NetworkSpec(cell, 3, (4, 3), False, 1)
    flat = make_params(spec, rng, dt)
    v = spec.views(flat)
    B, T = 5, 6
    x = rng.standard_normal((T, B, 3)).astype(dt)
    states = [[(rng.standard_normal((B, h)).astype(dt),
                rng.standard_normal((B, h)).astype(dt) if net.has_cell_state(cell) else None)]
              for h in spec.hidden]
    lens = np.full(B, T, dtype=np.int64)
    top, _, final = net.stack_forward(net.Pass(spec, v, lens, use_blas=False), x, states)
    st = states
    for t in range(T):
        st, out = net.step(spec, v, st, x[t])
        np.testing.assert_array_equal(out, top[t])
    for row, frow in zip(st, final):
        for (h, c), (fh, fc) in zip(row, frow):
            np.testing.assert_array_equal(h, fh)
            if c is not None:
                np.testing.assert_array_equal(c, fc)


def test_step_refuses_a_bidirectional_network(rng):
    spec = NetworkSpec("lstm", 2, (3,), True, 1)
    with pytest.raises(ValueError, match="bidirectional"):
        net.step(spec, spec.views(make_params(spec, rng)), net.zero_states(spec, 1, np.float64),
                 np.zeros((1, 2)))


@pytest.mark.parametrize("hidden,bidirectional", SHAPES)
@pytest.mark.parametrize("cell", CELLS)
def test_cuda_driver_state_gradients_match_the_cpu_driver(rng, cell, hidden, bidirectional):
    from cuda_support import cuda_status

    ok, reason = cuda_status()
    if not ok:
        pytest.skip(reason)
    from numba import cuda

    from sklstm import _cuda_network as dnet

    spec, flat, x, states, dtop, dfinal = _problem(rng, cell, hidden, bidirectional)
    grad, dstates0, dx = _driver(spec, flat, x, states, dtop, dfinal)
    dev = lambda a: None if a is None else cuda.to_device(np.ascontiguousarray(a))  # noqa: E731
    ws = dnet.DeviceWorkspace()
    flat_d, grad_d = cuda.to_device(flat), cuda.to_device(np.zeros_like(flat))
    p = dnet.Pass(spec, spec.views(flat_d), cuda.to_device(LENGTHS), ws, keep=True)
    st = [[(dev(h), dev(c)) for h, c in row] for row in states]
    _, tape, _ = dnet._stack_forward(p, cuda.to_device(x), st)
    dx_d, dstates0_d = dnet._stack_backward(p, spec.views(grad_d), cuda.to_device(dtop), tape,
                                            [[(dev(h), dev(c)) for h, c in row] for row in dfinal],
                                            input_grad=True)
    np.testing.assert_allclose(grad_d.copy_to_host(), grad, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx_d.copy_to_host(), dx, rtol=1e-10, atol=1e-12)
    for row, drow in zip(dstates0, dstates0_d):
        for (h, c), (hd, cd) in zip(row, drow):
            np.testing.assert_allclose(hd.copy_to_host(), h, rtol=1e-10, atol=1e-12)
            assert (c is None) == (cd is None)
            if c is not None:
                np.testing.assert_allclose(cd.copy_to_host(), c, rtol=1e-10, atol=1e-12)
