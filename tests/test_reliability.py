"""Divergence, Ctrl-C, concurrent prediction, long sequences."""

import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from sklstm import LSTMClassifier, LSTMRegressor
from sklstm.exceptions import DivergenceWarning, TrainingInterruptedWarning

from conftest import TINY, sign_of_sum

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_divergence_stops_with_a_warning_and_finite_weights(rng):
    X = rng.normal(size=(64, 6, 2)).astype(np.float32) * 100
    y = X[:, :, 0].sum(1) * 1e6
    reg = LSTMRegressor(hidden_layer_sizes=(8,), solver="sgd", momentum=0.99, learning_rate_init=1e6,
                        clip_norm=None, max_iter=50, random_state=0)
    with pytest.warns(DivergenceWarning, match="diverged"):
        reg.fit(X, y)
    assert reg.diverged_ and reg.n_iter_ < 50
    assert np.isfinite(reg.coefs_flat_).all()
    assert np.isfinite(reg.predict(X)).all()


def test_healthy_fit_is_not_marked_diverged(rng):
    X = rng.normal(size=(30, 4, 2))
    reg = LSTMRegressor(hidden_layer_sizes=(3,), max_iter=2).fit(X, X[:, 0, 0])
    assert reg.diverged_ is False


@pytest.mark.parametrize("early_stopping", [False, True])
def test_ctrl_c_during_fit_returns_a_usable_model(early_stopping, rng):
    X, y = sign_of_sum(rng, 400, 30, 3, dtype=np.float32)
    clf = LSTMClassifier(hidden_layer_sizes=(16,), batch_size=8, max_iter=10_000, tol=0,
                         early_stopping=early_stopping, n_iter_no_change=10_000, random_state=0)
    clf.fit(X[:20], y[:20])  # compile first, so the signal lands during training
    # a background job may inherit SIGINT ignored: give this test Python's default handler
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.warns(TrainingInterruptedWarning, match="interrupted"):
            clf.fit(X, y)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, outer)
    assert 0 < clf.n_iter_ < 10_000  # stopped by the interrupt, with or without early stopping
    assert np.isfinite(clf.predict_proba(X)).all()
    assert len(clf.loss_curve_) == clf.n_iter_
    if early_stopping:
        assert len(clf.validation_scores_) == clf.n_iter_
        assert clf.best_validation_score_ == max(clf.validation_scores_)
    else:
        assert clf.validation_scores_ is None


def test_ignored_ctrl_c_stays_ignored(rng):
    outer = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        X = rng.normal(size=(20, 4, 2))
        LSTMRegressor(hidden_layer_sizes=(2,), max_iter=1).fit(X, X[:, 0, 0])
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, outer)


def test_predict_from_8_threads_equals_serial(rng):
    X = [rng.normal(size=(int(rng.integers(2, 30)), 3)) for _ in range(300)]
    y = np.array([int(x[:, 0].sum() > 0) for x in X])
    clf = LSTMClassifier(hidden_layer_sizes=(16, 8), bidirectional=True, max_iter=2, random_state=0).fit(X, y)
    serial = [clf.predict_proba(X[i::8]) for i in range(8)]
    with ThreadPoolExecutor(8) as ex:
        for _ in range(3):
            parallel = list(ex.map(lambda i: clf.predict_proba(X[i::8]), range(8)))
            for a, b in zip(serial, parallel):
                np.testing.assert_array_equal(a, b)


def test_very_long_sequence_with_truncated_bptt(rng):
    """T = 100,000 trains with bptt_steps: memory is bounded by the chunk, not by T."""
    X = rng.normal(size=(2, 100_000, 1)).astype(np.float32)
    reg = LSTMRegressor(hidden_layer_sizes=(4,), bptt_steps=100, max_iter=1, random_state=0)
    reg.fit(X, np.array([0.5, -0.5]))
    assert np.isfinite(reg.predict(X)).all()


def test_padding_that_cannot_fit_in_memory_is_a_clear_error(rng):
    X = [np.zeros((3, 1))] * 200_000 + [np.zeros((10_000_000, 1), dtype=np.float32)]
    with pytest.raises(MemoryError, match="GiB"):
        LSTMRegressor(max_iter=1).fit(X, np.zeros(len(X)))


