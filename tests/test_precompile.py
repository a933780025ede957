"""``sklstm.precompile`` and ``python -m sklstm compile``: every kernel compiled ahead, in parallel."""

import json
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
    import json, os, sys, tempfile, warnings
    import joblib
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
    from sklstm._kernels import _gemm
    from sklstm._optimizers import SOLVERS
    from sklstm._spec import CELL_GATES as CELLS
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 6, 3)).astype(np.float32)
    X[0, 4:] = np.nan  # ragged
    y = X[:, 0, 0] > 0
    for cell in CELLS:
        for solver in SOLVERS:
            est = sklstm.LSTMRegressor(hidden_layer_sizes=(4, 3), cell=cell, solver=solver, max_iter=2,
                                       clip_value=0.5, clip_norm=1e-3, random_state=0).fit(X, X[:, 0, 1])
            est.predict(X), est.predict(X[:1]), est.stream().step(X[1, 0])
        clf = sklstm.LSTMClassifier(hidden_layer_sizes=(4,), cell=cell, bidirectional=True, max_iter=2,
                                    random_state=0).fit(X, y)
        clf.predict_proba(X), clf.partial_fit(X, y)
    # read-only inputs and a memory-mapped model use the same signatures
    Xr = X.copy()
    Xr.flags.writeable = False
    path = os.path.join(tempfile.mkdtemp(), "m.joblib")
    joblib.dump(est, path)
    loaded = joblib.load(path, mmap_mode="r")
    loaded.predict(Xr), loaded.predict(Xr[:1]), loaded.stream().step(Xr[1, 0])
    loaded.partial_fit(Xr, X[:, 0, 1])
    X2 = X[1:, 0].copy()
    X2.flags.writeable = False
    sklstm.LSTMRegressor(hidden_layer_sizes=(4,), max_iter=1).fit(X2, X2[:, 0]).predict(X2)
    ids = [np.array([1, 2, 3]), np.array([2, 0])]  # token input through an embedding
    tok = sklstm.LSTMClassifier(embedding_dim=3, hidden_layer_sizes=(2,), max_iter=1).fit(ids, [0, 1])
    tok.predict(ids), tok.stream().step(2)
    # a language model: its vocabulary layer's blocks (weight_grad_columns)
    sklstm.LSTMLanguageModel(hidden_layer_sizes=(3,), embedding_dim=2, bptt_steps=4, batch_size=2,
                             max_iter=1).fit("abcabcabca")
    # the encoder-decoder: token sources with a bidirectional encoder, attention, scheduled sampling and
    # beam search; a feature-vector source
    s2s = sklstm.LSTMSeq2Seq(hidden_layer_sizes=(3, 2), embedding_dim=2, bidirectional=True, attention=True,
                             teacher_forcing_ratio=0.5, max_iter=1).fit(["ab", "ba", "abb"], ["b", "a", "bb"])
    s2s.predict(["ab", "b"], num_beams=2), s2s.score_pairs(["ab"], ["b"])
    for cell in CELLS:
        cap = sklstm.LSTMSeq2Seq(hidden_layer_sizes=(2,), embedding_dim=2, cell=cell, max_iter=1)
        cap.fit(X[:, 0], ["a", "b"] * 4).predict(X[:2, 0])
    used, loaded_only = {}, {}
    for module, function, kinds, _ in _precompile._applicable():
        kernel = _precompile._kernel(module, function)
        if function == "prepare":
            continue
        used[f"{module}.{function}"] = [list(s) == list(_precompile.signature(kinds, "float32"))
                                        for s in kernel.signatures]
        loaded_only[f"{module}.{function}"] = (sum(kernel.stats.cache_hits.values()) > 0
                                               and not any(kernel.stats.cache_misses.values()))
    product = _gemm._COMPILED[_gemm._INDEX[np.dtype(np.float32)]]
    print(json.dumps({"compiled": compiled, "used": used, "loaded_only": loaded_only,
                      "product_loaded": product._cache_hits > 0,
                      "trampoline": int(_gemm._TRAMPOLINE_CALLS[0])}))
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
    import re

    _run("import sklstm, warnings; warnings.simplefilter('error'); sklstm.precompile('float32', n_jobs=2)",
         tmp_path)
    report = json.loads(_run(_EXERCISE, tmp_path).strip().splitlines()[-1])
    assert report["compiled"] == []  # nothing compiled: all loaded from the cache the workers filled
    assert report["product_loaded"] and report["trampoline"] == 0
    for name, matches in report["used"].items():
        assert matches == [True], (name, matches)  # called, with exactly the table's signature
        assert report["loaded_only"][name], name
    data = [f.name for f in tmp_path.rglob("*.nbc")]
    assert data and all(re.search(r"\.[0-9a-f]{20}\.nbc$", name) for name in data)  # one file per key


def test_worker_compiles_its_share_without_scikit_learn(tmp_path):
    share = ["head.global_norm", "optim.sgd_update"]
    code = _precompile._WORKER + "\nprint('sklearn' in sys.modules, 'sklstm._base' in sys.modules)\n"
    out = _run(code, tmp_path, _precompile._PACKAGE_DIR, json.dumps(sys.path), "float64", *share)
    assert out.split() == ["False", "False"]
    index = sorted(f.name.split("-")[0] for f in tmp_path.rglob("*.nbi"))
    assert index == ["head.global_norm", "optim.sgd_update"]


