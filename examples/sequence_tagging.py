"""Per-timestep outputs: tag every step of ragged sequences, and sequence-to-sequence regression.

    python examples/sequence_tagging.py
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklstm import LSTMClassifier, LSTMRegressor
from sklstm.datasets import make_embedded_reber

warnings.simplefilter("ignore", ConvergenceWarning)
rng = np.random.default_rng(0)

# 1. tagging: is the running sum of feature 0 positive at this step?
X = [rng.normal(size=(int(rng.integers(5, 40)), 2)) for _ in range(600)]
tags = [np.where(np.cumsum(x[:, 0]) > 0, "above", "below") for x in X]
tagger = LSTMClassifier(hidden_layer_sizes=(32,), return_sequences=True, learning_rate_init=0.01,
                        batch_size=32, max_iter=60, random_state=0).fit(X[:450], tags[:450])
print(f"tagging accuracy over all test steps: {tagger.score(X[450:], tags[450:]):.3f}")
print("first test sequence:", tagger.predict(X[450:451])[0][:8], "...")

# 2. sequence-to-sequence regression of the same length (list in, list out)
targets = [np.cumsum(x[:, 1]) / np.sqrt(np.arange(1, len(x) + 1)) for x in X]
seq2seq = LSTMRegressor(hidden_layer_sizes=(32,), return_sequences=True, learning_rate_init=0.01,
                        batch_size=32, max_iter=60, random_state=0).fit(X[:450], targets[:450])
print(f"per-step R2 on test sequences: {seq2seq.score(X[450:], targets[450:]):.3f}")

# 3. next-symbol prediction on the embedded Reber grammar (Hochreiter & Schmidhuber 1997)
Xr, yr = make_embedded_reber(1000, random_state=0)
reber = LSTMClassifier(hidden_layer_sizes=(16,), return_sequences=True, learning_rate_init=0.01,
                       batch_size=32, max_iter=40, random_state=0).fit(Xr[:800], yr[:800])
pred = reber.predict(Xr[800:])
# the hard step: the symbol before the final E repeats the second one, a long lag back
critical = np.mean([p[-2] == t[-2] for p, t in zip(pred, yr[800:])])
print(f"embedded Reber: critical long-lag symbol predicted correctly in {critical:.1%} of test strings")
