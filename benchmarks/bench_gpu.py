"""Training throughput on an NVIDIA GPU: sklstm CUDA vs torch.nn.LSTM on cuDNN vs sklstm CPU.

One step = forward + BPTT + Adam update on one batch, float32, MSE loss on a
dense head over h_n, as in ``bench_train.py``. The sklstm GPU step is the
estimators' own (:class:`sklstm._backend.CudaBackend`: data, weights
and optimizer state on the device, the loss read back each step). torch runs
with TF32 off, so both do full float32 arithmetic. Needs a GPU and
``pip install "sklstm[cuda]" torch``; see DEVELOPERS.md for reaching one.

    python benchmarks/bench_gpu.py
    python benchmarks/bench_gpu.py --cells lstm gru --no-cpu
    NUMBA_ENABLE_CUDASIM=1 python benchmarks/bench_gpu.py --smoke   # checks the script, no GPU
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import best_time, header, table
from bench_train import sklstm_step

CONFIGS = [(32, 50, 8, 32), (64, 100, 16, 64), (128, 100, 32, 128), (64, 200, 32, 256), (256, 200, 32, 512)]
SMOKE = [(4, 3, 2, 3)]


def sklstm_gpu_step(cell, B, T, F, H):
    """A closure running one GPU training step; returns (step, seconds of the first call)."""
    from sklstm._backend import CudaBackend
    from sklstm._network import NetworkSpec
    from sklstm._objectives import Batch, RecurrentObjective
    from sklstm._optimizers import AdamOptimizer

    rng = np.random.default_rng(0)
    spec = NetworkSpec(cell, F, (H,), False, 1)
    flat = spec.init_params(rng, np.float32)
    opt = AdamOptimizer(flat.size, np.float32, 1e-4)
    X = rng.standard_normal((B, T, F)).astype(np.float32)
    data = Batch(X, np.full(B, T, dtype=np.int64), rng.standard_normal((B, 1)), np.ones(B))
    trainer = CudaBackend(RecurrentObjective(spec, "squared_error"), flat, opt, data, B)
    idx = np.arange(B)

    def step():
        trainer.step(idx, rng)  # reads the loss back: synchronises; raises Diverged on a non-finite step

    t0 = time.perf_counter()
    step()
    return step, time.perf_counter() - t0


def torch_gpu_step(cell, B, T, F, H):
    """torch's step on cuDNN with TF32 off (full float32 arithmetic, like sklstm's kernels)."""
    import torch

    from bench_train import torch_step

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return torch_step(cell, B, T, F, H, device="cuda")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cells", nargs="+", default=["lstm", "gru"])
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--no-cpu", action="store_true", help="skip the sklstm CPU column")
    ap.add_argument("--smoke", action="store_true", help="one tiny configuration (runs under the simulator)")
    args = ap.parse_args()
    from numba import cuda

    header("GPU training throughput, forward + BPTT + Adam, float32")
    if not args.smoke:
        print(f"GPU: {cuda.get_current_device().name}")
    try:
        import torch

        have_torch = torch.cuda.is_available() and not args.smoke
        if have_torch:
            cudnn = torch.backends.cudnn.version()
            print(f"torch GPU: {torch.cuda.get_device_name()}  cuDNN {cudnn}  TF32 off")
    except ImportError:
        have_torch = False
    rows = []
    for cell in args.cells:
        for B, T, F, H in SMOKE if args.smoke else CONFIGS:
            step, first = sklstm_gpu_step(cell, B, T, F, H)
            t_g = best_time(step, args.min_time if not args.smoke else 0.01, 1 if args.smoke else 5)
            row = {"cell": cell, "(B,T,F,H)": f"({B},{T},{F},{H})",
                   "sklstm GPU samples/s": f"{B / t_g:,.0f}", "first step s": f"{first:.1f}",
                   "torch cuDNN samples/s": "-", "sklstm GPU / cuDNN": "-", "sklstm CPU samples/s": "-"}
            if have_torch:
                t_t = best_time(torch_gpu_step(cell, B, T, F, H), args.min_time)
                row["torch cuDNN samples/s"] = f"{B / t_t:,.0f}"
                row["sklstm GPU / cuDNN"] = f"{t_t / t_g:.2f}x"
            if not args.no_cpu and H <= 256:
                t_c = best_time(sklstm_step(cell, B, T, F, H), args.min_time if not args.smoke else 0.01,
                                1 if args.smoke else 3)
                row["sklstm CPU samples/s"] = f"{B / t_c:,.0f}"
            rows.append(row)
            print(row, flush=True)
    table(rows, ["cell", "(B,T,F,H)", "sklstm GPU samples/s", "first step s", "torch cuDNN samples/s",
                 "sklstm GPU / cuDNN", "sklstm CPU samples/s"])


if __name__ == "__main__":
    main()
