"""Model selection on a dask.distributed cluster through joblib's dask backend.

A LocalCluster of two worker processes (one thread each) runs a small
GridSearchCV over cells and sizes: its scores are bitwise those of
``n_jobs=1``. The README's recipe for the workers is checked on the same
cluster: ``NUMBA_NUM_THREADS`` set through the nanny's pre-spawn
environment reaches the task threads, and ``sklstm.precompile`` runs on
every worker.
"""

import os
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import dask  # noqa: E402
import joblib  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

import sklstm  # noqa: E402
from sklstm import LSTMClassifier  # noqa: E402


def _numba_threads():
    import numba

    return numba.get_num_threads()


@pytest.fixture(scope="module")
def client():
    """Two worker processes, one thread each, NUMBA_NUM_THREADS=1; closed (and the environment the
    nanny sets in this process restored) whatever happens."""
    environ = dict(os.environ)
    cluster = None
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ.NUMBA_NUM_THREADS": 1}):
            cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                               dashboard_address=None, silence_logs=40)
        with distributed.Client(cluster, timeout="60s") as c:
            c.wait_for_workers(2, timeout=60)
            yield c
    finally:
        if cluster is not None:
            cluster.close(timeout=30)
        os.environ.clear()
        os.environ.update(environ)


def test_grid_search_on_dask_workers_scores_bitwise_as_n_jobs_1(client):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 6, 2)).astype("float32")
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    grid = {"cell": ["lstm", "gru"], "hidden_layer_sizes": [(4,), (8,)]}
    est = LSTMClassifier(max_iter=4, learning_rate_init=0.02, random_state=0)
    local = GridSearchCV(est, grid, cv=3, n_jobs=1).fit(X, y)
    t0 = time.perf_counter()
    with joblib.parallel_config(backend="dask"):
        remote = GridSearchCV(est, grid, cv=3).fit(X, y)
    assert time.perf_counter() - t0 < 300
    for key in ["mean_test_score", "std_test_score"] + [f"split{i}_test_score" for i in range(3)]:
        assert np.array_equal(remote.cv_results_[key], local.cv_results_[key]), key
    assert remote.best_params_ == local.best_params_
    # the fits ran on the workers, both of them
    ran = client.run(lambda dask_worker: dask_worker.state.executed_count)
    assert len(ran) == 2 and all(n > 0 for n in ran.values()), ran


def test_workers_run_numba_on_one_thread_and_precompile(client):
    workers = sorted(client.run(os.getpid))
    threads = client.gather([client.submit(_numba_threads, pure=False, workers=[w]) for w in workers])
    assert threads == [1, 1]
    assert client.run(sklstm.precompile, n_jobs=1) == dict.fromkeys(workers)
