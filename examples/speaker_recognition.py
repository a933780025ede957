"""Speaker recognition from variable-length speech features (UCI Japanese Vowels).

Nine speakers; each utterance is 7 to 29 frames of 12 LPC cepstrum
coefficients. The sequences go in as a ragged list: no padding by hand.

    python examples/speaker_recognition.py
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import confusion_matrix
from sklearn.pipeline import make_pipeline

from sklstm import LSTMClassifier
from sklstm.datasets import load_japanese_vowels
from sklstm.preprocessing import SequenceScaler

warnings.simplefilter("ignore", ConvergenceWarning)

X_train, y_train = load_japanese_vowels("train")
X_test, y_test = load_japanese_vowels("test")
print(f"{len(X_train)} training / {len(X_test)} test utterances, "
      f"lengths {min(map(len, X_train + X_test))}-{max(map(len, X_train + X_test))} frames")

model = make_pipeline(
    SequenceScaler(),
    LSTMClassifier(hidden_layer_sizes=(64,), bidirectional=True, learning_rate_init=5e-3,
                   batch_size=32, max_iter=100, tol=1e-6, n_iter_no_change=20, random_state=0),
)
model.fit(X_train, y_train)
print(f"test accuracy: {model.score(X_test, y_test):.3f}")
print("confusion matrix (rows: true speaker 1-9):")
print(confusion_matrix(y_test, model.predict(X_test)))
print("probabilities for the first test utterance:", np.round(model.predict_proba(X_test[:1])[0], 3))
