"""The register-blocked matrix product (sklstm._kernels._gemm) and its users in _ops.

Checked against float64 numpy products; rows must come out bitwise the same
whatever else is in the product (the predict path's batch independence rests
on it), through every code path: full tiles, single-row kernels, the edge
panel, K blocking, transposed A, accumulation, packed step weights.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel_entry import from_python
from sklstm._kernels import _gemm, _ops
from sklstm._kernels._gemm import KC, MR, VECTOR_BYTES
from sklstm._kernels._ops import add_weight_grad, matmul

# internal helpers (no Python entry point of their own), called through jitted forwarders
gemm, gemm_packed = from_python(_gemm.gemm), from_python(_gemm.gemm_packed)
packed, panel_width = from_python(_gemm.packed), from_python(_gemm.panel_width)
step_matmul, step_weights = from_python(_ops.step_matmul), from_python(_ops.step_weights)

DTYPES = [np.float32, np.float64]
TOL = {np.float32: 2e-6, np.float64: 1e-13}


def _close(c, ref, K, dt):
    assert c.shape == ref.shape
    if ref.size == 0:
        return
    scale = max(1.0, float(np.abs(ref).max()))
    assert np.abs(c.astype(np.float64) - ref).max() <= TOL[dt] * scale * max(K, 1) ** 0.5 * 4


def _operands(rng, M, K, N, dt, trans):
    a = rng.standard_normal((K, M) if trans else (M, K)).astype(dt)
    b = rng.standard_normal((K, N)).astype(dt)
    ref = (a.T if trans else a).astype(np.float64) @ b.astype(np.float64)
    return a, b, ref


SHAPES = [(1, 1, 1), (1, 32, 128), (2, 32, 160), (3, 5, 7), (MR, 16, 64), (MR + 1, 9, 33), (13, 7, 37),
          (64, 64, 256), (5, KC + 44, 70), (17, 2 * KC + 1, 3), (100, 5, 1), (0, 4, 4), (4, 0, 4), (4, 4, 0)]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("trans", [False, True])
@pytest.mark.parametrize("M,K,N", SHAPES)
def test_gemm_matches_float64_product(M, K, N, trans, dt):
    rng = np.random.default_rng(M * 1000 + K * 10 + N)
    a, b, ref = _operands(rng, M, K, N, dt, trans)
    c = np.full((M, N), np.nan, dtype=dt)
    gemm(a, trans, b, c, False)
    _close(c, ref, K, dt)
    c0 = rng.standard_normal((M, N)).astype(dt)
    c2 = c0.copy()
    gemm(a, trans, b, c2, True)
    _close(c2, ref + c0, K, dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("M,K,N", SHAPES)
def test_packed_product_and_rows_are_batch_independent(M, K, N, dt):
    rng = np.random.default_rng(7 + M + K + N)
    a, b, ref = _operands(rng, M, K, N, dt, False)
    bp = packed(b)
    assert bp.shape == (-(-N // panel_width(b)), K, panel_width(b))
    c = np.full((M, N), np.nan, dtype=dt)
    gemm_packed(a, bp, c, False)
    _close(c, ref, K, dt)
    if K <= KC:  # no K blocking: the packed and unpacked products are the same chains
        c_direct = np.empty((M, N), dtype=dt)
        gemm(a, False, b, c_direct, False)
        np.testing.assert_array_equal(c, c_direct)
    c_direct = np.empty((M, N), dtype=dt)
    gemm(a, False, b, c_direct, False)
    for i in range(M):  # each row alone (single-row kernels) == the row inside the batch (tiles)
        one = np.empty((1, N), dtype=dt)
        gemm_packed(a[i:i + 1], bp, one, False)
        np.testing.assert_array_equal(one[0], c[i])
        one = np.empty((1, N), dtype=dt)
        gemm(a[i:i + 1], False, b, one, False)
        np.testing.assert_array_equal(one[0], c_direct[i])
    acc = np.ones((M, N), dtype=dt)
    gemm_packed(a, bp, acc, True)
    _close(acc, ref + 1.0, K, dt)


@settings(max_examples=40, deadline=None)
@given(M=st.integers(1, 20), K=st.integers(1, 40), N=st.integers(1, 80), trans=st.booleans(),
       dt=st.sampled_from(DTYPES), seed=st.integers(0, 2**31))
def test_gemm_property_rows_and_values(M, K, N, trans, dt, seed):
    rng = np.random.default_rng(seed)
    a, b, ref = _operands(rng, M, K, N, dt, trans)
    c = np.empty((M, N), dtype=dt)
    gemm(a, trans, b, c, False)
    _close(c, ref, K, dt)
    rows = rng.permutation(M)[: rng.integers(1, M + 1)]
    sub = a[:, rows] if trans else a[rows]
    c_sub = np.empty((rows.size, N), dtype=dt)
    gemm(np.ascontiguousarray(sub), trans, b, c_sub, False)
    np.testing.assert_array_equal(c_sub, c[rows])


def test_gemm_on_row_strided_views():
    rng = np.random.default_rng(3)
    big = rng.standard_normal((20, 50)).astype(np.float32)
    a = big[2:9, 3:20]  # rows contiguous, row stride 50
    b = big[:17, 10:45]
    out = np.zeros((10, 60), dtype=np.float32)
    c = out[1:8, 5:40]
    gemm(a, False, b, c, False)
    _close(c, a.astype(np.float64) @ b, 17, np.float32)
    assert np.all(out[0] == 0) and np.all(out[:, :5] == 0) and np.all(out[:, 40:] == 0)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("D", [1, 8, 40, 125])
def test_add_weight_grad_both_orientations(D, dt):
    rng = np.random.default_rng(D)
    R, G = 300, 48
    dg = rng.standard_normal((R, G)).astype(dt)
    x = rng.standard_normal((R, D)).astype(dt)
    gw = rng.standard_normal((G, D)).astype(dt)
    want = gw.astype(np.float64) + dg.T.astype(np.float64) @ x
    add_weight_grad(dg, x, gw)
    _close(gw, want, R, dt)


@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("use_blas", [False, True])
def test_step_matmul(accumulate, use_blas):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 24)).astype(np.float32)
    w = rng.standard_normal((24, 72)).astype(np.float32)
    out = np.ones((6, 72), dtype=np.float32)
    step_matmul(a, step_weights(w), w, out, accumulate, use_blas)
    _close(out, a.astype(np.float64) @ w + (1.0 if accumulate else 0.0), 24, np.float32)
    c = np.empty((6, 72), dtype=np.float32)
    matmul(a, w, c, use_blas)
    _close(c, a.astype(np.float64) @ w, 24, np.float32)


ROW_CASES = [(1, 1), (32, 128), (8, 5), (64, 128), (300, 27), (64, 129)]


def test_one_row_cases_cover_the_loop_and_the_micro_kernel():
    """The cases below run both paths of a one-row step product (the loop, then the micro-kernel)."""
    from sklstm._kernels._ops import ROW_LOOP_MAX

    sizes = [K * N for K, N in ROW_CASES]
    assert min(sizes) <= ROW_LOOP_MAX < max(sizes), (ROW_LOOP_MAX, sizes)


@pytest.mark.parametrize("K,N", ROW_CASES)
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_one_row_step_product_has_the_micro_kernels_bits(K, N, dt):
    """A one-row step product (a plain loop up to ROW_LOOP_MAX) equals the micro-kernel's, bitwise."""
    rng = np.random.default_rng(K * 1000 + N)
    a = rng.standard_normal((1, K)).astype(dt)
    w = rng.standard_normal((K, N)).astype(dt)
    out = np.full((1, N), np.nan, dtype=dt)
    step_matmul(a, step_weights(w), w, out, False, False)
    want = np.empty((1, N), dtype=dt)
    gemm_packed(a, packed(w), want, False)
    np.testing.assert_array_equal(out, want)
    _close(out, a.astype(np.float64) @ w, K, dt)