def test_training_cache_that_cannot_fit_is_a_clear_error(rng):
    X = np.zeros((200, 2_000_000, 1), dtype=np.float32)[:, :, :]  # lazily zero pages, 1.6 GB virtual
    with pytest.raises(MemoryError, match="bptt_steps"):
        LSTMRegressor(hidden_layer_sizes=(256,), max_iter=1).fit(X, np.zeros(200))


def _small_regression(rng):
    X = rng.normal(size=(20, 5, 2))
    return X, X[:, 0, 0]


SMALL2 = dict(TINY, max_iter=2)


def test_dtype_changed_after_fit_predicts_in_fitted_dtype_and_refuses_to_continue(rng, tmp_path):
    import sklstm

    X, y = _small_regression(rng)
    r = LSTMRegressor(warm_start=True, **SMALL2).fit(X, y)
    r.set_params(dtype="float64")
    assert np.isfinite(r.predict(X)).all()
    sklstm.save(r, tmp_path / "r.sklstm")
    np.testing.assert_array_equal(sklstm.load(tmp_path / "r.sklstm").predict(X), r.predict(X))
    with pytest.raises(ValueError, match="dtype changed"):
        r.fit(X, y)
    r.set_params(dtype="float32", hidden_layer_sizes=(7, 3))
    with pytest.raises(ValueError, match="hidden_layer_sizes changed"):
        r.fit(X, y)


def test_early_stopping_switched_on_after_a_warm_fit(rng):
    X, y = _small_regression(rng)
    r = LSTMRegressor(warm_start=True, **SMALL2).fit(X, y)
    assert r.validation_scores_ is None
    r.set_params(early_stopping=True)
    r.fit(X, y)
    assert len(r.validation_scores_) == 2  # max_iter epochs, each scored on the held-out part


def test_huge_sample_weights_are_rescaled_and_infinite_ones_rejected(rng):
    X, y = _small_regression(rng)
    a = LSTMRegressor(**SMALL2).fit(X, y)
    b = LSTMRegressor(**SMALL2).fit(X, y, sample_weight=np.full(20, 1e308))
    np.testing.assert_allclose(a.coefs_flat_, b.coefs_flat_, rtol=1e-5)
    with pytest.raises(ValueError, match="infinity"):
        LSTMRegressor(**SMALL2).fit(X, y, sample_weight=np.full(20, np.inf))


@pytest.mark.parametrize("cw", [{"a": -1.0}, {"a": np.inf}, {"a": np.nan}])
def test_bad_class_weight_values_are_rejected(cw, rng):
    X, y = _small_regression(rng)
    with pytest.raises(ValueError, match="class_weight"):
        LSTMClassifier(class_weight=cw, **SMALL2).fit(X, np.where(y > 0, "a", "b"))


def test_class_weight_with_return_sequences_is_rejected(rng):
    X, _ = _small_regression(rng)
    seq_y = [np.where(x[:, 0] > 0, "a", "b") for x in X]
    with pytest.raises(ValueError, match="class_weight"):
        LSTMClassifier(class_weight={"a": 2.0}, return_sequences=True, **SMALL2).fit(list(X), seq_y)


def test_scalar_targets_with_return_sequences_are_rejected(rng):
    X, y = _small_regression(rng)
    with pytest.raises(ValueError, match="one target per timestep"):
        LSTMRegressor(return_sequences=True, **SMALL2).fit(list(X), list(y))


def test_2d_feature_count_mismatch_keeps_sklearn_message_and_adds_the_layout_hint(rng):
    X, y = _small_regression(rng)
    r1 = LSTMRegressor(**SMALL2).fit(X[:, :, :1], y)
    msg = r"X has 5 features, but LSTMRegressor is expecting 1 .*X\[:, :, None\]"
    with pytest.raises(ValueError, match=msg):
        r1.predict(X[:, :, 0])


def test_dates_are_not_features():
    with pytest.raises(TypeError, match="numeric"):
        LSTMRegressor(**SMALL2).fit(np.zeros((4, 3, 1), dtype="datetime64[s]"), np.zeros(4))


def test_negative_forecast_window_is_rejected(rng):
    from sklstm.forecasting import forecast

    X, y = _small_regression(rng)
    r1 = LSTMRegressor(**SMALL2).fit(X[:, :, :1], y)
    with pytest.raises(ValueError, match="window"):
        forecast(r1, X[0, :, 0], steps=2, window=-3)


