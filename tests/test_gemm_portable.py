"""The portable matrix product: bitwise equal to the micro-kernel, chosen by SKLSTM_GEMM or on failure.

A micro-kernel that does not compile is a warning and the portable path,
never an abort; a product that cannot run at all fills its output with NaN.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sklstm._kernels import _gemm, _microkernel
from sklstm._kernels._gemm import KC, MR, NV, PACK_ONLY, VECTOR_BYTES, _PROTOTYPE

needs_microkernel = pytest.mark.skipif(not _gemm._X86, reason="the micro-kernel is built on x86-64 only")


def _call(kind, i, *args):
    _PROTOTYPE(_gemm._compile_core(i, kind).address)(*args)


def _product(kind, i, A, trans, B, C, accumulate, packed):
    """C (+)= op(A) @ B through one core, B as rows or packed into panels (by that core)."""
    dt = C.dtype
    M, N = C.shape
    K = B.shape[0]
    nr = NV * VECTOR_BYTES // dt.itemsize
    work = np.zeros(M * nr + (N // nr + 2) * min(K, KC) * nr, dt)
    sa_i, sa_k = (1, M) if trans else (K, 1)
    if packed:
        panels = np.zeros(((N + nr - 1) // nr, K, nr), dt)
        _call(kind, i, 0, 0, 0, 0, K, B.ctypes.data, N, PACK_ONLY, N, panels.ctypes.data, K * nr, 0, 0)
        _call(kind, i, A.ctypes.data, sa_i, sa_k, M, K, panels.ctypes.data, nr, 1, N, C.ctypes.data, N,
              int(accumulate), work.ctypes.data)
        return panels
    _call(kind, i, A.ctypes.data, sa_i, sa_k, M, K, B.ctypes.data, N, 0, N, C.ctypes.data, N, int(accumulate),
          work.ctypes.data)
    return None


SHAPES = [(1, 1, 1), (1, 32, 128), (2, 7, 33), (MR, 16, 64), (MR + 1, 9, 37), (4 * MR + 3, 40, 96),
          (5, KC + 44, 70), (17, 2 * KC + 1, 3), (130, 5, 1)]


@needs_microkernel
@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("M,K,N", SHAPES)
def test_portable_core_is_bitwise_the_microkernel(M, K, N, dt):
    i = 0 if dt == np.float32 else 1
    rng = np.random.default_rng(M * 7 + K * 3 + N)
    B = rng.standard_normal((K, N)).astype(dt)
    C0 = rng.standard_normal((M, N)).astype(dt)
    for trans in (False, True):
        A = rng.standard_normal((K, M) if trans else (M, K)).astype(dt)
        ref = (A.T if trans else A).astype(np.float64) @ B.astype(np.float64)
        for accumulate in (False, True):
            for packed in (False, True):
                out = {}
                for kind in ("microkernel", "portable"):
                    C = C0.copy()
                    out[kind] = (C, _product(kind, i, A, trans, B, C, accumulate, packed))
                np.testing.assert_array_equal(out["portable"][0], out["microkernel"][0])
                if packed:
                    np.testing.assert_array_equal(out["portable"][1], out["microkernel"][1])
                expected = ref + (C0 if accumulate else 0)
                tol = 1e-3 if dt == np.float32 else 1e-10
                np.testing.assert_allclose(out["portable"][0], expected, rtol=tol, atol=tol)


_FIT = textwrap.dedent("""
    import hashlib, json, sys, warnings
    import numpy as np
    {setup}
    import sklstm
    from sklstm._kernels import _gemm, _microkernel

    rng = np.random.default_rng(0)
    X = [rng.normal(size=(int(t), 5)).astype(np.float32) for t in rng.integers(3, 20, size=80)]
    y = np.array([x[:, 0].sum() > 0 for x in X]).astype(int)
    out, caught = {{}}, []
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        for cell in ("lstm", "gru"):
            for dtype in ("float32", "float64"):
                clf = sklstm.LSTMClassifier(hidden_layer_sizes=(24, 40), cell=cell,
                                            bidirectional=cell == "gru", dtype=dtype, max_iter=2,
                                            batch_size=64, random_state=0).fit(X, y)
                proba = clf.predict_proba(X)
                one = clf.predict_proba(X[:1])
                out[cell + dtype] = hashlib.sha256(clf.coefs_flat_.tobytes() + proba.tobytes()
                                                   + one.tobytes()).hexdigest()
        caught = [str(x.message) for x in w if issubclass(x.category, RuntimeWarning)]
    print(json.dumps({{"hashes": out, "kernel": _gemm.KERNEL_IN_USE, "warnings": caught}}))