def test_share_covers_every_kernel_once_and_orders_groups():
    names = sorted(f"{m}.{f}" for m, f, _, _ in _precompile._applicable())
    for jobs in (1, 2, 3, 8, 64):
        groups = _precompile._share(jobs)
        assert sorted(name for g in groups for name in g) == names
        assert len(groups) == min(jobs, len(names)) and all(groups)
        assert groups[0][0] == "lstm.lstm_forward"  # this process compiles the shared helpers first
    two = _precompile._share(2)
    assert two[1][0].split(".")[0] not in _precompile._CELLS  # the worker starts elsewhere
    cost = {f"{m}.{f}": c for m, f, _, c in _precompile.KERNELS}
    loads = [sum(cost[n] for n in g) for g in two]
    assert abs(loads[0] + _precompile._HELPERS - loads[1] - _precompile._STARTUP) <= max(cost.values())


def test_control_register_kernels_are_left_out_elsewhere(monkeypatch):
    from sklstm._kernels import _fpenv

    monkeypatch.setattr(_fpenv, "_SUPPORTED", False)  # neither x86-64 nor AArch64
    assert all(m != "_fpenv" for m, *_ in _precompile._applicable())
    assert all(not n.startswith("_fpenv.") for g in _precompile._share(2) for n in g)
    monkeypatch.setattr(_fpenv, "_SUPPORTED", True)
    assert sum(m == "_fpenv" for m, *_ in _precompile._applicable()) == 2


def test_failed_workers_warn_and_are_made_up_for_here(monkeypatch):
    calls = []
    monkeypatch.setattr(_precompile, "_WORKER", "import sys; sys.stderr.write('boom'); sys.exit(3)")
    monkeypatch.setattr(_precompile, "compile_here", lambda dtype, names=None: calls.append((dtype, names)))
    with pytest.warns(RuntimeWarning, match=r"exit status 3\).*boom"):
        sklstm.precompile("float64", n_jobs=2)
    assert calls[0] == ("float64", _precompile._share(2)[0])
    assert calls[-1] == ("float64", None)  # everything: loads what exists, compiles what the worker did not


def test_one_process_starts_no_worker(monkeypatch):
    def no_popen(*args, **kwargs):
        raise AssertionError("a worker was started")

    monkeypatch.setattr(_precompile.subprocess, "Popen", no_popen)
    calls = []
    monkeypatch.setattr(_precompile, "compile_here", lambda dtype, names=None: calls.append(names))
    for n_jobs in (1, None):
        sklstm.precompile("float32", n_jobs=n_jobs)
    monkeypatch.setattr(_precompile.sys, "executable", "/usr/bin/uwsgi")  # not an interpreter: no worker
    sklstm.precompile("float32", n_jobs=4)
    assert len(calls) == 6


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


@pytest.mark.parametrize("kwargs, error, match", [
    ({"dtype": "int64"}, ValueError, "float32 or float64"),
    ({"dtype": "float16"}, ValueError, "float32 or float64"),
    ({"dtype": "bogus"}, ValueError, "float32 or float64"),
    ({"dtype": None}, ValueError, "float32 or float64"),
    ({"n_jobs": 0}, ValueError, "n_jobs"),
    ({"n_jobs": 1.5}, TypeError, "n_jobs"),
    ({"n_jobs": True}, TypeError, "n_jobs"),
    ({"n_jobs": "2"}, TypeError, "n_jobs"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        sklstm.precompile(**kwargs)


def test_import_path_of_workers(monkeypatch, tmp_path):
    monkeypatch.setattr(_precompile.sys, "path", ["", str(tmp_path), tmp_path / "sub", None])
    assert json.loads(_precompile._import_path()) == ["", str(tmp_path), str(tmp_path / "sub")]


def test_n_jobs_counts_like_joblib():
    from joblib import cpu_count

    assert _precompile._n_processes(None) == 1
    assert _precompile._n_processes(3) == 3
    assert _precompile._n_processes(-1) == cpu_count()
    assert _precompile._n_processes(-2) == max(1, cpu_count() - 1)
    assert _precompile._n_processes(-1000) == 1


def test_signature_kinds():
    from numba import types

    sig = _precompile.signature("a3 a1 l b f s i", "float64")
    assert sig == (types.Array(types.float64, 3, "C"), types.Array(types.float64, 1, "C"),
                   types.Array(types.int64, 1, "C"), types.boolean, types.float64, types.float64, types.int64)
    assert _precompile.signature("s", "float32") == (types.float32,)


def test_command_line(capsys):
    assert main(["compile", "--jobs", "1"]) == 0  # the test session's kernels are cached: this loads them
    assert "float32 kernels compiled and cached in" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["compile", "--jobs", "0"])
    assert exit_info.value.code == 2
    assert "--jobs must be" in capsys.readouterr().err
