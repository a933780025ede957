"""Every CUDA kernel against its CPU twin (run under the CUDA simulator without a GPU)."""

import numpy as np
import pytest
from conftest import CELLS, make_batch, make_params, make_targets
from cuda_support import fast_simulator, require_cuda, to_dev  # noqa: F401 - fixture

from sklstm._kernels import gru as cpu_gru, lstm as cpu_lstm, optim as cpu_optim, rnn as cpu_rnn
from sklstm._kernels.head import clip_by_value, global_norm, scale_inplace
from sklstm._losses import LOSSES, loss_and_output_grad
from driver import forward as cpu_forward, loss_and_grad as cpu_loss_and_grad, objective
from sklstm._network import NetworkSpec

pytestmark = require_cuda()

from numba import cuda  # noqa: E402

TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-11, atol=1e-12)}
LENGTHS = np.array([5, 5, 3, 1], dtype=np.int64)  # sorted, ragged, with padding
H = 3


def _cell_inputs(rng, cell, dt):
    G = {"lstm": 4, "lstm1997": 3, "gru": 3, "rnn": 1}[cell] * H
    T, B = int(LENGTHS.max()), len(LENGTHS)
    xproj = rng.standard_normal((T, B, G)).astype(dt)
    whh = (0.5 * rng.standard_normal((G, H))).astype(dt)
    bhh = rng.standard_normal(G).astype(dt)
    h0 = rng.standard_normal((B, H)).astype(dt)
    c0 = rng.standard_normal((B, H)).astype(dt)
    dhs = rng.standard_normal((T, B, H)).astype(dt)
    dhs[np.arange(T)[:, None] >= LENGTHS[None, :]] = 0.0
    return xproj, whh, bhh, h0, c0, dhs


def _incoming(dstate, i, dt):
    """A fresh copy of the incoming state gradient ``dstate[i]`` (zeros when None): the kernels update it."""
    B = len(LENGTHS)
    return np.zeros((B, H), dtype=dt) if dstate is None else np.array(dstate[i], dtype=dt)


def _cpu_cell(cell, xproj, whh, bhh, reverse, h0, c0, dhs, S, dstate=None):
    """``dstate``: incoming gradients (dh_n, dc_n) on the final states (default zeros)."""
    from sklstm._kernels.cuda import gru, lstm, rnn  # noqa: F401 - imported for the GPU half

    T, B, G = xproj.shape
    dt = xproj.dtype
    whh_t = np.ascontiguousarray(whh.T)
    e = lambda *s: np.zeros(s, dtype=dt)  # noqa: E731
    hs, hprev, h_n, c_n = e(T, B, H), e(S, B, H), e(B, H), e(B, H)
    out = {}
    if cell in ("lstm", "lstm1997"):
        cs, tcs, gates = e(S, B, H), e(S, B, H), e(T, B, G)
        cpu_lstm.lstm_forward(xproj.copy(), whh_t, bhh, LENGTHS, reverse, cell == "lstm", h0, c0,
                              hs, hprev, cs, tcs, gates, h_n, c_n, e(B, G), True, 0, B)
        out.update(hs=hs, hprev=hprev, cs=cs, tcs=tcs, gates=gates, h_n=h_n, c_n=c_n)
        if S == T:
            dg, dh0, dc0 = e(T, B, G), _incoming(dstate, 0, dt), _incoming(dstate, 1, dt)
            cpu_lstm.lstm_backward(dhs, gates, cs, tcs, c0, whh, LENGTHS, reverse, cell == "lstm",
                                   dg, dh0, dc0, True, 0, B)
            out.update(dgates=dg, dh0=dh0, dc0=dc0)
    elif cell == "gru":
        gates, hn = e(S, B, G), e(S, B, H)
        cpu_gru.gru_forward(xproj, whh_t, bhh, LENGTHS, reverse, h0, hs, hprev, gates, hn, h_n, e(B, G), True,
                            0, B)
        out.update(hs=hs, hprev=hprev, gates=gates, hn=hn, h_n=h_n)
        if S == T:
            dgx, dgh, dh0 = e(T, B, G), e(T, B, G), _incoming(dstate, 0, dt)
            cpu_gru.gru_backward(dhs, gates, hn, hprev, whh, LENGTHS, reverse, dgx, dgh, dh0, True, 0, B)
            out.update(dgx=dgx, dgh=dgh, dh0=dh0)
    else:
        cpu_rnn.rnn_forward(xproj, whh_t, bhh, LENGTHS, reverse, h0, hs, hprev, h_n, e(B, H), True, 0, B)
        out.update(hs=hs, hprev=hprev, h_n=h_n)
        if S == T:
            dg, dh0 = e(T, B, H), _incoming(dstate, 0, dt)
            cpu_rnn.rnn_backward(dhs, hs, whh, LENGTHS, reverse, dg, dh0, True, 0, B)
            out.update(dgates=dg, dh0=dh0)
    return out


