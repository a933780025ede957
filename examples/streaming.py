"""Stateful streaming prediction: feed a fitted model one timestep at a time.

    python examples/streaming.py
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklstm import LSTMClassifier

warnings.simplefilter("ignore", ConvergenceWarning)
rng = np.random.default_rng(0)
X = rng.normal(size=(500, 30, 2)).astype(np.float32)
y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
clf = LSTMClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=40, random_state=0).fit(X, y)

stream = clf.stream()
for t, x_t in enumerate(X[0]):
    proba = stream.step_proba(x_t)
    if t % 5 == 4:
        print(f"after {t + 1:2d} steps: P(sum > 0) = {proba[1]:.3f}")
assert np.array_equal(proba, clf.predict_proba(X[:1])[0])
print("the streamed probability equals predict_proba on the whole sequence")
stream.reset()  # next sequence
