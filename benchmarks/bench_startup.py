"""Start-up cost: import, first fit and predict in a fresh process, cold and warm numba cache.

    python benchmarks/bench_startup.py

"warm" is a tiny LSTMRegressor fit + predict in a new process whose numba
cache is already filled (the usual case after the first run); "cold" compiles
every kernel for float32 - four cells, three solvers, fit and predict - into
an empty cache directory, on first use (one kernel after the other) and
through ``sklstm.precompile`` with 1 and with every CPU's process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

WARM = """
import time, json
t0 = time.perf_counter()
import numpy as np
t1 = time.perf_counter()
import sklstm
t2 = time.perf_counter()
X = np.random.default_rng(0).standard_normal((8, 6, 3)).astype(np.float32)
est = sklstm.LSTMRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, X[:, -1, 0])
t3 = time.perf_counter()
est.predict(X)
t4 = time.perf_counter()
print(json.dumps({"numpy": t1 - t0, "sklstm": t2 - t1, "fit": t3 - t2, "predict": t4 - t3}))
"""

COLD = """
import time, warnings
import numpy as np
import sklstm
t0 = time.perf_counter()
X = np.random.default_rng(0).standard_normal((8, 6, 3)).astype(np.float32)
y = X[:, -1, 0]
warnings.simplefilter("ignore")
for cell in ("lstm", "lstm1997", "gru", "rnn"):
    for solver in ("adam", "sgd", "rmsprop"):
        est = sklstm.LSTMRegressor(hidden_layer_sizes=(4,), cell=cell, solver=solver, max_iter=1,
                                   random_state=0).fit(X, y)
        est.predict(X)
print(time.perf_counter() - t0)
"""

PRECOMPILE = """
import sys, time
import sklstm
t0 = time.perf_counter()
sklstm.precompile("float32", n_jobs=int(sys.argv[1]))
print(time.perf_counter() - t0)
"""


def run(code: str, cache: str, *args: str) -> tuple[float, str]:
    import time

    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                         check=True)
    return time.perf_counter() - t0, out.stdout.strip()


def main():
    print("# start-up: fresh processes")
    print(f"command: python {' '.join(sys.argv)}")
    with tempfile.TemporaryDirectory() as cache:
        wall, compile_s = run(COLD, cache)
        print(f"cold cache, compile every float32 kernel (4 cells x 3 solvers, fit + predict): "
              f"{float(compile_s):.1f} s ({wall:.1f} s wall with imports)")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    for jobs in sorted({1, cpus}):
        with tempfile.TemporaryDirectory() as cache:
            wall, compile_s = run(PRECOMPILE, cache, str(jobs))
            print(f"cold cache, sklstm.precompile('float32', n_jobs={jobs}): {float(compile_s):.1f} s "
                  f"({wall:.1f} s wall with imports)")
    with tempfile.TemporaryDirectory() as cache:
        run(WARM, cache)  # fills the cache for the tiny model's exact signatures
        for _ in range(3):
            wall, parts = run(WARM, cache)
            p = json.loads(parts)
            print(f"warm cache: {wall:.2f} s wall (import numpy {p['numpy']:.2f} s, import sklstm "
                  f"{p['sklstm']:.2f} s, fit {p['fit']:.2f} s, predict {p['predict']:.3f} s)")


if __name__ == "__main__":
    main()
