"""Long time lags (Hochreiter & Schmidhuber 1997): the adding problem, LSTM vs plain RNN.

Two of T inputs are marked; the target is the sum of the two marked values.
Predicting the mean gives MSE 0.167. LSTM's constant error carousel carries
the gradient across the lag; the plain tanh RNN's gradient vanishes, which
the per-step gradient norms show (saved as adding_gradients.png when
matplotlib is installed).

    python examples/adding_problem.py --quick     # T = 100, about 15 s
    python examples/adding_problem.py             # T = 100, 200, 500, 1000 (curriculum)
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklstm import LSTMRegressor
from sklstm.datasets import make_adding_problem
from sklstm.inspection import input_gradient_norms

warnings.simplefilter("ignore", ConvergenceWarning)
ap = argparse.ArgumentParser()
ap.add_argument("--quick", action="store_true")
args = ap.parse_args()
lags = [100] if args.quick else [100, 200, 500, 1000]

# Curriculum: each lag continues (warm_start) from the model trained on the
# previous one: 10 epochs on 10,000 sequences at T=100, then 3 epochs on
# 5,000 sequences at each longer lag. Trained directly at T=1000, the same
# network stayed at the baseline for 49 epochs.
curves = {}
print(f"{'T':>5} {'cell':>5} {'test MSE':>9} {'seconds':>8}")
for cell in ("lstm", "rnn"):
    reg = LSTMRegressor(hidden_layer_sizes=(32,), cell=cell, learning_rate_init=0.01, batch_size=32,
                        clip_norm=1.0, warm_start=True, random_state=0)
    for stage, T in enumerate(lags):
        X, y = make_adding_problem(10000 if stage == 0 else 5000, T, random_state=stage)
        Xt, yt = make_adding_problem(500, T, random_state=100 + stage)
        reg.set_params(max_iter=10 if stage == 0 else 3)
        t0 = time.perf_counter()
        reg.fit(X, y)
        mse = np.mean((reg.predict(Xt) - yt) ** 2)
        print(f"{T:>5} {cell:>5} {mse:>9.4f} {time.perf_counter() - t0:>8.1f}", flush=True)
        if stage == 0:
            norms = input_gradient_norms(reg, Xt[:200], yt[:200])
            curves[cell] = norms
            print(f"      |dL/dx_t| at t=0 / t=T-1: {norms[0] / norms[-1]:.2e}")

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for cell, c in curves.items():
        ax.semilogy(np.arange(len(c)), c, label=cell)
    ax.set_xlabel("timestep t")
    ax.set_ylabel("mean |dLoss/dx_t|")
    ax.set_title(f"gradient reaching each input, adding problem T={lags[0]}")
    ax.legend()
    fig.tight_layout()
    fig.savefig("adding_gradients.png", dpi=100)
    print("saved adding_gradients.png")
except ImportError:
    print("matplotlib not installed: no plot")