def test_vector_width_follows_target():
    assert VECTOR_BYTES in (16, 32, 64)
    assert panel_width(np.empty(1, np.float32)) == 2 * panel_width(np.empty(1, np.float64))


_OTHER_TARGET = textwrap.dedent("""
    import numpy as np
    import numba
    from sklstm._kernels import _gemm
    gemm = numba.njit(lambda a, t, b, c, acc: _gemm.gemm(a, t, b, c, acc))
    gemm_packed = numba.njit(lambda a, bp, c, acc: _gemm.gemm_packed(a, bp, c, acc))
    packed = numba.njit(lambda b: _gemm.packed(b))
    rng = np.random.default_rng(0)
    for dt in (np.float32, np.float64):
        a = rng.standard_normal((11, 300)).astype(dt)
        b = rng.standard_normal((300, 45)).astype(dt)
        c = np.empty((11, 45), dt)
        gemm(a, False, b, c, False)
        ref = a.astype(np.float64) @ b
        assert np.abs(c - ref).max() < 1e-3, np.abs(c - ref).max()
        p = np.empty((11, 45), dt)
        gemm_packed(a[:, :40], packed(b[:40]), p, False)
        for i in range(11):
            one = np.empty((1, 45), dt)
            gemm_packed(a[i:i + 1, :40], packed(b[:40]), one, False)
            assert np.array_equal(one[0], p[i])
    print(_gemm.VECTOR_BYTES, _gemm._HAS_FMA)
""")