""")


_RUNS = {}


def _run(setup="", **env):
    """The child's report (runs with the same setup and environment are made once per session)."""
    key = (setup, tuple(sorted(env.items())))
    if key not in _RUNS:
        code = _FIT.format(setup=textwrap.dedent(setup))
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900,
                              env=dict(os.environ, **env))
        assert proc.returncode == 0, proc.stderr[-3000:]
        _RUNS[key] = json.loads(proc.stdout.strip().splitlines()[-1])
    return _RUNS[key]


@needs_microkernel
def test_whole_fit_and_predict_bitwise_equal_under_portable():
    micro = _run(SKLSTM_GEMM="microkernel")
    portable = _run(SKLSTM_GEMM="portable")
    assert micro["kernel"] == {"float32": "microkernel", "float64": "microkernel"}
    assert portable["kernel"] == {"float32": "portable", "float64": "portable"}
    assert portable["hashes"] == micro["hashes"]


@needs_microkernel
def test_failed_microkernel_compile_warns_and_falls_back():
    setup = """
        from sklstm._kernels import _gemm, _microkernel
        real = _gemm._compile_core
        def broken(i, kind):
            if kind == "microkernel":
                raise RuntimeError("simulated LLVM failure")
            return real(i, kind)
        _gemm._compile_core = broken
    """
    fallback = _run(setup, SKLSTM_GEMM="auto")
    assert fallback["kernel"] == {"float32": "portable", "float64": "portable"}
    assert any("micro-kernel did not compile (RuntimeError: simulated LLVM failure)" in w
               for w in fallback["warnings"])
    assert fallback["hashes"] == _run(SKLSTM_GEMM="microkernel")["hashes"]


def test_a_product_that_cannot_compile_gives_nan_never_an_abort():
    code = textwrap.dedent("""
        import warnings
        import numpy as np
        from sklstm._kernels import _gemm, _microkernel
        from sklstm._kernels._ops import matmul

        def broken(i, kind):
            raise RuntimeError("no compiler")
        _gemm._compile_core = broken
        a, b = np.ones((3, 4), np.float32), np.ones((4, 5), np.float32)
        out = np.zeros((3, 5), np.float32)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            matmul(a, b, out, False)  # a kernel called before prepare(): the C trampoline compiles
        assert np.isnan(out).all(), out
        assert any("could not be compiled (RuntimeError: no compiler)" in str(x.message) for x in w)
        try:
            _gemm.prepare(np.float32)
        except RuntimeError as exc:
            print("prepare raised:", exc)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "prepare raised: no compiler" in proc.stdout


def test_unknown_setting_warns_and_uses_auto(monkeypatch):
    monkeypatch.setenv("SKLSTM_GEMM", "fastest")
    with pytest.warns(RuntimeWarning, match="SKLSTM_GEMM='fastest'"):
        kind = _gemm.requested_kernel()
    assert kind == ("microkernel" if _gemm._X86 else "portable")
    monkeypatch.setenv("SKLSTM_GEMM", "Portable")
    assert _gemm.requested_kernel() == "portable"


@needs_microkernel
@pytest.mark.skipif(not _microkernel._OPAQUE_READY, reason="this llvmlite has typed pointers only")
def test_micro_kernel_ir_compiles_with_opaque_pointers(tmp_path):
    """llvmlite is retiring typed pointers: the hand-written IR (product, slot call, MXCSR) builds without."""
    code = textwrap.dedent("""
        import numpy as np
        from llvmlite import ir
        from sklstm._kernels import _fpenv, _gemm
        from sklstm._kernels._ops import matmul

        assert str(ir.IntType(8).as_pointer()) == "ptr"  # opaque pointers in the IR text
        _gemm.prepare(np.float32)
        rng = np.random.default_rng(0)
        a, b = rng.random((9, 300), np.float32), rng.random((300, 70), np.float32)
        out = np.zeros((9, 70), np.float32)
        with _fpenv.flush_denormals():
            matmul(a, b, out, False)
        assert np.abs(out - a.astype(np.float64) @ b).max() < 1e-3
        print(_gemm.KERNEL_IN_USE["float32"])
    """)
    env = dict(os.environ, LLVMLITE_ENABLE_IR_LAYER_TYPED_POINTERS="0", NUMBA_CACHE_DIR=str(tmp_path),
               SKLSTM_GEMM="microkernel")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "microkernel"
