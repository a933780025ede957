"""Cost of ragged training: lengths uniform in [10, 200] vs equal lengths with the same total steps.

    python benchmarks/bench_ragged.py
"""
import time
import warnings

import numba
import numpy as np
import scipy.linalg  # noqa: F401 - numba's np.dot uses scipy's BLAS; load it so threadpool_limits pins it
from threadpoolctl import threadpool_limits

from sklstm import LSTMRegressor


def best_fit_time(X, y):
    """Best of 3 fits of 2 epochs, after a 1-epoch warm-up fit (compilation)."""
    m = LSTMRegressor(hidden_layer_sizes=(64,), max_iter=1, batch_size=64, random_state=0)
    m.fit(X, y)
    best = 1e9
    for _ in range(3):
        m = LSTMRegressor(hidden_layer_sizes=(64,), max_iter=2, batch_size=64, random_state=0)
        s = time.perf_counter()
        m.fit(X, y)
        best = min(best, time.perf_counter() - s)
    return best


def main():
    warnings.simplefilter("ignore")
    threadpool_limits(1)
    numba.set_num_threads(1)
    rng = np.random.default_rng(0)
    lengths = rng.integers(10, 201, size=640)
    ragged = [rng.normal(size=(n, 16)).astype(np.float32) for n in lengths]
    equal_length = int(round(lengths.mean()))
    equal = rng.normal(size=(640, equal_length, 16)).astype(np.float32)
    y = rng.normal(size=640)
    a = best_fit_time(ragged, y)
    b = best_fit_time(equal, y)
    print("command: python benchmarks/bench_ragged.py (1 thread, LSTM hidden 64, 16 features, batch 64)")
    print(f"ragged lengths U[10,200]: {a:.2f}s  equal length {equal_length} (same total steps): {b:.2f}s  "
          f"ratio {a / b:.2f}")


if __name__ == "__main__":
    main()