def _gpu_cell(cell, xproj, whh, bhh, reverse, h0, c0, dhs, S, dstate=None):
    from sklstm._kernels.cuda import gru, lstm, rnn

    T, B, G = xproj.shape
    dt = xproj.dtype
    d = lambda *s: cuda.to_device(np.full(s, np.nan, dtype=dt))  # noqa: E731 - NaN: unwritten shows
    xp, whh_d, whh_t, bhh_d, h0_d, c0_d, dhs_d, lens = to_dev(
        xproj.copy(), whh, np.ascontiguousarray(whh.T), bhh, h0, c0, dhs, LENGTHS)
    hs, hprev, h_n, c_n = d(T, B, H), d(S, B, H), d(B, H), d(B, H)
    res = {}
    if cell in ("lstm", "lstm1997"):
        cs, tcs = d(S, B, H), d(S, B, H)
        lstm.lstm_forward(xp, whh_t, bhh_d, lens, reverse, cell == "lstm", h0_d, c0_d,
                          hs, hprev, cs, tcs, xp, h_n, c_n)  # gates computed in place, as the driver does
        res.update(hs=hs, hprev=hprev, cs=cs, tcs=tcs, gates=xp, h_n=h_n, c_n=c_n)
        if S == T:
            dg = d(T, B, G)
            dh0, dc0 = cuda.to_device(_incoming(dstate, 0, dt)), cuda.to_device(_incoming(dstate, 1, dt))
            lstm.lstm_backward(dhs_d, xp, cs, tcs, c0_d, whh_d, lens, reverse, cell == "lstm", dg, dh0, dc0)
            res.update(dgates=dg, dh0=dh0, dc0=dc0)
    elif cell == "gru":
        gates, hn = d(S, B, G), d(S, B, H)
        gru.gru_forward(xp, whh_t, bhh_d, lens, reverse, h0_d, hs, hprev, gates, hn, h_n, d(B, G))
        res.update(hs=hs, hprev=hprev, gates=gates, hn=hn, h_n=h_n)
        if S == T:
            dgx, dgh, dh0 = d(T, B, G), d(T, B, G), cuda.to_device(_incoming(dstate, 0, dt))
            gru.gru_backward(dhs_d, gates, hn, hprev, whh_d, lens, reverse, dgx, dgh, dh0)
            res.update(dgx=dgx, dgh=dgh, dh0=dh0)
    else:
        rnn.rnn_forward(xp, whh_t, bhh_d, lens, reverse, h0_d, hs, hprev, h_n, d(B, H))
        res.update(hs=hs, hprev=hprev, h_n=h_n)
        if S == T:
            dg, dh0 = d(T, B, H), cuda.to_device(_incoming(dstate, 0, dt))
            rnn.rnn_backward(dhs_d, hs, whh_d, lens, reverse, dg, dh0)
            res.update(dgates=dg, dh0=dh0)
    return {k: v.copy_to_host() for k, v in res.items()}


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_cell_kernels_match_cpu(rng, cell, reverse, dt):
    """Forward outputs and caches, and BPTT gradients, of each cell and direction."""
    args = _cell_inputs(rng, cell, dt)
    xproj, whh, bhh, h0, c0, dhs = args
    T = xproj.shape[0]
    dstate = (rng.standard_normal((len(LENGTHS), H)), rng.standard_normal((len(LENGTHS), H)))
    want = _cpu_cell(cell, xproj, whh, bhh, reverse, h0, c0, dhs, T, dstate)
    got = _gpu_cell(cell, xproj, whh, bhh, reverse, h0, c0, dhs, T, dstate)
    assert set(got) == set(want)
    zero = _cpu_cell(cell, xproj, whh, bhh, reverse, h0, c0, dhs, T)
    assert not np.allclose(zero["dh0"], want["dh0"])  # the incoming final-state gradient counts
    valid = np.arange(T)[:, None] < LENGTHS[None, :]
    for k in want:
        if k == "tcs":  # tanh(c) is neither written nor read at padding steps
            got[k], want[k] = got[k][valid], want[k][valid]
        np.testing.assert_allclose(got[k], want[k], err_msg=k, **TOL[dt])


