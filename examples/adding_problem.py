"""
Long time lags: the adding problem, LSTM against a plain RNN
============================================================

The adding problem of Hochreiter & Schmidhuber (1997): each of T steps has a
value drawn from U(0, 1) and a marker; two steps are marked, one in each
half, and the target is the sum of the two marked values
(``sklstm.datasets.make_adding_problem``). Predicting the mean gives a mean
squared error of 0.167. LSTM's constant error carousel carries the gradient
across the lag; the plain tanh RNN's gradient vanishes, which the per-step
gradient norms of the loss show. ``TimestepImportanceDisplay`` then shows
which steps the trained LSTM's prediction depends on: the two marked ones.

::

    python examples/adding_problem.py --quick     # T = 100, about 20 s (or SKLSTM_EXAMPLES_QUICK=1)
    python examples/adding_problem.py             # T = 100, 200, 500, 1000 (curriculum)
"""

import os
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklstm import LSTMRegressor
from sklstm.datasets import make_adding_problem
from sklstm.inspection import TimestepImportanceDisplay, input_gradient_norms, timestep_importance

try:
    import matplotlib.pyplot as plt
except ImportError:  # the figures are optional: without matplotlib the script prints its results
    plt = None

QUICK = "--quick" in sys.argv or os.environ.get("SKLSTM_EXAMPLES_QUICK", "0") not in ("", "0")
warnings.simplefilter("ignore", ConvergenceWarning)
lags = [100] if QUICK else [100, 200, 500, 1000]

# %%
# Training an LSTM and a tanh RNN
# -------------------------------
# Curriculum: each lag continues (``warm_start``) from the model trained on
# the previous one: 10 epochs on 10,000 sequences at T=100, then 3 epochs on
# 5,000 sequences at each longer lag. Trained directly at T=1000, the same
# network stayed at the baseline for 49 epochs. After the first lag, the
# gradient of the loss with respect to each input step is measured
# (``input_gradient_norms``).
curves, models = {}, {}
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
    models[cell] = reg

# %%
# The gradient reaching each input
# --------------------------------
# The mean norm of the loss's gradient with respect to each input step, at
# T=100: the RNN's decays by orders of magnitude towards the first steps,
# so the first marked value cannot teach it anything; the LSTM's does not.
if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for cell, c in curves.items():
        ax.semilogy(np.arange(len(c)), c, label=cell)
    ax.set_xlabel("timestep t")
    ax.set_ylabel("mean |dLoss/dx_t|")
    ax.set_title(f"gradient reaching each input, adding problem T={lags[0]}")
    ax.legend()
    fig.tight_layout()

# %%
# Which steps the trained models read
# -----------------------------------
# ``timestep_importance`` differentiates the model's output (not the loss)
# with respect to each input step of each sequence. The trained LSTM's
# prediction depends almost only on the two marked steps: they are the two
# most important steps of nearly every test sequence. The RNN, which did not
# learn the task, reads the last steps.
T = lags[-1]
Xs, _ = make_adding_problem(200, T, random_state=7)
marked = np.array([np.flatnonzero(x[:, 1]) for x in Xs])
for cell, reg in models.items():
    imp = timestep_importance(reg, Xs, average=False)
    top2 = np.sort(np.argsort(-imp, axis=1)[:, :2], axis=1)
    print(f"{cell}: the two marked steps are the two most important in "
          f"{np.mean((top2 == marked).all(axis=1)):.0%} of {len(Xs)} sequences (T={T})")

# %%
# ``TimestepImportanceDisplay`` draws it for three sequences, the marked
# steps as dashed lines.
if plt is not None:
    fig, axes = plt.subplots(3, 1, figsize=(6, 6), sharex=True)
    for i, ax in enumerate(axes):
        TimestepImportanceDisplay.from_estimator(models["lstm"], Xs[i:i + 1], average=False, ax=ax,
                                                 highlight=marked[i])
        ax.set_title(f"LSTM, sequence {i}: marked steps {marked[i][0]} and {marked[i][1]}")
        ax.set_xlabel("")
    axes[-1].set_xlabel("step t")
    fig.tight_layout()
    plt.show()
