"""A fit is bitwise the same whatever the thread count (numba's, and the BLAS a worker inherits).

The split of a mini-batch into parts and the order in which their gradients
are summed depend on the batch alone (``sklstm._objectives.batch_parts``);
threads only decide how many parts run at once. Here every cell x solver is
fitted in this process on one numba thread, then in a fresh process on four
numba threads with the machine-level thread variables a dask or joblib worker
sets (``OMP_NUM_THREADS=1``, ...), and weights and predictions must be equal
bit for bit. The child process gets ``NUMBA_NUM_THREADS=4`` so that the
comparison means something on a one-core machine too.
"""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import CELLS, SOLVERS

CONFIGS = [dict(cell=c, solver=s) for c in CELLS for s in SOLVERS] + [
    dict(cell="lstm", solver="adam", bidirectional=True, hidden_layer_sizes=(4, 3), dropout=0.2),
    dict(cell="gru", solver="adam", return_sequences=True),
]
N = 80  # two full parts of 32 rows at batch_size=64, then a batch of 16 that runs whole


def _fit_digests(n_threads):
    """sha256 of (weights, predictions) of every configuration, fitted on ``n_threads`` numba threads."""
    import warnings

    import numba

    from sklstm import LSTMRegressor

    rng = np.random.default_rng(0)
    X = [rng.normal(size=(int(rng.integers(2, 12)), 3)) for _ in range(N)]
    y = np.array([x[:, 0].sum() for x in X])
    ys = [np.cumsum(x[:, 0]) for x in X]
    before = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    out = []
    try:
        for params in CONFIGS:
            params = dict(params)
            seq = params.get("return_sequences", False)
            est = LSTMRegressor(hidden_layer_sizes=params.pop("hidden_layer_sizes", (5,)), batch_size=64,
                                max_iter=3, random_state=1, **params)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(X, ys if seq else y)
            pred = est.predict(X)
            pred = np.concatenate(pred) if seq else pred
            h = hashlib.sha256(est.coefs_flat_.tobytes())
            h.update(np.ascontiguousarray(pred).tobytes())
            out.append(h.hexdigest())
    finally:
        numba.set_num_threads(before)
    return out


def test_a_training_batch_is_cut_by_its_size_alone():
    from sklstm._objectives import MAX_PARTS, ROWS_PER_PART, batch_parts

    assert batch_parts(np.ones(ROWS_PER_PART * 2 - 1, dtype=np.int64)) == [None]
    parts = batch_parts(np.arange(64) % 7 + 1)
    assert len(parts) == MAX_PARTS == 2
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(64))
    lengths = np.arange(64) % 7 + 1
    assert abs(int(lengths[parts[0]].sum()) - int(lengths[parts[1]].sum())) <= 7  # balanced work


@pytest.mark.slow
def test_fits_on_one_and_on_four_threads_are_bitwise_identical():
    one = _fit_digests(1)
    env = dict(os.environ, NUMBA_NUM_THREADS="4", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    code = ("import sys; sys.path.insert(0, %r); import test_thread_count as t; "
            "print('\\n'.join(t._fit_digests(4)))" % os.path.dirname(__file__))
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    four = run.stdout.split()
    for params, a, b in zip(CONFIGS, one, four):
        assert a == b, f"fit differs between 1 and 4 threads: {params}"
    assert len(four) == len(CONFIGS)


def test_fits_on_one_and_on_two_threads_are_bitwise_identical_in_process():
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has one thread here (the 4-thread test in a child process covers this machine)")
    assert _fit_digests(1) == _fit_digests(2)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("options", [dict(), dict(dropout=0.3, return_sequences=True)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_part_runs_its_time_distributed_products_in_blocks_with_the_same_bits(
        cell, options, dtype, monkeypatch):
    """A batch of one part splits its recurrences and time-distributed products over the threads.

    Blocks of rows (recurrences, projections, input gradients) and of output
    units (weight gradients) on 1 to 4 threads: the loss and every gradient
    are the same bit for bit. The threshold is lowered so that this tiny
    batch is split; its ragged lengths make blocks of unequal rows.
    """
    from sklstm import _blocks
    from sklstm._objectives import Batch, RecurrentObjective, TrainOptions
    from sklstm._spec import NetworkSpec

    monkeypatch.setattr(_blocks, "_MIN_WORK_PER_THREAD", 4)
    rng = np.random.default_rng(0)
    B, T, F = 11, 9, 3
    lengths = rng.integers(1, T + 1, B)
    X = rng.normal(size=(B, T, F)).astype(dtype)
    seq = options.get("return_sequences", False)
    y = rng.normal(size=(B, T, 2)) if seq else rng.normal(size=(B, 2))
    spec = NetworkSpec(cell, F, (7, 5), True, 2)
    flat = spec.init_params(rng, dtype)
    objective = RecurrentObjective(spec, "squared_error", TrainOptions(**options))
    got = []
    for threads in (1, 2, 3, 4):
        grad = np.empty_like(flat)
        loss = objective.loss_and_grad(flat, grad, Batch(X, lengths, y, np.ones(B)), np.random.default_rng(5),
                                       None, threads)
        got.append((loss, grad))
    for loss, grad in got[1:]:
        assert loss == got[0][0]
        np.testing.assert_array_equal(grad, got[0][1])


def test_no_blocks_where_the_products_go_through_blas(monkeypatch):
    """On CPUs without AVX (products through BLAS with use_blas) a one-part batch stays whole.

    A BLAS need not give a row the same bits in blocks of different sizes, so
    blocks there could make a fit depend on the thread count.
    """
    from sklstm import _blocks, _vocab_head
    from sklstm._kernels import _ops
    from sklstm._network import Pass

    p = Pass(None, {}, np.ones(3, dtype=np.int64), use_blas=True, threads=4)
    assert _blocks.blocks(p, 10 ** 12) == 4
    monkeypatch.setattr(_ops, "_BLAS_FASTER", True)
    assert _blocks.blocks(p, 10 ** 12) == 1
    assert _blocks.blocks(Pass(None, {}, p.lens, use_blas=False, threads=4), 10 ** 12) == 4
    calls = []
    monkeypatch.setattr(_vocab_head, "run_blocks", lambda task, k: calls.append(k) or task(0))
    rng = np.random.default_rng(0)
    feat, w = rng.normal(size=(40, 3)), rng.normal(size=(50, 3))
    _vocab_head.softmax_head(feat, w, np.zeros(50), rng.integers(0, 50, 40), 40.0, np.empty_like(w),
                             np.empty(50), n_threads=4, use_blas=True)
    assert calls == [1, 1]


def test_a_failing_block_lets_every_block_finish_then_raises_the_first_error():
    import threading
    import time

    from sklstm._threads import run_blocks

    done, lock = [], threading.Lock()

    def task(i):
        if i in (1, 2):
            raise ValueError(f"block {i}")
        time.sleep(0.05)  # still writing when the failures are known
        with lock:
            done.append(i)

    with pytest.raises(ValueError, match="block 1"):
        run_blocks(task, 4)
    assert sorted(done) == [0, 3]
