"""Where one LSTM training step's time goes, 1 thread, float32 (issue 20 point 2).

The step of ``bench_train.py`` (forward + BPTT + Adam on one batch) is cut
into its pieces, each timed alone on the rows of one part of the batch
(``_objectives.batch_parts``: a batch of 64 or more runs as two parts of half
the rows, one after the other on one thread), best of ``--repeats``:

- ``projection``: the input projection ``x @ W_ih.T + b`` over all steps;
- ``forward`` / ``backward``: the recurrent kernels, with their per-step
  products and elementwise work; ``forward products`` is the per-step
  product alone over the same steps (``forward`` minus it is the gates, cell
  and output);
- ``weight grads``: ``dW_ih`` and ``dW_hh`` (products over all steps);
- ``rest``: the whole step minus the pieces (head, loss, bias sums,
  Python, the optimizer).

Products are also given in GFLOP/s, against the product kernel's own rate
on a 1024^3 product and numpy's BLAS on the same.

    python benchmarks/profile_train.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import header, pin_threads

CONFIGS = [(64, 100, 16, 64), (128, 100, 32, 128)]


def best(fn, repeats):
    fn()
    out = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t0)
    return out


def _step_products(hprev, whh_t, rec):
    """The forward kernel's per-step products alone (its helpers are callable from compiled code only)."""
    from numba import njit

    from sklstm._kernels._ops import step_matmul, step_weights

    @njit(cache=False)
    def run(hprev, whh_t, rec):
        wp = step_weights(whh_t)
        for t in range(hprev.shape[0]):
            step_matmul(hprev[t], wp, whh_t, rec, False, False)

    _COMPILED.setdefault("products", run)
    _COMPILED["products"](hprev, whh_t, rec)


_COMPILED = {}


def profile(B, T, F, H, repeats):
    from bench_train import sklstm_step

    from sklstm._kernels._fpenv import flush_denormals
    from sklstm._kernels._ops import add_weight_grad
    from sklstm._kernels.head import linear_forward
    from sklstm._kernels.lstm import lstm_backward, lstm_forward
    from sklstm._objectives import batch_parts

    parts = len(batch_parts(np.full(B, T)))
    b = B // parts  # rows of one part
    rng = np.random.default_rng(0)
    dt, G = np.float32, 4 * H
    x = rng.standard_normal((T * b, F)).astype(dt)
    wih_t = (rng.standard_normal((F, G)) * 0.1).astype(dt)
    whh = (rng.standard_normal((G, H)) * 0.1).astype(dt)
    whh_t = np.ascontiguousarray(whh.T)
    bias = np.zeros(G, dt)
    lens = np.full(b, T, np.int64)
    zero = np.zeros((b, H), dt)
    xp = np.empty((T, b, G), dt)
    hs, hprev, cs, tcs = (np.empty((T, b, H), dt) for _ in range(4))
    hn, cn, rec = np.empty((b, H), dt), np.empty((b, H), dt), np.empty((b, G), dt)
    dhs = (rng.standard_normal((T, b, H)) * 0.01).astype(dt)
    dgx = np.empty((T, b, G), dt)
    gwi, gwh = np.zeros((G, F), dt), np.zeros((G, H), dt)

    def projection():
        linear_forward(x, wih_t, bias, xp.reshape(T * b, G), False)

    def forward():  # the projection is redone first: the gates are computed in place
        projection()
        lstm_forward(xp, whh_t, bias, lens, False, True, zero, zero, hs, hprev, cs, tcs, xp, hn, cn, rec,
                     False, 0, b)

    def products():
        _step_products(hprev, whh_t, rec)

    def backward():
        lstm_backward(dhs, xp, cs, tcs, zero, whh, lens, False, True, dgx, zero.copy(), zero.copy(), False,
                      0, b)

    def weight_grads():
        add_weight_grad(dgx.reshape(T * b, G), x, gwi)
        add_weight_grad(dgx.reshape(T * b, G), hprev.reshape(T * b, H), gwh)

    step = sklstm_step("lstm", B, T, F, H)
    with flush_denormals():
        forward()
        t = {"step": best(step, repeats)}
        t["projection"] = parts * best(projection, repeats)
        t["forward"] = parts * best(forward, repeats) - t["projection"]
        t["forward products"] = parts * best(products, repeats)
        t["backward"] = parts * best(backward, repeats)
        t["weight grads"] = parts * best(weight_grads, repeats)
    t["rest"] = t["step"] - t["projection"] - t["forward"] - t["backward"] - t["weight grads"]
    flops = {"projection": 2 * T * B * F * G, "forward products": 2 * T * B * H * G,
             "weight grads": 2 * T * B * G * (F + H)}
    return t, flops


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    pin_threads(1)
    header("one LSTM training step, 1 thread, float32: its pieces")
    from sklstm._kernels._ops import matmul

    a = np.random.default_rng(0).standard_normal((1024, 1024)).astype(np.float32)
    out = np.empty_like(a)
    peak = 2 * 1024 ** 3 / best(lambda: matmul(a, a, out, False), 5) / 1e9
    blas = 2 * 1024 ** 3 / best(lambda: a @ a, 5) / 1e9
    print(f"1024^3 product: sklstm {peak:.0f} GFLOP/s, numpy BLAS {blas:.0f} GFLOP/s")
    for cfg in CONFIGS:
        t, flops = profile(*cfg, args.repeats)
        print(f"(B,T,F,H)={cfg}: step {t['step'] * 1e3:.2f} ms ({cfg[0] / t['step']:,.0f} samples/s)")
        for k, v in t.items():
            if k == "step":
                continue
            rate = f", {flops[k] / v / 1e9:.0f} GFLOP/s" if k in flops else ""
            print(f"  {k:17s} {v * 1e3:6.2f} ms  {100 * v / t['step']:4.1f}%{rate}")


if __name__ == "__main__":
    main()
