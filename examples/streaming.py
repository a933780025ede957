"""
Stateful streaming prediction
=============================

Feed a fitted model one timestep at a time: ``est.stream()`` returns a
predictor whose ``step(x_t)`` (and ``step_proba``) give exactly what
``predict`` gives on the prefix seen so far, at the cost of one step. The
figure shows the streamed probability over a sequence next to
``predict_proba`` run on each prefix in one batch: the same numbers.

::

    python examples/streaming.py
    python examples/streaming.py --quick    # fewer epochs (or SKLSTM_EXAMPLES_QUICK=1)
"""

import os
import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklstm import LSTMClassifier

try:
    import matplotlib.pyplot as plt
except ImportError:  # the figures are optional: without matplotlib the script prints its results
    plt = None

QUICK = "--quick" in sys.argv or os.environ.get("SKLSTM_EXAMPLES_QUICK", "0") not in ("", "0")
warnings.simplefilter("ignore", ConvergenceWarning)

# %%
# A classifier of whole sequences: is the sum of feature 0 positive?
# ------------------------------------------------------------------
rng = np.random.default_rng(0)
X = rng.normal(size=(500, 30, 2)).astype(np.float32)
y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
clf = LSTMClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=15 if QUICK else 40,
                     random_state=0).fit(X, y)

# %%
# Streaming one step at a time
# ----------------------------
stream = clf.stream()
streamed = []
for t, x_t in enumerate(X[0]):
    proba = stream.step_proba(x_t)
    streamed.append(proba[1])
    if t % 5 == 4:
        print(f"after {t + 1:2d} steps: P(sum > 0) = {proba[1]:.3f}")
assert np.array_equal(proba, clf.predict_proba(X[:1])[0])
print("the streamed probability equals predict_proba on the whole sequence")
stream.reset()  # next sequence

# %%
# The same numbers as predict_proba on every prefix
# -------------------------------------------------
# A ragged list of the 30 prefixes of the sequence, in one call.
batch = clf.predict_proba([X[0][:t + 1] for t in range(len(X[0]))])[:, 1]
print(f"largest difference over the {len(batch)} prefixes: {np.abs(batch - streamed).max():.2g}")
if plt is not None:
    steps = np.arange(1, len(streamed) + 1)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(steps, batch, color="C0", linewidth=4, alpha=0.4, label="predict_proba on each prefix")
    ax.plot(steps, streamed, color="C0", marker="o", linestyle="", label="stream().step_proba, step by step")
    ax.step(steps, np.cumsum(X[0][:, 0]) > 0, where="mid", color="k", linestyle=":",
            label="the answer so far: sum > 0")
    ax.set_xlabel("steps seen")
    ax.set_ylabel("P(sum of feature 0 > 0)")
    ax.legend()
    plt.show()
