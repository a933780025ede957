"""
Per-timestep outputs: tagging and sequence-to-sequence regression
=================================================================

``return_sequences=True``: an ``LSTMClassifier`` tags every step of ragged
sequences, an ``LSTMRegressor`` maps a sequence to one of the same length,
and an ``LSTMClassifier`` predicts the next symbol of the embedded Reber
grammar, whose hardest step depends on a symbol many steps back. The figure
shows a test sequence step by step: the predicted tags and values against the
truth.

::

    python examples/sequence_tagging.py
    python examples/sequence_tagging.py --quick    # fewer epochs (or SKLSTM_EXAMPLES_QUICK=1)
"""

import os
import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklstm import LSTMClassifier, LSTMRegressor
from sklstm.datasets import make_embedded_reber

try:
    import matplotlib.pyplot as plt
except ImportError:  # the figures are optional: without matplotlib the script prints its results
    plt = None

QUICK = "--quick" in sys.argv or os.environ.get("SKLSTM_EXAMPLES_QUICK", "0") not in ("", "0")
warnings.simplefilter("ignore", ConvergenceWarning)
rng = np.random.default_rng(0)
epochs = 30 if QUICK else 60

# %%
# Tagging: is the running sum of feature 0 positive at this step?
# ---------------------------------------------------------------
# X is a list of arrays of 5 to 39 steps, y a list of label arrays of the
# same lengths; padding is never scored.
X = [rng.normal(size=(int(rng.integers(5, 40)), 2)) for _ in range(600)]
tags = [np.where(np.cumsum(x[:, 0]) > 0, "above", "below") for x in X]
tagger = LSTMClassifier(hidden_layer_sizes=(32,), return_sequences=True, learning_rate_init=0.01,
                        batch_size=32, max_iter=epochs, random_state=0).fit(X[:450], tags[:450])
print(f"tagging accuracy over all test steps: {tagger.score(X[450:], tags[450:]):.3f}")
print("first test sequence:", tagger.predict(X[450:451])[0][:8], "...")

# %%
# Sequence-to-sequence regression of the same length (list in, list out)
# ----------------------------------------------------------------------
targets = [np.cumsum(x[:, 1]) / np.sqrt(np.arange(1, len(x) + 1)) for x in X]
seq2seq = LSTMRegressor(hidden_layer_sizes=(32,), return_sequences=True, learning_rate_init=0.01,
                        batch_size=32, max_iter=epochs, random_state=0).fit(X[:450], targets[:450])
print(f"per-step R2 on test sequences: {seq2seq.score(X[450:], targets[450:]):.3f}")

# %%
# One test sequence, step by step
# -------------------------------
# Top: the running sum of feature 0, coloured by the predicted tag (a cross
# where the tag is wrong). Bottom: the regressor's output against its target.
i = 450 + int(np.argmax([len(x) for x in X[450:470]]))  # a long one among the first test sequences
steps = np.arange(len(X[i]))
predicted_tags = tagger.predict(X[i:i + 1])[0]
predicted_values = seq2seq.predict(X[i:i + 1])[0]
print(f"test sequence {i}: {len(steps)} steps, {np.sum(predicted_tags != tags[i])} wrong tag(s), "
      f"largest error of the regressor {np.abs(predicted_values - targets[i]).max():.3f}")
if plt is not None:
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    running = np.cumsum(X[i][:, 0])
    top.plot(steps, running, color="0.6", zorder=0)
    top.axhline(0, color="0.8", linestyle=":")
    for tag, colour in (("above", "C0"), ("below", "C1")):
        mark = predicted_tags == tag
        top.scatter(steps[mark], running[mark], color=colour, label=f"predicted {tag!r}")
    wrong = predicted_tags != tags[i]
    top.scatter(steps[wrong], running[wrong], marker="x", s=120, color="r", label="wrong tag")
    top.set_ylabel("running sum of feature 0")
    top.legend(fontsize=8)
    bottom.plot(steps, targets[i], color="k", label="target")
    bottom.plot(steps, predicted_values, color="C2", linestyle="--", label="LSTMRegressor")
    bottom.set_xlabel("step")
    bottom.set_ylabel("scaled running sum")
    bottom.legend(fontsize=8)
    fig.tight_layout()

# %%
# Next-symbol prediction on the embedded Reber grammar
# ----------------------------------------------------
# (Hochreiter & Schmidhuber 1997.) The symbol before the final E repeats the
# second one, a long lag back: the hard step.
Xr, yr = make_embedded_reber(1000, random_state=0)
reber = LSTMClassifier(hidden_layer_sizes=(16,), return_sequences=True, learning_rate_init=0.01,
                       batch_size=32, max_iter=20 if QUICK else 40, random_state=0).fit(Xr[:800], yr[:800])
pred = reber.predict(Xr[800:])
critical = np.mean([p[-2] == t[-2] for p, t in zip(pred, yr[800:])])
print(f"embedded Reber: critical long-lag symbol predicted correctly in {critical:.1%} of test strings")
if plt is not None:
    plt.show()