@pytest.mark.parametrize("cell", CELLS)
def test_cell_kernels_inference_mode(rng, cell):
    """With caches of one step (prediction), outputs equal the training-mode run."""
    xproj, whh, bhh, h0, c0, dhs = _cell_inputs(rng, cell, np.float64)
    want = _cpu_cell(cell, xproj, whh, bhh, False, h0, c0, dhs, 1)
    got = _gpu_cell(cell, xproj, whh, bhh, False, h0, c0, dhs, 1)
    for k in ("hs", "h_n"):
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("K", [9, 45])  # one part; a long sum split into parts added in order
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("accumulate", [False, True])
def test_gemm_all_transposes(rng, ta, tb, accumulate, K):
    from sklstm._kernels.cuda._common import SPLIT_K
    from sklstm._kernels.cuda.blas import gemm

    assert (K > 2 * SPLIT_K) == (K == 45)
    M, N = 7, 5  # not multiples of the tile
    a = rng.standard_normal((K, M) if ta else (M, K))
    b = rng.standard_normal((N, K) if tb else (K, N))
    c = rng.standard_normal((M, N))
    bias = rng.standard_normal(N)
    want = (a.T if ta else a) @ (b.T if tb else b) + bias + (c if accumulate else 0.0)
    cd = cuda.to_device(c)
    gemm(*to_dev(a, b), cd, ta=ta, tb=tb, accumulate=accumulate, bias=cuda.to_device(bias))
    np.testing.assert_allclose(cd.copy_to_host(), want, rtol=1e-12, atol=1e-12)


def test_gemm_row_result_independent_of_other_rows(rng):
    """Fixed summation order: a row's product is bitwise the same in a taller matrix."""
    from sklstm._kernels.cuda.blas import gemm

    a = rng.standard_normal((9, 13)).astype(np.float32)
    b = rng.standard_normal((13, 6)).astype(np.float32)
    full, part = cuda.device_array((9, 6), np.float32), cuda.device_array((2, 6), np.float32)
    gemm(cuda.to_device(a), cuda.to_device(b), full)
    gemm(cuda.to_device(a[5:7].copy()), cuda.to_device(b), part)
    assert np.array_equal(full.copy_to_host()[5:7], part.copy_to_host())


def test_column_sums_and_transpose(rng):
    from sklstm._kernels.cuda.blas import column_sums, transpose

    a = rng.standard_normal((11, 4))
    out = cuda.to_device(np.ones(4))
    column_sums(cuda.to_device(a), out, accumulate=True)
    np.testing.assert_allclose(out.copy_to_host(), 1.0 + a.sum(axis=0), rtol=1e-12)
    t = cuda.device_array((4, 11))
    transpose(cuda.to_device(a), t)
    assert np.array_equal(t.copy_to_host(), a.T)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_losses_match_cpu(rng, loss, dt):
    from sklstm._kernels.cuda.head import loss_rows, reduce_sum

    n, k = 6, 3
    logits = (3 * rng.standard_normal((n, k))).astype(dt)
    if loss == "logistic":
        logits = logits[:, :1].copy()
        k = 1
    y = make_targets(rng, loss, n, k)
    w = rng.uniform(0.2, 2.0, n)
    want_loss, want_grad = loss_and_output_grad(loss, logits, y, w, 4.0)
    per, dl, stats = cuda.device_array(n), cuda.device_array((n, k), dt), cuda.device_array(4)
    y2 = np.asarray(y, dtype=np.float64).reshape(n, -1)
    loss_rows(loss, cuda.to_device(logits), cuda.to_device(y2), cuda.to_device(w), 4.0, per, dl)
    reduce_sum(per, stats, 0)
    assert stats.copy_to_host()[0] == pytest.approx(want_loss, rel=1e-12)
    np.testing.assert_allclose(dl.copy_to_host(), want_grad, **TOL[dt])


