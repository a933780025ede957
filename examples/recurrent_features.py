"""An LSTM as a feature extractor: its final hidden state feeds another estimator.

    python examples/recurrent_features.py
"""

import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sklstm import GRUClassifier, RecurrentFeatures
from sklstm.datasets import load_japanese_vowels
from sklstm.preprocessing import SequenceScaler

warnings.simplefilter("ignore", ConvergenceWarning)
X, y = load_japanese_vowels("train")
Xt, yt = load_japanese_vowels("test")
pipe = make_pipeline(
    SequenceScaler(),
    RecurrentFeatures(GRUClassifier(hidden_layer_sizes=(32,), learning_rate_init=5e-3, max_iter=100,
                                    random_state=0)),
    LogisticRegression(max_iter=1000),
)
pipe.fit(X, y)
print(f"GRU features + logistic regression, test accuracy: {pipe.score(Xt, yt):.3f}")
print("feature matrix:", pipe[:-1].transform(Xt).shape)
