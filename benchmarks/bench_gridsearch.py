"""Wall time of one GridSearchCV (16 candidates x 3 folds = 48 fits) on 1 process, 2 loky processes
and a 2-worker dask LocalCluster, with the overheads measured on their own.

    python benchmarks/bench_gridsearch.py            # needs pip install ".[distributed]"
    python benchmarks/bench_gridsearch.py --quick    # 4 candidates, to check that it runs

Overheads: starting the workers (loky's on the first search, a cluster's
at its start), the kernels on each worker (loaded from numba's cache when
warm, compiled when cold: a fresh NUMBA_CACHE_DIR), and moving X and y to
the workers (joblib's dask backend scatters them once per search; here
also timed on their own with ``client.scatter(broadcast=True)``). Every
worker runs numba on one thread (loky sets NUMBA_NUM_THREADS = cores /
n_jobs itself; the cluster gets it through the nanny's pre-spawn
environment), and the scores of every run are checked equal to n_jobs=1.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings

import numpy as np

from _common import header

GRID = {"cell": ["lstm", "gru"], "hidden_layer_sizes": [(8,), (16,)], "learning_rate_init": [0.003, 0.01],
        "batch_size": [32, 64]}


def data(n=600, T=30, F=4):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, T, F)).astype(np.float32)
    return X, (X[:, :, 0].sum(axis=1) > 0).astype(int)


def search(grid, n_jobs=None):
    from sklearn.model_selection import GridSearchCV

    from sklstm import LSTMClassifier

    return GridSearchCV(LSTMClassifier(max_iter=10, random_state=0), grid, cv=3, n_jobs=n_jobs, refit=False)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def dask_runs(grid, X, y, reference, cache_dir=None, precompile_first=False, scatter=False):
    """Times of one cluster's life: start, kernels (optional precompile), scatter, two searches."""
    import dask
    import joblib
    from distributed import Client, LocalCluster

    import sklstm

    env = {"NUMBA_NUM_THREADS": 1}
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    saved = dict(os.environ)
    row = {}
    try:
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in env.items()}):
            row["start"], cluster = timed(lambda: LocalCluster(n_workers=2, threads_per_worker=1,
                                                               dashboard_address=None, silence_logs=40))
        with Client(cluster) as client:
            if precompile_first:
                row["precompile"], _ = timed(lambda: client.run(sklstm.precompile, n_jobs=1))
            row["scatter"], _ = timed(lambda: client.scatter([X, y], broadcast=True))
            config = dict(backend="dask", scatter=[X, y]) if scatter else dict(backend="dask")
            for key in ("first", "second"):
                with joblib.parallel_config(**config):
                    row[key], res = timed(lambda: search(grid).fit(X, y))
                assert np.array_equal(res.cv_results_["mean_test_score"], reference)
        cluster.close()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    grid = {k: v[:1] for k, v in GRID.items()} | {"cell": GRID["cell"], "batch_size": GRID["batch_size"]} \
        if args.quick else GRID
    warnings.simplefilter("ignore")
    import joblib

    import sklstm

    X, y = data()
    n_cand = int(np.prod([len(v) for v in grid.values()]))
    header(f"GridSearchCV, {n_cand} candidates x 3 folds = {3 * n_cand} fits of LSTMClassifier(max_iter=10)"
           f" on X {X.shape} float32 ({X.nbytes / 2**20:.2f} MiB)")
    print(f"cores: {os.cpu_count()}  sklstm {sklstm.__version__}  joblib {joblib.__version__}")
    load, _ = timed(lambda: sklstm.precompile(n_jobs=1))
    print(f"\nthis process: kernels ready (sklstm.precompile(n_jobs=1), warm cache) in {load:.2f} s")
    one, res = timed(lambda: search(grid, n_jobs=1).fit(X, y))
    reference = res.cv_results_["mean_test_score"]
    rows = [("n_jobs=1", "-", "-", "-", f"{one:.1f}", "-")]

    first, res = timed(lambda: search(grid, n_jobs=2).fit(X, y))  # loky starts its 2 workers here
    assert np.array_equal(res.cv_results_["mean_test_score"], reference)
    second, _ = timed(lambda: search(grid, n_jobs=2).fit(X, y))  # the same workers, kernels loaded
    rows.append(("n_jobs=2 (loky)", "in the first search", "-", "-", f"{first:.1f}", f"{second:.1f}"))

    try:
        import distributed  # noqa: F401
    except ImportError:
        print("distributed not installed: pip install '.[distributed]' for the dask rows")
        distributed = None
    if distributed is not None:
        warm = dask_runs(grid, X, y, reference)
        rows.append(("dask, warm cache", f"{warm['start']:.1f}", "in the first search",
                     f"{warm['scatter']:.3f}", f"{warm['first']:.1f}", f"{warm['second']:.1f}"))
        warm_p = dask_runs(grid, X, y, reference, precompile_first=True, scatter=True)
        rows.append(("dask, warm cache, precompile + scatter=[X, y]", f"{warm_p['start']:.1f}",
                     f"{warm_p['precompile']:.2f}", f"{warm_p['scatter']:.3f}", f"{warm_p['first']:.1f}",
                     f"{warm_p['second']:.1f}"))
        with tempfile.TemporaryDirectory() as cold_dir:
            cold = dask_runs(grid, X, y, reference, cache_dir=cold_dir)
        rows.append(("dask, cold cache", f"{cold['start']:.1f}", "in the first search",
                     f"{cold['scatter']:.3f}", f"{cold['first']:.1f}", f"{cold['second']:.1f}"))
        with tempfile.TemporaryDirectory() as cold_dir:
            cold_p = dask_runs(grid, X, y, reference, cache_dir=cold_dir, precompile_first=True)
        rows.append(("dask, cold cache, precompile first", f"{cold_p['start']:.1f}",
                     f"{cold_p['precompile']:.1f}", f"{cold_p['scatter']:.3f}", f"{cold_p['first']:.1f}",
                     f"{cold_p['second']:.1f}"))
    print("\n| run | start workers (s) | kernels on the workers (s) | scatter X, y (s) | first search (s) "
          "| second search (s) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print("\nscores of every run equal to n_jobs=1's (bitwise)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
