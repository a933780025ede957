"""The micro-kernel against the portable product: whether the LLVM-IR kernel earns its place.

Each setting runs in its own process (``SKLSTM_GEMM`` is read when a dtype's
product is first loaded): one training epoch and a batch prediction of an
LSTM, and the bare products of training-sized shapes, float32, one thread.
The two products give bitwise the same results (tests/test_gemm_portable.py).

    python benchmarks/bench_products.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from _common import header, table

_CHILD = r"""
import json, time, warnings
import numba
import numpy as np
numba.set_num_threads(1)
from sklstm import LSTMRegressor
from sklstm._kernels import _gemm
from sklstm._kernels._ops import matmul

def best(fn, repeats=5):
    fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter(); fn(); out.append(time.perf_counter() - t0)
    return min(out)

res = {}
rng = np.random.default_rng(0)
for M, K, N in [(64, 64, 256), (256, 128, 512), (1, 32, 128)]:
    a = rng.standard_normal((M, K)).astype(np.float32)
    b = rng.standard_normal((K, N)).astype(np.float32)
    c = np.empty((M, N), np.float32)
    reps = max(1, int(2e8 / (2 * M * K * N)))
    t = best(lambda: [matmul(a, b, c, False) for _ in range(reps)]) / reps
    res[f"product {M}x{K}x{N} (GFLOP/s)"] = f"{2 * M * K * N / t / 1e9:.1f}"
X = rng.standard_normal((512, 50, 16)).astype(np.float32)
est = LSTMRegressor(hidden_layer_sizes=(128,), max_iter=1, batch_size=32, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    res["LSTM fit, 1 epoch (s)"] = f"{best(lambda: est.fit(X, X[:, -1, 0]), 3):.3f}"
res["LSTM predict 512 (ms)"] = f"{best(lambda: est.predict(X)) * 1e3:.1f}"
res["product"] = _gemm.KERNEL_IN_USE["float32"]
print(json.dumps(res))
"""


def main():
    header("matrix products: micro-kernel vs portable loops (float32, 1 thread)")
    rows = {}
    for setting in ("microkernel", "portable"):
        env = dict(os.environ, SKLSTM_GEMM=setting, NUMBA_NUM_THREADS="1")
        out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True,
                             check=True)
        rows[setting] = json.loads(out.stdout.strip().splitlines()[-1])
    keys = [k for k in rows["microkernel"] if k != "product"]
    table([{"measure": k, "micro-kernel": rows["microkernel"][k], "portable": rows["portable"][k]}
           for k in keys], ["measure", "micro-kernel", "portable"])


if __name__ == "__main__":
    main()