def test_reductions_clipping_and_l2(rng):
    from sklstm._kernels.cuda import head

    g = rng.standard_normal(37).astype(np.float32) * 3
    mask = (rng.random(37) < 0.5).astype(np.uint8)
    stats = cuda.to_device(np.zeros(4))
    gd = cuda.to_device(g)
    head.reduce_sum(gd, stats, 1, square=True, mask=cuda.to_device(mask), scale=0.5)
    head.reduce_sum(gd, stats, 2, square=True)
    s = stats.copy_to_host()
    assert s[1] == pytest.approx(0.5 * float((g[mask == 1].astype(np.float64) ** 2).sum()), rel=1e-12)
    exact = float(np.sqrt((g.astype(np.float64) ** 2).sum()))
    assert np.sqrt(s[2]) == pytest.approx(exact, rel=1e-12)
    assert exact == pytest.approx(global_norm(g), rel=1e-6)  # the CPU squares in float32
    for clip in (1.0, 100.0):  # clipping active, and not
        want = g.copy()
        norm = exact
        if norm > clip:
            scale_inplace(want, np.float32(clip / (norm + 1e-6)))
        got = cuda.to_device(g)
        head.clip_by_norm(got, stats, 2, clip)
        np.testing.assert_array_equal(got.copy_to_host(), want)
    want = g.copy()
    clip_by_value(want, np.float32(0.7))
    got = cuda.to_device(g)
    head.clip_by_value(got, 0.7)
    np.testing.assert_array_equal(got.copy_to_host(), want)
    flat = rng.standard_normal(37).astype(np.float32)
    got = cuda.to_device(g)
    head.add_l2(got, cuda.to_device(flat), cuda.to_device(mask), 0.25)
    want = g.copy()
    want[mask == 1] += np.float32(0.25) * flat[mask == 1]
    np.testing.assert_array_equal(got.copy_to_host(), want)


@pytest.mark.parametrize("solver", ["adam", "sgd", "sgd-plain", "rmsprop"])
def test_optimizer_kernels_match_cpu(rng, solver):
    from sklstm._kernels.cuda import optim

    n = 23
    p = rng.standard_normal(n).astype(np.float32)
    grads = [rng.standard_normal(n).astype(np.float32) for _ in range(3)]
    ok = cuda.to_device(np.zeros(4))
    pc, pd = p.copy(), cuda.to_device(p)
    s1, s2 = np.zeros(n, np.float32), np.zeros(n, np.float32)
    d1, d2 = cuda.to_device(s1), cuda.to_device(s2)
    for step, g in enumerate(grads, 1):
        gd = cuda.to_device(g)
        if solver == "adam":
            cpu_optim.adam_update(pc, g, s1, s2, 1e-2, 0.9, 0.999, 1e-8, step)
            optim.adam_update(pd, gd, d1, d2, 1e-2, 0.9, 0.999, 1e-8, step, ok)
        elif solver.startswith("sgd"):
            mom = 0.0 if solver == "sgd-plain" else 0.9
            cpu_optim.sgd_update(pc, g, s1, 0.1, mom, True, step == 1)
            optim.sgd_update(pd, gd, d1, 0.1, mom, True, step == 1, ok)
        else:
            cpu_optim.rmsprop_update(pc, g, s1, 1e-2, 0.9, 1e-8)
            optim.rmsprop_update(pd, gd, d1, 1e-2, 0.9, 1e-8, ok)
    np.testing.assert_allclose(pd.copy_to_host(), pc, rtol=1e-6, atol=1e-7)
    # a step whose loss or gradient norm is not finite changes nothing
    before = pd.copy_to_host()
    bad = cuda.to_device(np.array([np.nan, 0.0, 0.0, 0.0]))
    optim.adam_update(pd, cuda.to_device(grads[0]), d1, d2, 1e-2, 0.9, 0.999, 1e-8, 9, bad)
    assert np.array_equal(pd.copy_to_host(), before)


