"""The image-captioning pattern: a feature vector in, a sentence out.

    python examples/captioning.py    # about ten seconds

Each sample is a noisy feature vector of a two-object scene (shape, colour
and position of each object; ``sklstm.datasets.make_shape_scenes``), paired
with its caption, "a red circle left of a blue square". ``LSTMSeq2Seq``
reads the 2D feature matrix as its source: a learned projection of each row
initialises the decoder, which writes the caption word by word (as image
captioning does with a CNN's feature vector). The baseline copies the
caption of the nearest training vector.
"""

import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import KNeighborsClassifier

from sklstm import LSTMSeq2Seq
from sklstm.datasets import make_shape_scenes

warnings.simplefilter("ignore", ConvergenceWarning)
X, y = make_shape_scenes(4000, noise=0.1, random_state=0)
X_train, y_train, X_test, y_test = X[:3000], y[:3000], X[3000:], y[3000:]

model = LSTMSeq2Seq(hidden_layer_sizes=64, embedding_dim=16, target_analyzer="word", learning_rate_init=3e-3,
                    max_iter=20, random_state=0).fit(X_train, y_train)
nearest = KNeighborsClassifier(n_neighbors=1).fit(X_train, y_train)
print(f"LSTMSeq2Seq exact match:       {model.score(X_test, y_test):.3f}")
print(f"nearest-neighbour exact match: {nearest.score(X_test, y_test):.3f}")
for caption, truth in zip(model.predict(X_test[:3]), y_test[:3]):
    print(f"{caption!r}  (true: {truth!r})")
