"""
Speaker recognition from variable-length speech
===============================================

UCI Japanese Vowels: nine speakers; each utterance is 7 to 29 frames of 12
LPC cepstrum coefficients. The sequences go in as a ragged list, no padding by
hand; a bidirectional ``LSTMClassifier`` reads them. The figures show its
training loss per epoch and the confusion matrix of the test utterances.

::

    python examples/speaker_recognition.py
    python examples/speaker_recognition.py --quick    # fewer epochs (or SKLSTM_EXAMPLES_QUICK=1)
"""

import os
import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import confusion_matrix
from sklearn.pipeline import make_pipeline

from sklstm import LSTMClassifier
from sklstm.datasets import load_japanese_vowels
from sklstm.preprocessing import SequenceScaler

try:
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    from sklstm.inspection import LossCurveDisplay
except ImportError:  # the figures are optional: without matplotlib the script prints its results
    plt = None

QUICK = "--quick" in sys.argv or os.environ.get("SKLSTM_EXAMPLES_QUICK", "0") not in ("", "0")
warnings.simplefilter("ignore", ConvergenceWarning)

# %%
# The data: a ragged list of utterances
# -------------------------------------
X_train, y_train = load_japanese_vowels("train")
X_test, y_test = load_japanese_vowels("test")
print(f"{len(X_train)} training / {len(X_test)} test utterances, "
      f"lengths {min(map(len, X_train + X_test))}-{max(map(len, X_train + X_test))} frames")

# %%
# A bidirectional LSTM
# --------------------
# ``SequenceScaler`` standardises each coefficient over all frames of all
# training utterances; padding is never seen by the scaler nor scored.
model = make_pipeline(
    SequenceScaler(),
    LSTMClassifier(hidden_layer_sizes=(64,), bidirectional=True, learning_rate_init=5e-3,
                   batch_size=32, max_iter=20 if QUICK else 100, tol=1e-6, n_iter_no_change=20,
                   random_state=0),
)
model.fit(X_train, y_train)
print(f"test accuracy: {model.score(X_test, y_test):.3f}")
print("probabilities for the first test utterance:", np.round(model.predict_proba(X_test[:1])[0], 3))
if plt is not None:
    LossCurveDisplay.from_estimator(model[-1])

# %%
# Which speakers are confused
# ---------------------------
print("confusion matrix (rows: true speaker 1-9):")
print(confusion_matrix(y_test, model.predict(X_test)))
if plt is not None:
    ConfusionMatrixDisplay.from_estimator(model, X_test, y_test, colorbar=False)
    plt.title("test utterances: true against predicted speaker")
    plt.show()