def test_philox_known_answers():
    """Philox-2x32-10 reproduces the Random123 known-answer vectors."""
    from numba import uint64

    from sklstm._kernels.cuda.head import philox2x32

    @cuda.jit
    def run(c, key, out):
        a, b = philox2x32(uint64(c[0]), uint64(c[1]), uint64(key[0]))
        out[0] = a
        out[1] = b

    cases = [((0, 0), 0, (0xff1dae59, 0x6cd10df2)),
             ((0xffffffff, 0xffffffff), 0xffffffff, (0x2c3f628b, 0xab4fd7ad)),
             ((0x243f6a88, 0x85a308d3), 0x13198a2e, (0xdd7ce038, 0xf62a4c12))]
    for ctr, key, want in cases:
        out = cuda.to_device(np.zeros(2, np.uint64))
        run[1, 1](cuda.to_device(np.array(ctr, np.uint64)), cuda.to_device(np.array([key], np.uint64)), out)
        assert tuple(int(v) for v in out.copy_to_host()) == want


def test_dropout_masks():
    from sklstm._kernels.cuda.head import dropout_mask

    def mask(key, stream, p=0.25, n=4000):
        out = cuda.device_array(n, np.float32)
        dropout_mask(out, key, stream, p)
        return out.copy_to_host()

    m = mask(7, 1)
    assert set(np.unique(m)) == {0.0, np.float32(1 / 0.75)}
    assert abs((m == 0).mean() - 0.25) < 0.03
    assert np.array_equal(m, mask(7, 1))  # counter-based: same key and stream, same mask
    assert not np.array_equal(m, mask(8, 1)) and not np.array_equal(m, mask(7, 2))
    assert (mask(3, 0, p=0.0) == 1.0).all()


CASES = [
    dict(cell="lstm", hidden=(4,)),
    dict(cell="lstm1997", hidden=(3,), loss="logistic", n_out=1),
    dict(cell="gru", hidden=(3, 2), bidirectional=True, loss="multilabel", alpha=0.1, clip_norm=0.5,
         dt=np.float32),
    dict(cell="rnn", hidden=(4,), bptt_steps=2, clip_value=0.1),
    dict(cell="lstm", hidden=(3, 2), bidirectional=True, loss="softmax"),
    dict(cell="lstm", hidden=(3,), loss="softmax", return_sequences=True, dt=np.float32),
    dict(cell="gru", hidden=(3,), return_sequences=True, bptt_steps=3),
    # token input through an embedding (id 0 = padding_idx also inside sequences: no gradient)
    dict(cell="lstm", hidden=(3,), vocab=6),
    dict(cell="gru", hidden=(3, 2), bidirectional=True, vocab=5, loss="softmax"),
    dict(cell="lstm", hidden=(3,), vocab=7, bptt_steps=2, return_sequences=True, loss="softmax",
         dt=np.float32),
]


def _driver_inputs(rng, case, lengths=(5, 3, 4, 1, 5)):
    dt = case.get("dt", np.float64)
    loss = case.get("loss", "squared_error")
    n_out = case.get("n_out", 2)
    X, L, _ = make_batch(rng, lengths, 3, dt)
    vocab = case.get("vocab", 0)
    if vocab:  # token ids (n, T, 1), zero at padding
        valid = np.arange(X.shape[1])[None, :, None] < L[:, None, None]
        X = rng.integers(0, vocab, size=X.shape[:2] + (1,)) * valid
    spec = NetworkSpec(case["cell"], 3, case["hidden"], case.get("bidirectional", False), n_out, vocab)
    flat = make_params(spec, rng, dt)
    rs = case.get("return_sequences", False)
    y = make_targets(rng, loss, len(L), n_out, L if rs else None)
    w = rng.uniform(0.5, 1.5, len(L))
    return spec, flat, X, L, y, w, loss, rs