@pytest.mark.parametrize("cpu,features,expect", [
    ("haswell", "+avx,+avx2,+fma,+sse4.2", "32 True"),
    ("x86-64", "+sse2,+sse4.2", "16 False"),
])
def test_other_cpu_targets(tmp_path, cpu, features, expect):
    """AVX2 and SSE-only code paths, compiled for those CPUs (they run on this one)."""
    env = dict(os.environ, NUMBA_CPU_NAME=cpu, NUMBA_CPU_FEATURES=features, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", _OTHER_TARGET], env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == expect.split()


_LAZY = textwrap.dedent("""
    import ctypes
    import warnings
    import numba
    import numpy as np
    import sklstm
    from sklstm._kernels import _gemm
    warnings.simplefilter("ignore")
    assert not _gemm._COMPILED, "import compiled a product"
    X = np.random.default_rng(0).standard_normal((6, 5, 2)).astype(np.float32)
    est = sklstm.LSTMRegressor(hidden_layer_sizes=(3,), max_iter=1).fit(X, X[:, -1, 0])
    assert sorted(_gemm._COMPILED) == [0], sorted(_gemm._COMPILED)  # float32 only

    def forget():  # the products not loaded yet, as in a fresh process
        _gemm._COMPILED.clear()
        for i, t in enumerate(_gemm._TRAMPOLINES):
            _gemm._SLOTS[i] = ctypes.cast(t, ctypes.c_void_p).value

    # every public path loads the product in Python (prepare), never in the C trampoline
    for path in (lambda: est.fit(X, X[:, -1, 0]), lambda: est.predict(X), lambda: est.predict(X[:1]),
                 lambda: est.stream().step(X[0, 0]), lambda: est.partial_fit(X, X[:, -1, 0])):
        forget()
        path()
        assert sorted(_gemm._COMPILED) == [0] and _gemm._TRAMPOLINE_CALLS == [0, 0], _gemm._TRAMPOLINE_CALLS
    # a kernel called directly, with no prepare(): its first product compiles through the trampoline
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((9, 13)), rng.standard_normal((13, 21))
    c = np.full((9, 21), np.nan)
    numba.njit(lambda a, b, c: _gemm.gemm(a, False, b, c, False))(a, b, c)
    assert sorted(_gemm._COMPILED) == [0, 1] and _gemm._TRAMPOLINE_CALLS == [0, 1]
    assert np.abs(c - a @ b).max() < 1e-12
    print("ok")
""")


def test_products_compile_per_dtype_on_first_use(tmp_path):
    """Importing compiles no product; a float32 fit compiles only the float32 one; fit, predict,
    partial_fit and streaming load it before any kernel runs; a kernel called before
    prepare() still gets a right product (compiled on its first call)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    for _ in range(2):  # an empty cache, then the filled one (cached callers find the slots)
        out = subprocess.run([sys.executable, "-c", _LAZY], env=env, capture_output=True, text=True,
                             timeout=600)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.split() == ["ok"]


@pytest.mark.parametrize("helper", [_ops.zero_rows, _gemm.gemm, _gemm.packed])
def test_internal_helpers_refuse_calls_from_python(helper):
    """Helpers compiled without a Python entry point raise instead of crashing when called from Python."""
    assert helper.targetoptions["no_cpython_wrapper"] and helper.targetoptions["no_cfunc_wrapper"]
    a = np.ones((2, 2), np.float32)
    with pytest.raises(TypeError, match="other kernels only"):
        helper(a, 1) if helper is _ops.zero_rows else helper(a, False, a, a, False) if helper is _gemm.gemm \
            else helper(a)
    from_python(_ops.zero_rows)(a, 1)
    np.testing.assert_array_equal(a, [[1, 1], [0, 0]])


def test_kernel_cache_is_keyed_on_every_kernel_source(tmp_path):
    """A cached kernel is invalidated when any kernel file changes, not only its own."""
    import sys as _sys

    from numba.core.registry import CPUDispatcher

    from sklstm._kernels import _jit

    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text("x = 1\n")
    (tmp_path / "notes.txt").write_text("ignored")
    before = _jit.sources_stamp(str(tmp_path))
    assert [entry[0] for entry in before] == ["a.py", "b.py"]
    (tmp_path / "b.py").write_text("x = 22\n")  # another file's size changes
    assert _jit.sources_stamp(str(tmp_path)) != before
    assert _jit.sources_stamp(str(tmp_path / "missing")) == ()
    stamp = _jit._stamp()
    assert {"_gemm.py", "_ops.py", "lstm.py", "gru.py", "rnn.py", "_math.py"} <= {e[0] for e in stamp}
    kernels = [obj for mod, m in list(_sys.modules.items()) if mod.startswith("sklstm._kernels.")
               and not mod.startswith("sklstm._kernels.cuda") for obj in vars(m).values()
               if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == mod]
    assert len(kernels) > 20
    for k in kernels:
        assert isinstance(k._cache, _jit._KernelFunctionCache), k
        assert isinstance(k._cache._cache_file, _jit._KernelCacheFile), k  # the race-free file naming
        assert k._cache._impl._locator.get_source_stamp()[1] == stamp


def _interleaved_saves(cls, path):
    """Two processes that both read an empty index, then write in the order that pairs keys with wrong data.

    Each ``save`` is run with the file writes recorded instead of done; the
    writes are then replayed as: index of A, index of B, data of B, data of A.
    """
    from numba.core.caching import IndexDataCacheFile

    files = [cls(cache_path=str(path), filename_base="kernel-1.py311", source_stamp=("s",)) for _ in range(2)]
    writes = [[], []]
    for i, (f, key) in enumerate(zip(files, ("key-a", "key-b"))):
        f._save_index = lambda overloads, i=i: writes[i].append(("index", dict(overloads)))
        f._save_data = lambda name, data, i=i: writes[i].append(("data", name, data))
        f.save(key, f"code-of-{key}")
    plain = IndexDataCacheFile(cache_path=str(path), filename_base="kernel-1.py311", source_stamp=("s",))
    order = [("index", 0), ("index", 1), ("data", 1), ("data", 0)]
    for kind, i in order:
        w = next(w for w in writes[i] if w[0] == kind)
        if kind == "index":
            plain._save_index(w[1])
        else:
            plain._save_data(w[1], w[2])
    return cls(cache_path=str(path), filename_base="kernel-1.py311", source_stamp=("s",))


def test_cache_race_never_pairs_a_signature_with_another_signatures_code(tmp_path):
    """Concurrent first saves of two signatures: numba's numbering can swap code, the kernel cache cannot."""
    from numba.core.caching import IndexDataCacheFile

    from sklstm._kernels import _jit

    (tmp_path / "numba").mkdir()
    (tmp_path / "ours").mkdir()
    plain = _interleaved_saves(IndexDataCacheFile, tmp_path / "numba")
    assert plain.load("key-b") == "code-of-key-a"  # the hazard: key-b's index entry serves key-a's code
    ours = _interleaved_saves(_jit._KernelCacheFile, tmp_path / "ours")
    assert ours.load("key-b") == "code-of-key-b"
    assert ours.load("key-a") in (None, "code-of-key-a")  # at worst the entry is lost (compiled again)
    ours.save("key-a", "code-of-key-a")  # and a later save restores it without touching key-b
    assert (ours.load("key-a"), ours.load("key-b")) == ("code-of-key-a", "code-of-key-b")
    assert len(list((tmp_path / "ours").glob("*.nbc"))) == 2


_CONCURRENT_FIRST_CALLS = textwrap.dedent("""
    import threading
    import numba
    import numpy as np
    from sklstm._kernels import _gemm

    product = numba.njit(nogil=True)(lambda a, b, c: _gemm.gemm(a, False, b, c, False))
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((7, 11)), rng.standard_normal((11, 19))
    product(a[:0], b, np.empty((0, 19)))  # compiles the forwarder; an empty product calls nothing
    assert not _gemm._COMPILED
    outs = [np.full((7, 19), np.nan) for _ in range(6)]
    start = threading.Barrier(len(outs))

    def run(c):
        start.wait()
        product(a, b, c)  # no prepare(): the first calls meet in the trampoline, without the GIL

    threads = [threading.Thread(target=run, args=(c,)) for c in outs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(_gemm._COMPILED) == [1] and _gemm._TRAMPOLINE_CALLS[1] >= 1
    for c in outs:
        assert np.abs(c - a @ b).max() < 1e-12
    print("ok", _gemm._TRAMPOLINE_CALLS[1])
""")


def test_concurrent_first_products_compile_once_and_are_right(tmp_path):
    """Kernels on several threads reaching the not-yet-compiled product at once all get it right."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", _CONCURRENT_FIRST_CALLS], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[0] == "ok"


def test_internal_helpers_compile_per_type_not_per_constant():
    """Constant arguments reach internal helpers as plain bool/int64: one signature, not one per value."""
    import numba
    from numba.core import types

    a = np.ones((3, 4), np.float32)
    b = np.ones((4, 5), np.float32)
    c = np.zeros((3, 5), np.float32)
    numba.njit(lambda a, b, c: _gemm.gemm(a, False, b, c, True))(a, b, c)
    numba.njit(lambda a, b, c: _gemm.gemm(a, False, b, c, False))(a, b, c)
    np.testing.assert_array_equal(c, a @ b)
    numba.njit(lambda c: _ops.zero_rows(c, 0))(c)
    assert not c.any()
    for helper in (_gemm.gemm, _ops.zero_rows):
        assert helper.signatures
        for sig in helper.signatures:
            assert not any(isinstance(t, types.Literal) for t in sig), sig
