"""
Translating dates written in words to ISO dates
===============================================

Sequence to sequence: dates written in words in three languages, translated
to ISO dates. The sources are generated (``sklstm.datasets.make_date_pairs``):
"le vingt-cinq juin mille neuf cent cinquante-sept", "Tuesday, March 31,
1992", "der dritte März zweitausendzwanzig" -> "1957-06-25", ... An
``LSTMSeq2Seq`` reads the characters of the source and writes the ISO date
one character at a time; it is trained without and with Luong attention, and
decoded greedily and with beam search. A nearest-neighbour lookup (the ISO
date of the most similar training source) is the baseline: a date it has not
seen, it cannot write. The figure shows where the attention model looks in
the source while it writes each character of a date.

::

    python examples/translation.py            # about a minute on two cores
    python examples/translation.py --quick    # a small run (or SKLSTM_EXAMPLES_QUICK=1)
"""

import os
import sys
import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

from sklstm import LSTMSeq2Seq
from sklstm.datasets import make_date_pairs

try:
    import matplotlib.pyplot as plt
except ImportError:  # the figures are optional: without matplotlib the script prints its results
    plt = None

QUICK = "--quick" in sys.argv or os.environ.get("SKLSTM_EXAMPLES_QUICK", "0") not in ("", "0")
warnings.simplefilter("ignore", ConvergenceWarning)
n_train, n_test, epochs = (3000, 500, 5) if QUICK else (8000, 2000, 10)

X, y = make_date_pairs(n_train + n_test, spell_years=True, random_state=0)
X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def exact_match(pred, truth):
    return sum(p == t for p, t in zip(pred, truth)) / len(truth)


# %%
# The baseline: the ISO date of the nearest training source
# ---------------------------------------------------------
with warnings.catch_warnings():  # every distinct date is its own class: a lookup table, on purpose
    warnings.simplefilter("ignore", UserWarning)
    lookup = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3)),
                           KNeighborsClassifier(n_neighbors=1, metric="cosine")).fit(X_train, y_train)
    print(f"nearest neighbour: exact match {lookup.score(X_test, y_test):.3f}")

# %%
# An encoder-decoder without and with attention
# ---------------------------------------------
# Exact match of the whole date, greedy decoding and beam search with four
# beams.
for attention in (False, True):
    model = LSTMSeq2Seq(hidden_layer_sizes=64, embedding_dim=32, attention=attention, learning_rate_init=0.01,
                        max_iter=epochs, random_state=0)
    t0 = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - t0
    greedy = exact_match(model.predict(X_test), y_test)
    beam = exact_match(model.predict(X_test, num_beams=4), y_test)
    print(f"LSTMSeq2Seq attention={attention!s:5}: exact match greedy {greedy:.3f}, "
          f"beam search (4) {beam:.3f} (fit {seconds:.0f}s)")

for source in ["le trois mars deux mille vingt", "March 3rd, 2020", "der dritte März zweitausendzwanzig"]:
    print(f"{source!r} -> {model.predict([source])[0]!r}")

# %%
# Where the attention model looks
# -------------------------------
# ``attention_weights`` gives, for each character the decoder writes (and
# the end mark), its softmax over the source characters: the day's digits
# read the day's words, the year's digits the year's.
source = "le vingt-cinq juin mille neuf cent cinquante-sept"
output = model.predict([source])[0]
weights = model.attention_weights([source])[0]  # (len(output) + 1, source characters)
vec = model.source_vectorizer_
source_chars = vec.get_feature_names_out()[vec.transform([source])[0]]
print(f"{source!r} -> {output!r}; each output character reads most from:")
print("  " + ", ".join(f"{o}<-{source_chars[w.argmax()]!r}@{w.argmax()}" for o, w in zip(output, weights)))
if plt is not None:
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.imshow(weights, cmap="Greys", aspect="auto")
    ax.set_xticks(range(len(source_chars)), source_chars)
    ax.set_yticks(range(len(output) + 1), list(output) + ["<eos>"])
    ax.set_xlabel("source character")
    ax.set_ylabel("output character")
    ax.set_title(f"attention weights: {source!r} -> {output!r}")
    fig.tight_layout()
    plt.show()
