"""
Captioning: a feature vector in, a sentence out
===============================================

The image-captioning pattern on generated scenes. Each sample is a noisy
feature vector of a two-object scene (shape, colour and position of each
object; ``sklstm.datasets.make_shape_scenes``), paired with its caption, "a
red circle left of a blue square". ``LSTMSeq2Seq`` reads the 2D feature
matrix as its source: a learned projection of each row initialises the
decoder, which writes the caption word by word (as image captioning does with
a CNN's feature vector). The baseline copies the caption of the nearest
training vector. The figure draws test scenes from their features, with the
caption the model wrote.

::

    python examples/captioning.py            # about ten seconds
    python examples/captioning.py --quick    # fewer scenes and epochs (or SKLSTM_EXAMPLES_QUICK=1)
"""

import os
import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import KNeighborsClassifier

from sklstm import LSTMSeq2Seq
from sklstm.datasets import make_shape_scenes

try:
    import matplotlib.pyplot as plt
except ImportError:  # the figures are optional: without matplotlib the script prints its results
    plt = None

QUICK = "--quick" in sys.argv or os.environ.get("SKLSTM_EXAMPLES_QUICK", "0") not in ("", "0")
warnings.simplefilter("ignore", ConvergenceWarning)

# %%
# Scenes and captions
# -------------------
# 16 features per scene: for each object a one-hot shape (3), a one-hot
# colour (4) and its horizontal position, plus noise.
n_train, n_test, epochs = (1500, 500, 10) if QUICK else (3000, 1000, 20)
X, y = make_shape_scenes(n_train + n_test, noise=0.1, random_state=0)
X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
print(X_test[0].round(2), "->", repr(y_test[0]))

# %%
# The captioner and the nearest-neighbour baseline
# ------------------------------------------------
model = LSTMSeq2Seq(hidden_layer_sizes=64, embedding_dim=16, target_analyzer="word", learning_rate_init=3e-3,
                    max_iter=epochs, random_state=0).fit(X_train, y_train)
nearest = KNeighborsClassifier(n_neighbors=1).fit(X_train, y_train)
print(f"LSTMSeq2Seq exact match:       {model.score(X_test, y_test):.3f}")
print(f"nearest-neighbour exact match: {nearest.score(X_test, y_test):.3f}")
captions = model.predict(X_test[:6])
for caption, truth in zip(captions[:3], y_test[:3]):
    print(f"{caption!r}  (true: {truth!r})")

# %%
# Scenes drawn from their features, with the model's captions
# ------------------------------------------------------------
# Each object is drawn with its likeliest shape and colour and at its
# position, as the (noisy) features say; a wrong caption is in red.
SHAPES, COLOURS = ("circle", "square", "triangle"), ("red", "green", "blue", "yellow")
if plt is not None:
    fig, axes = plt.subplots(2, 3, figsize=(10, 4.5))
    for ax, features, caption, truth in zip(axes.ravel(), X_test[:6], captions, y_test[:6]):
        for obj in (features[:8], features[8:]):
            shape, colour, x = SHAPES[np.argmax(obj[:3])], COLOURS[np.argmax(obj[3:7])], obj[7]
            marker = {"circle": "o", "square": "s", "triangle": "^"}[shape]
            ax.plot(x, 0.5, marker=marker, markersize=28, color=colour, markeredgecolor="k")
        ax.set_xlim(-0.15, 1.15)
        ax.set_ylim(0, 1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(caption.replace(" of ", " of\n"), fontsize=9, color="k" if caption == truth else "r")
    fig.tight_layout()
    plt.show()
