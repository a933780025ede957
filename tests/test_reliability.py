"""Divergence, Ctrl-C, concurrent prediction, long sequences."""

import os
import signal
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from sklstm import LSTMClassifier, LSTMRegressor
from sklstm.exceptions import DivergenceWarning, TrainingInterruptedWarning

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
    X = rng.normal(size=(400, 30, 3)).astype(np.float32)
    y = (X[:, :, 0].sum(1) > 0).astype(int)
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
    assert 0 < clf.n_iter_ < 10_000 or not early_stopping
    assert np.isfinite(clf.predict_proba(X)).all()
    if early_stopping and clf.validation_scores_:
        assert clf.best_validation_score_ == max(clf.validation_scores_)


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
