"""How the cost of one training step grows with T, H and batch size (LSTM, float32, 1 thread).

Expected: linear in T and in batch, about quadratic in H at large H, no cliffs.

    python benchmarks/bench_scaling.py
"""

from __future__ import annotations

from _common import best_time, pin_threads
from bench_train import sklstm_step


def sweep(name, values, make):
    print(f"\n| {name} | ms per step | ms per step / {name} |")
    print("|---|---|---|")
    for v in values:
        t = best_time(sklstm_step("lstm", *make(v)), 0.3, 3)
        print(f"| {v} | {t * 1e3:.2f} | {t * 1e3 / v:.4f} |", flush=True)


def main():
    pin_threads(1)
    print("command: python benchmarks/bench_scaling.py "
          "(LSTM, float32, 1 thread; base B=32, T=100, F=16, H=64)")
    sweep("T", [50, 100, 200, 500, 1000], lambda T: (32, T, 16, 64))
    sweep("batch", [16, 32, 64, 128, 256, 512], lambda B: (B, 100, 16, 64))
    print("\n(for H the last column divides by H; H^2 growth shows as a linear rise)")
    sweep("H", [32, 64, 128, 256, 512], lambda H: (32, 100, 16, H))


if __name__ == "__main__":
    main()
