"""Training throughput of sklstm vs torch on CPU, side by side in one process.

One step = forward + BPTT + Adam update on one batch, float32, MSE loss on a
dense head over h_n. Prints samples/s and the ratio sklstm / torch.

    python benchmarks/bench_train.py --threads 1 2
    OPENBLAS_CORETYPE=SKYLAKEX python benchmarks/bench_train.py --threads 1 2
    python benchmarks/bench_train.py --threads 1 --hidden 256 --flush-denormals

Some CPUs run torch's LSTM/GRU backward at hidden 256 an order of magnitude
slower because values underflow to denormals; ``--flush-denormals`` shows
torch without that penalty.
"""

from __future__ import annotations

import argparse

import numpy as np

from _common import best_time, header, paired_best_times, pin_threads, table

CONFIGS = [(32, 50, 8, 32), (64, 100, 16, 64), (128, 100, 32, 128), (64, 200, 32, 256), (64, 100, 125, 320)]


def sklstm_step(cell, B, T, F, H, dtype=np.float32):
    import numba

    from sklstm._network import NetworkSpec, Workspace
    from sklstm._objectives import Batch, RecurrentObjective, TrainOptions
    from sklstm._optimizers import AdamOptimizer

    rng = np.random.default_rng(0)
    spec = NetworkSpec(cell, F, (H,), False, 1)
    flat = spec.init_params(rng, dtype)
    grad = np.empty_like(flat)
    opt = AdamOptimizer(flat.size, dtype, 1e-4)
    X = rng.standard_normal((B, T, F)).astype(dtype)
    lengths = np.full(B, T, dtype=np.int64)
    y = rng.standard_normal((B, 1))
    w = np.ones(B)
    ws = Workspace()

    objective = RecurrentObjective(spec, "squared_error", TrainOptions(clip_norm=None))
    batch = Batch(X, lengths, y, w)

    def step():
        objective.loss_and_grad(flat, grad, batch, None, ws, numba.get_num_threads())
        opt.update(flat, grad)

    return step


def torch_step(cell, B, T, F, H, device="cpu"):
    """One torch training step; on a GPU it ends by reading the loss (a synchronisation, as sklstm's)."""
    import torch

    torch.manual_seed(0)
    rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](F, H, batch_first=True).to(device)
    head = torch.nn.Linear(H, 1).to(device)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-4)
    X = torch.randn(B, T, F, device=device)
    y = torch.randn(B, 1, device=device)
    sync = device != "cpu"

    def step():
        opt.zero_grad()
        _, h = rnn(X)
        h_n = h[0] if isinstance(h, tuple) else h
        loss = torch.nn.functional.mse_loss(head(h_n[-1]), y)
        loss.backward()
        opt.step()
        if sync:
            loss.item()

    return step


def gemm_peak_gflops(n=1024, repeats=5, threads=1):
    """float32 GEMM rates on this machine, GFLOP/s: ``(numpy's BLAS, sklstm's micro-kernel)``.

    The BLAS figure is one ``n^3`` product on the pinned BLAS threads; the
    micro-kernel's is ``threads`` such products run at once on Python threads
    (the kernel is single-threaded and releases the GIL). The step is
    compared with the faster of the two: the real roofline of the machine.
    """
    from concurrent.futures import ThreadPoolExecutor

    from sklstm._kernels._ops import matmul

    a = np.ones((n, n), dtype=np.float32)
    t = best_time(lambda: a @ a, 0.5, repeats)
    blas = 2 * n ** 3 / t / 1e9
    outs = [np.empty_like(a) for _ in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        def run():
            list(pool.map(lambda c: matmul(a, a, c, False), outs))

        t = best_time(run, 0.5, repeats)
    return blas, threads * 2 * n ** 3 / t / 1e9


def step_flops(cell, B, T, F, H):
    """Multiply-add FLOPs of one training step: forward, BPTT, weight gradients (no dx for layer 0)."""
    G = {"lstm": 4, "gru": 3}[cell]
    return 2 * B * T * G * H * (F + H) + 2 * B * T * G * H * (F + 2 * H)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1])
    ap.add_argument("--cells", nargs="+", default=["lstm", "gru"])
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--quick", action="store_true", help="first two configurations only")
    ap.add_argument("--hidden", type=int, nargs="+", help="only the configurations with these hidden sizes")
    ap.add_argument("--flush-denormals", action="store_true",
                    help="torch.set_flush_denormal(True) first (FTZ/DAZ on the main thread, "
                         "for both libraries)")
    args = ap.parse_args()
    configs = CONFIGS[:2] if args.quick else CONFIGS
    if args.hidden:
        configs = [c for c in configs if c[3] in args.hidden]
    header("training throughput, forward + BPTT + Adam, float32")
    try:
        import torch  # noqa: F401

        have_torch = True
        if args.flush_denormals:
            torch.set_flush_denormal(True)
            print("denormals flushed to zero on the main thread (torch.set_flush_denormal(True))")
    except ImportError:
        have_torch = False
    rows = []
    for threads in args.threads:
        pin_threads(threads)
        blas_peak, own_peak = gemm_peak_gflops(threads=threads)
        peak = max(blas_peak, own_peak)
        print(f"threads={threads}: float32 GEMM peak (1024^3): numpy BLAS {blas_peak:.0f} GFLOP/s, "
              f"sklstm micro-kernel {own_peak:.0f} GFLOP/s", flush=True)
        for cell in args.cells:
            for B, T, F, H in configs:
                if have_torch:  # timed in alternation: the ratio survives a drifting machine
                    steps = [sklstm_step(cell, B, T, F, H), torch_step(cell, B, T, F, H)]
                    t_s, t_t = paired_best_times(steps, 2 * args.min_time)
                else:
                    t_s = best_time(sklstm_step(cell, B, T, F, H), args.min_time)
                gflops = step_flops(cell, B, T, F, H) / t_s / 1e9
                row = {"cell": cell, "threads": threads, "(B,T,F,H)": f"({B},{T},{F},{H})",
                       "sklstm samples/s": f"{B / t_s:,.0f}", "torch samples/s": "-", "ratio": "-",
                       "sklstm GFLOP/s (% peak)": f"{gflops:.0f} ({100 * gflops / peak:.0f}%)"}
                if have_torch:
                    row["torch samples/s"] = f"{B / t_t:,.0f}"
                    row["ratio"] = f"{t_t / t_s:.2f}x"
                rows.append(row)
                print(row, flush=True)
    table(rows, ["cell", "threads", "(B,T,F,H)", "sklstm samples/s", "torch samples/s", "ratio",
                 "sklstm GFLOP/s (% peak)"])


if __name__ == "__main__":
    main()
