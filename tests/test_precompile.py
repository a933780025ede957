"""``sklstm.precompile`` and ``python -m sklstm compile``: every kernel compiled ahead, in parallel."""

import os
import subprocess
import sys
import textwrap

import pytest

import sklstm
from sklstm import _precompile
from sklstm.__main__ import main

# Every entry point of the estimators, float32, with tiny sizes: together they call every kernel of
# the table (matmul: the second layer's input gradient; clip_by_value/scale_inplace: clipping).
_EXERCISE = textwrap.dedent("""
    import json, sys, warnings
    import numpy as np
    import numba.core.event as ev
    compiled = []
    class Listener(ev.Listener):
        def on_start(self, event):
            compiled.append(event.data["dispatcher"].py_func.__name__)
        def on_end(self, event):
            pass
    ev.register("numba:compile", Listener())
    import sklstm
    from sklstm import _precompile
    from sklstm._kernels._gemm import _TRAMPOLINE_CALLS
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 6, 3)).astype(np.float32)
    X[0, 4:] = np.nan  # ragged
    y = X[:, 0, 0] > 0
    for cell in ("lstm", "lstm1997", "gru", "rnn"):
        for solver in ("adam", "sgd", "rmsprop"):
            est = sklstm.LSTMRegressor(hidden_layer_sizes=(4, 3), cell=cell, solver=solver, max_iter=2,
                                       clip_value=0.5, clip_norm=1e-3, random_state=0).fit(X, X[:, 0, 1])
            est.predict(X), est.predict(X[:1])
        clf = sklstm.LSTMClassifier(hidden_layer_sizes=(4,), cell=cell, bidirectional=True, max_iter=2,
                                    random_state=0).fit(X, y)
        clf.predict_proba(X), clf.partial_fit(X, y)
    used = {}
    for module, function, kinds, _ in _precompile.KERNELS:
        kernel = _precompile._kernel(module, function)
        if function != "prepare":
            used[f"{module}.{function}"] = [list(s) == list(_precompile.signature(kinds, "float32"))
                                            for s in kernel.signatures]
    print(json.dumps({"compiled": compiled, "used": used, "trampoline": int(_TRAMPOLINE_CALLS[0])}))
""")


def _run(code, cache, *args):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_precompile_in_two_processes_leaves_nothing_to_compile(tmp_path):
    """Into an empty cache: after precompile(n_jobs=2), every estimator path loads every kernel.

    Also checks the table itself: each kernel is called with exactly its
    listed signature, and none is left out.
    """
    import json

    _run("import sklstm; sklstm.precompile('float32', n_jobs=2)", tmp_path)
    report = json.loads(_run(_EXERCISE, tmp_path).strip().splitlines()[-1])
    assert report["compiled"] == []  # nothing compiled: all loaded from the cache the workers filled
    assert report["trampoline"] == 0
    for name, matches in report["used"].items():
        assert matches == [True], (name, matches)  # called, with exactly the table's signature


def test_share_covers_every_kernel_once_and_orders_groups():
    for jobs in (1, 2, 3, 64):
        groups = _precompile._share(jobs)
        flat = [name for g in groups for name in g]
        assert sorted(flat) == sorted(f"{m}.{f}" for m, f, _, _ in _precompile.KERNELS)
        assert len(groups) == min(jobs, len(_precompile.KERNELS))
        if jobs == 2:
            assert groups[0][0].split(".")[0] in _precompile._CELLS  # this process compiles the helpers
            assert groups[1][0].split(".")[0] not in _precompile._CELLS  # the worker starts elsewhere
    cost = {f"{m}.{f}": c for m, f, _, c in _precompile.KERNELS}
    two = [sum(cost[n] for n in g) for g in _precompile._share(2)]
    assert abs(two[0] + _precompile._HELPERS - two[1]) <= max(cost.values())


def test_failed_workers_are_made_up_for_here(monkeypatch):
    calls = []
    monkeypatch.setattr(_precompile, "_WORKER", "import sys; sys.exit(3)")
    monkeypatch.setattr(_precompile, "compile_here", lambda dtype, names=None: calls.append((dtype, names)))
    sklstm.precompile("float64", n_jobs=2)
    assert calls[0] == ("float64", _precompile._share(2)[0])
    assert calls[-1] == ("float64", None)  # everything: loads what exists, compiles what the worker did not


def test_error_here_stops_the_workers(monkeypatch):
    started = []
    real_popen = subprocess.Popen

    def popen(*args, **kwargs):
        started.append(real_popen([sys.executable, "-c", "import time; time.sleep(60)"]))
        return started[-1]

    def fail(dtype, names=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(_precompile.subprocess, "Popen", popen)
    monkeypatch.setattr(_precompile, "compile_here", fail)
    with pytest.raises(KeyboardInterrupt):
        sklstm.precompile("float32", n_jobs=2)
    assert started and all(p.returncode is not None for p in started)


@pytest.mark.parametrize("kwargs, match", [
    ({"dtype": "int64"}, "float32 or float64"),
    ({"dtype": "float16"}, "float32 or float64"),
    ({"n_jobs": 0}, "n_jobs"),
    ({"n_jobs": -2}, "n_jobs"),
    ({"n_jobs": 1.5}, "n_jobs"),
    ({"n_jobs": True}, "n_jobs"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sklstm.precompile(**kwargs)


def test_signature_kinds():
    from numba import types

    sig = _precompile.signature("a3 a1 l b f s i", "float64")
    assert sig == (types.Array(types.float64, 3, "C"), types.Array(types.float64, 1, "C"),
                   types.Array(types.int64, 1, "C"), types.boolean, types.float64, types.float64, types.int64)
    assert _precompile.signature("s", "float32") == (types.float32,)


def test_command_line(capsys):
    assert main(["compile", "--jobs", "1"]) == 0  # the test session's kernels are cached: this loads them
    assert "float32 kernels compiled and cached in" in capsys.readouterr().out
    assert main(["compile", "--jobs", "0"]) == 2
    assert "n_jobs must be" in capsys.readouterr().err