def test_per_step_weighted_score_and_validation_on_valid_steps(rng):
    X = [rng.normal(size=(int(rng.integers(2, 9)), 2)) for _ in range(40)]
    y = [np.where(np.cumsum(x[:, 0]) > 0, "up", "down") for x in X]
    clf = LSTMClassifier(hidden_layer_sizes=(4,), return_sequences=True, max_iter=3, early_stopping=True,
                         validation_fraction=0.5, random_state=0).fit(X, y)
    w = np.r_[np.zeros(20), np.ones(20)]
    assert clf.score(X, y, sample_weight=w) == pytest.approx(clf.score(X[20:], y[20:]))
    from sklearn.model_selection import train_test_split

    _, Xv, _, yv = train_test_split(X, y, test_size=0.5, random_state=0)
    # the held-out part is train_test_split's, scored on its valid steps; the best weights are restored
    assert len(clf.validation_scores_) == clf.n_iter_ == 3
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.score(Xv, yv) == pytest.approx(clf.best_validation_score_, abs=1e-12)


def test_no_kernel_uses_parallel_so_the_threading_layer_never_matters():
    """predict is thread-safe under every numba threading layer because no kernel is parallel=True."""
    import importlib
    import pkgutil

    import numba

    import sklstm._kernels as kernels

    found = 0
    for mod in pkgutil.iter_modules(kernels.__path__):
        m = importlib.import_module(f"sklstm._kernels.{mod.name}")
        for obj in vars(m).values():
            if isinstance(obj, numba.core.registry.CPUDispatcher):
                found += 1
                assert not obj.targetoptions.get("parallel"), obj
                assert obj.targetoptions.get("nogil"), obj
    assert found >= 10


def test_predict_batches_on_threads_are_bitwise_equal_to_one_thread(rng):
    import numba

    X = [rng.normal(size=(int(rng.integers(2, 20)), 3)) for _ in range(700)]
    y = np.array([x[:, 0].sum() for x in X])
    reg = LSTMRegressor(hidden_layer_sizes=(8,), max_iter=1, random_state=0).fit(X[:50], y[:50])
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = reg.predict(X)
    finally:
        numba.set_num_threads(before)
    # four threads in a fresh process (NUMBA_NUM_THREADS=4 works on a one-core machine too)
    import pickle
    import subprocess
    import sys

    code = ("import pickle, sys, numba; numba.set_num_threads(4); reg, X = pickle.load(sys.stdin.buffer); "
            "sys.stdout.buffer.write(pickle.dumps(reg.predict(X)))")
    done = subprocess.run([sys.executable, "-c", code], input=pickle.dumps((reg, X)), capture_output=True,
                          env=dict(os.environ, NUMBA_NUM_THREADS="4"), timeout=600)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    np.testing.assert_array_equal(one, pickle.loads(done.stdout))


def test_memory_mapped_model_and_read_only_inputs(rng, tmp_path):
    """joblib's mmap_mode="r" model predicts, streams and trains on; read-only X is accepted.

    Each goes through the kernels' one writable-array signature: no second
    compile per kernel, and training on a loaded model no longer hits a numba
    typing error on its read-only optimizer state. The file is not written.
    """
    import joblib
    from numba import types

    from sklstm._kernels import head, lstm, optim, scan

    X = rng.standard_normal((9, 5, 3)).astype(np.float32)
    y = X[:, -1, 0]
    est = LSTMRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    saved = path.read_bytes()
    loaded = joblib.load(path, mmap_mode="r")
    assert not loaded.coefs_flat_.flags.writeable
    Xr = X.copy()
    Xr.flags.writeable = False
    np.testing.assert_array_equal(loaded.predict(Xr), est.predict(X))
    np.testing.assert_array_equal(loaded.predict(Xr[:1]), est.predict(X[:1]))
    assert np.isfinite(loaded.stream().step(X[0, 0]))
    flat = LSTMRegressor(hidden_layer_sizes=(4,), max_iter=1, random_state=0)
    X2 = X[:, 0].copy()
    X2.flags.writeable = False
    flat.fit(X2, y).predict(X2)
    loaded.partial_fit(Xr, y)
    assert not np.array_equal(loaded.coefs_flat_, est.coefs_flat_)
    assert path.read_bytes() == saved
    for kernel in (lstm.lstm_forward, lstm.lstm_backward, lstm.lstm_infer, head.linear_forward,
                   scan.scan_padded, optim.adam_update):
        for sig in kernel.signatures:
            assert all(t.mutable for t in sig if isinstance(t, types.Array)), (kernel, sig)
