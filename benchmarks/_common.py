"""Shared helpers of the benchmarks: thread pinning, timing, table printing."""

from __future__ import annotations

import os
import platform
import sys
import time

import numpy as np


def pin_threads(n: int) -> None:
    """Pin every thread pool in the process: all BLAS libraries, numba, torch."""
    import numba
    from threadpoolctl import threadpool_limits

    import scipy.linalg  # noqa: F401  - numba's np.dot uses scipy's BLAS; load it so it is pinned

    threadpool_limits(limits=n)
    numba.set_num_threads(n)
    try:
        import torch

        torch.set_num_threads(n)
    except ImportError:
        pass


def best_time(fn, min_time=1.0, repeats=5) -> float:
    """Seconds per call: the best of ``repeats`` runs of at least ``min_time`` / repeats each."""
    fn()  # warm-up (compilation, allocator)
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-6)
    inner = max(1, int(min_time / repeats / one))
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - t0) / inner)
    return best


def paired_best_times(fns, min_time=1.0, repeats=7) -> list:
    """Seconds per call of each function, their runs interleaved (a, b, a, b, ...).

    On a shared machine whose speed drifts, timing the contenders in
    alternation and keeping each one's best run makes their ratio far
    steadier than timing one after the other.
    """
    inner = []
    for fn in fns:
        fn()  # warm-up (compilation, allocator)
        t0 = time.perf_counter()
        fn()
        one = max(time.perf_counter() - t0, 1e-6)
        inner.append(max(1, int(min_time / repeats / one)))
    best = [np.inf] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(inner[i]):
                fn()
            best[i] = min(best[i], (time.perf_counter() - t0) / inner[i])
    return best


def header(title: str) -> None:
    """Print the machine and the command that produced the table."""
    import numba

    print(f"# {title}")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}  "
          f"python {platform.python_version()}  numpy {np.__version__}  numba {numba.__version__}")
    try:
        import torch

        print(f"torch {torch.__version__}")
    except ImportError:
        print("torch not installed: sklstm figures only")


def table(rows, columns) -> None:
    """Print a markdown table."""
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in columns) + " |")
