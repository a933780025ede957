"""The estimators on device="cuda" / "auto": CPU parity, reproducibility, device choice, moving models."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from cuda_support import fast_simulator, require_cuda  # noqa: F401 - fixture

import sklstm
from sklstm import GRURegressor, LSTMClassifier, LSTMRegressor
from sklstm.exceptions import DivergenceWarning

from conftest import TINY

pytestmark = require_cuda()


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = [rng.standard_normal((L, 3)) for L in rng.integers(2, 7, 12)]
    return X, rng.integers(0, 3, 12), rng.standard_normal(12)


SMALL = dict(TINY, batch_size=5)


def _fit(est, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(*args)


@pytest.mark.parametrize("est,target,params", [
    (LSTMClassifier, "cls", dict(solver="adam")),
    (LSTMRegressor, "reg", dict(solver="sgd", alpha=0.01, clip_value=0.5, early_stopping=True,
                                validation_fraction=0.25)),
    (GRURegressor, "reg", dict(solver="rmsprop", bidirectional=True, hidden_layer_sizes=(3, 2))),
])
def test_gpu_fit_matches_cpu_in_float64(data, est, target, params):
    """Dropout off, float64: CPU and GPU fits agree to 1e-6 after several epochs."""
    X, yc, yr = data
    y = yc if target == "cls" else yr
    kw = {**SMALL, **params, "dtype": "float64"}
    cpu = _fit(est(**kw), X, y)
    gpu = _fit(est(device="cuda", **kw), X, y)
    np.testing.assert_allclose(gpu.coefs_flat_, cpu.coefs_flat_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(gpu.loss_curve_, cpu.loss_curve_, rtol=1e-9)
    assert gpu.n_iter_ == cpu.n_iter_
    np.testing.assert_allclose(gpu.predict(X), cpu.predict(X), rtol=1e-6, atol=1e-9)
    for name in ("m", "v", "buf", "sq"):  # the optimizer state came back from the device
        if hasattr(cpu._optimizer, name):
            np.testing.assert_allclose(getattr(gpu._optimizer, name), getattr(cpu._optimizer, name),
                                       rtol=0, atol=1e-6)
    gpu.partial_fit(X, y)
    cpu.partial_fit(X, y)
    np.testing.assert_allclose(gpu.coefs_flat_, cpu.coefs_flat_, rtol=0, atol=1e-6)


def test_gpu_sequence_outputs_match_cpu(data):
    X, _, _ = data
    Y = [np.cumsum(x[:, :1], axis=0) for x in X]
    kw = {**SMALL, "return_sequences": True, "dtype": "float64", "bptt_steps": 3}
    cpu = _fit(LSTMRegressor(**kw), X, Y)
    gpu = _fit(LSTMRegressor(device="cuda", **kw), X, Y)
    np.testing.assert_allclose(gpu.coefs_flat_, cpu.coefs_flat_, rtol=0, atol=1e-6)


def test_gpu_fit_is_reproducible_with_dropout(data):
    X, y, _ = data
    kw = {**SMALL, "hidden_layer_sizes": (4, 3), "dropout": 0.3, "max_iter": 2}
    a = _fit(LSTMClassifier(device="cuda", **kw), X, y)
    b = _fit(LSTMClassifier(device="cuda", **kw), X, y)
    assert np.array_equal(a.coefs_flat_, b.coefs_flat_)
    c = _fit(LSTMClassifier(device="cuda", **{**kw, "dropout": 0.0}), X, y)
    assert not np.array_equal(a.coefs_flat_, c.coefs_flat_)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the simulator's numpy scalars
def test_gpu_divergence_keeps_finite_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 4, 2)).astype(np.float32) * 100
    y = X[:, :, 0].sum(1) * 1e6
    kw = dict(hidden_layer_sizes=(4,), solver="sgd", momentum=0.99, learning_rate_init=1e6, clip_norm=None,
              max_iter=10, random_state=0)
    est = LSTMRegressor(device="cuda", **kw)
    with pytest.warns(DivergenceWarning, match="diverged"):
        est.fit(X, y)
    assert est.diverged_ and np.isfinite(est.coefs_flat_).all()
    assert np.isfinite(est.predict(X)).all()


@pytest.fixture
def no_gpu(monkeypatch):
    """Pretend numba.cuda finds no GPU."""
    import sklstm._kernels.cuda as kcuda

    monkeypatch.setattr(kcuda, "status", lambda: (False, "numba.cuda cannot use a GPU on this machine "
                                                         "(no NVIDIA GPU or CUDA driver was found)."))


def test_cuda_without_gpu_is_a_clear_error(data, no_gpu):
    X, y, _ = data
    with pytest.raises(ValueError, match=r"device='cuda' was requested, but .*no NVIDIA GPU"):
        LSTMClassifier(device="cuda", **SMALL).fit(X, y)


def test_auto_falls_back_to_cpu(data, no_gpu):
    X, y, _ = data
    auto = _fit(LSTMClassifier(device="auto", **SMALL), X, y)
    cpu = _fit(LSTMClassifier(**SMALL), X, y)
    assert np.array_equal(auto.coefs_flat_, cpu.coefs_flat_)


def test_auto_uses_the_gpu_when_found(data, monkeypatch):
    from sklstm import _backend

    made = []

    class Spy(_backend.CudaBackend):
        def __init__(self, *a, **k):
            made.append(1)
            super().__init__(*a, **k)

    monkeypatch.setitem(_backend._BACKENDS, "cuda", Spy)
    X, y, _ = data
    _fit(LSTMClassifier(device="auto", **SMALL), X, y)
    assert made == [1]
    _fit(LSTMClassifier(device="cpu", **SMALL), X, y)
    assert made == [1]


def test_gpu_model_predicts_saves_and_loads_on_cpu_only_machine(data, tmp_path, monkeypatch):
    X, y, _ = data
    gpu = _fit(LSTMClassifier(device="cuda", **SMALL), X, y)
    on_gpu = gpu.predict_proba(X)
    path = tmp_path / "gpu.sklstm"
    sklstm.save(gpu, path)
    import sklstm._kernels.cuda as kcuda

    monkeypatch.setattr(kcuda, "status", lambda: (False, "no GPU here."))
    loaded = sklstm.load(path)
    assert loaded.device == "cuda"
    with pytest.warns(UserWarning, match="Predicting on the CPU"):
        p = loaded.predict_proba(X)
    np.testing.assert_allclose(p, on_gpu, rtol=1e-5, atol=1e-6)
    loaded.set_params(device="cpu")
    np.testing.assert_allclose(loaded.predict_proba(X), on_gpu, rtol=1e-5, atol=1e-6)
    loaded.partial_fit(X, y)  # and keeps training on the CPU
    with pytest.raises(ValueError, match="device='cuda' was requested"):
        loaded.set_params(device="cuda").partial_fit(X, y)


def test_cpu_model_predicts_and_trains_on_gpu(data, tmp_path):
    X, y, _ = data
    cpu = _fit(LSTMClassifier(**SMALL), X, y)
    path = tmp_path / "cpu.sklstm"
    sklstm.save(cpu, path)
    moved = sklstm.load(path).set_params(device="cuda")
    np.testing.assert_allclose(moved.predict_proba(X), cpu.predict_proba(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(moved.hidden_state(X), cpu.hidden_state(X), rtol=1e-5, atol=1e-6)
    moved.partial_fit(X, y)
    assert np.isfinite(moved.coefs_flat_).all()


def test_importing_sklstm_does_not_import_numba_cuda():
    code = ("import sys, numpy as np, sklstm\n"
            "est = sklstm.LSTMRegressor(max_iter=1, hidden_layer_sizes=(2,))\n"
            "est.fit(np.zeros((4, 3, 1)), np.zeros(4))\n"
            "assert 'numba.cuda' not in sys.modules, sorted(m for m in sys.modules if 'cuda' in m)\n")
    subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True)


def test_gpu_benchmark_script_runs():
    """benchmarks/bench_gpu.py is ready for a GPU: its smoke mode runs under the simulator."""
    import os

    bench = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks")
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    done = subprocess.run([sys.executable, "bench_gpu.py", "--smoke", "--cells", "lstm"], cwd=bench, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "| lstm | (4,3,2,3) |" in done.stdout


def test_gpu_memory_is_checked_before_training(data, monkeypatch):
    from sklstm import _cuda_memory

    monkeypatch.setattr(_cuda_memory, "free_device_memory", lambda: (1000, 16_000))
    X, y, _ = data
    with pytest.raises(MemoryError, match="Training on the GPU needs about"):
        LSTMClassifier(device="cuda", **SMALL).fit(X, y)


def test_gpu_prediction_batches_fit_in_free_memory(data, monkeypatch):
    """Prediction batches shrink to the free memory, with the same results."""
    from sklstm import _cuda_memory

    X, y, _ = data
    est = _fit(LSTMClassifier(device="cuda", **SMALL), X, y)
    want = est.predict_proba(X)
    per_seq = _cuda_memory.step_bytes(est._spec, False) * 6 * 4
    monkeypatch.setattr(_cuda_memory, "free_device_memory", lambda: (2 * 3 * per_seq, 10 ** 9))
    assert _cuda_memory.prediction_batch(est._spec, 6, 4, 1024) == 3
    np.testing.assert_array_equal(est.predict_proba(X), want)
    monkeypatch.setattr(_cuda_memory, "free_device_memory", lambda: (100, 10 ** 9))
    with pytest.raises(MemoryError, match="Predict on the CPU"):
        est.predict(X)