def _gpu_loss_and_grad(spec, flat, X, L, y, w, loss, rs, idx=None, **kw):
    from sklstm import _cuda_network as cn

    ws = cn.DeviceWorkspace()
    Y, steps = cn.upload_targets(y, rs)
    fd, gd, st = cuda.to_device(flat), cuda.device_array_like(flat), cuda.device_array(4)
    idx = np.arange(len(L)) if idx is None else idx
    tokens = np.ascontiguousarray(X[:, :, 0]) if spec.vocab_size else None
    batch = cn.device_batch(cuda.to_device(X), L, idx, ws, tokens)
    key = kw.pop("key", 0)
    params = cn.DeviceParams(fd, gd, st, cuda.to_device(spec.weight_mask().astype(np.uint8)))
    targets = cn.DeviceTargets(Y, cuda.to_device(w.reshape(-1, 1)), steps)
    cn.loss_and_grad(objective(spec, loss, return_sequences=rs, **kw), params, batch, targets, ws, key)
    return st.copy_to_host()[0], gd.copy_to_host()


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_driver_loss_and_grad_matches_cpu(rng, case):
    """The whole training step (stacked, bidirectional, ragged, every loss, L2, clipping, truncated BPTT)."""
    spec, flat, X, L, y, w, loss, rs = _driver_inputs(rng, case)
    kw = {k: case[k] for k in ("alpha", "clip_norm", "clip_value", "bptt_steps") if k in case}
    grad = np.empty_like(flat)
    want = cpu_loss_and_grad(spec, flat, grad, X, L, y, w, loss, return_sequences=rs, **kw)
    got_loss, got_grad = _gpu_loss_and_grad(spec, flat, X, L, y, w, loss, rs, **kw)
    assert got_loss == pytest.approx(want, rel=1e-6 if flat.dtype == np.float32 else 1e-12)
    tol = TOL[flat.dtype.type]
    np.testing.assert_allclose(got_grad, grad, rtol=tol["rtol"] * 10, atol=tol["atol"] * 10)


def test_driver_batch_from_sample_indices(rng):
    """A batch picked by indices from the data on the device equals the same samples on the CPU."""
    spec, flat, X, L, y, w, loss, rs = _driver_inputs(rng, dict(cell="gru", hidden=(3,)))
    idx = np.array([4, 1, 2])
    grad = np.empty_like(flat)
    want = cpu_loss_and_grad(spec, flat, grad, X[idx], L[idx], y[idx], w[idx], loss)
    got_loss, got_grad = _gpu_loss_and_grad(spec, flat, X, L, y, w, loss, rs, idx=idx)
    assert got_loss == pytest.approx(want, rel=1e-12)
    np.testing.assert_allclose(got_grad, grad, rtol=1e-10, atol=1e-12)


def test_driver_dropout_gradient_is_exact(rng):
    """With dropout, the device gradient matches finite differences of the device loss (same key)."""
    spec, flat, X, L, y, w, loss, rs = _driver_inputs(rng, dict(cell="lstm", hidden=(3, 3)))
    kw = dict(dropout=0.3, key=1234)
    base, grad = _gpu_loss_and_grad(spec, flat, X, L, y, w, loss, rs, **kw)
    other, _ = _gpu_loss_and_grad(spec, flat, X, L, y, w, loss, rs, dropout=0.3, key=99)
    assert other != base  # the key changes the masks
    eps = 1e-6
    for i in np.random.default_rng(0).choice(flat.size, 6, replace=False):
        e = np.zeros_like(flat)
        e[i] = eps
        up, _ = _gpu_loss_and_grad(spec, flat + e, X, L, y, w, loss, rs, **kw)
        down, _ = _gpu_loss_and_grad(spec, flat - e, X, L, y, w, loss, rs, **kw)
        assert (up - down) / (2 * eps) == pytest.approx(grad[i], rel=1e-5, abs=1e-8)


@pytest.mark.parametrize("vocab", [0, 6])
@pytest.mark.parametrize("return_sequences,head", [(False, True), (True, True), (False, False)])
def test_forward_matches_cpu(rng, return_sequences, head, vocab):
    from sklstm._cuda_network import forward

    spec, flat, X, L, *_ = _driver_inputs(rng, dict(cell="lstm", hidden=(3, 2), bidirectional=True,
                                                    dt=np.float32, vocab=vocab))
    want = cpu_forward(spec, flat, X, L, return_sequences=return_sequences, head=head)
    got = forward(spec, flat, X, L, return_sequences=return_sequences, head=head, batch_size=2)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert np.array_equal(np.isnan(got), np.isnan(want))
