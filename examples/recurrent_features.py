"""
An LSTM as a feature extractor
==============================

``RecurrentFeatures`` fits a recurrent network on ``y`` and transforms
sequences into its final hidden state, so that a GRU can feed a
``LogisticRegression`` in a ``Pipeline`` (UCI Japanese Vowels, nine
speakers). The figure projects the test utterances' features on their first
two principal components: the speakers separate.

::

    python examples/recurrent_features.py
    python examples/recurrent_features.py --quick    # fewer epochs (or SKLSTM_EXAMPLES_QUICK=1)
"""

import os
import sys
import warnings

from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sklstm import GRUClassifier, RecurrentFeatures
from sklstm.datasets import load_japanese_vowels
from sklstm.preprocessing import SequenceScaler

try:
    import matplotlib.pyplot as plt
except ImportError:  # the figures are optional: without matplotlib the script prints its results
    plt = None

QUICK = "--quick" in sys.argv or os.environ.get("SKLSTM_EXAMPLES_QUICK", "0") not in ("", "0")
warnings.simplefilter("ignore", ConvergenceWarning)

# %%
# GRU features and a logistic regression in one pipeline
# ------------------------------------------------------
X, y = load_japanese_vowels("train")
Xt, yt = load_japanese_vowels("test")
pipe = make_pipeline(
    SequenceScaler(),
    RecurrentFeatures(GRUClassifier(hidden_layer_sizes=(32,), learning_rate_init=5e-3,
                                    max_iter=40 if QUICK else 100, random_state=0)),
    LogisticRegression(max_iter=1000),
)
pipe.fit(X, y)
print(f"GRU features + logistic regression, test accuracy: {pipe.score(Xt, yt):.3f}")
features = pipe[:-1].transform(Xt)
print("feature matrix:", features.shape)

# %%
# The features of the test utterances
# -----------------------------------
# Each utterance is one point: the final hidden state of the GRU (32
# values), projected on the two principal directions of the test features.
projected = PCA(n_components=2).fit_transform(features)
if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 5))
    points = ax.scatter(projected[:, 0], projected[:, 1], c=yt, cmap="tab10", s=12)
    ax.legend(*points.legend_elements(), title="speaker", fontsize=8, loc="best")
    ax.set_xlabel("first principal component")
    ax.set_ylabel("second principal component")
    ax.set_title("GRU features of the test utterances")
    plt.show()
