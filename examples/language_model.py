"""
Character language models that write text
=========================================

Jane Austen and Python's own source code. For each text the last 10% is held
out. ``LSTMLanguageModel`` (an embedding, one LSTM layer of 256 units with
tied input and output weights, dropout, truncated BPTT over 32 parallel
streams) is scored in bits per character next to a unigram and interpolated
Kneser-Ney n-gram models of order 1 to 8 (the best order picked on the
held-out text itself, which flatters the baseline). Then it writes samples at
temperatures 0.5, 1.0 and 1.5, and the figure shows what the temperature does
to the next-character distribution: below 1 it sharpens it (safer, more
repetitive text), above 1 it flattens it (more surprising, more mistakes).

::

    python examples/language_model.py            # about three minutes per text on two cores
    python examples/language_model.py --quick    # a smaller model on a part of each text
"""

import math
import os
import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklstm import LSTMLanguageModel
from sklstm.datasets import load_lady_susan, load_stdlib_source
from sklstm.language_model import NgramLanguageModel

try:
    import matplotlib.pyplot as plt
except ImportError:  # the figures are optional: without matplotlib the script prints its results
    plt = None

QUICK = "--quick" in sys.argv or os.environ.get("SKLSTM_EXAMPLES_QUICK", "0") not in ("", "0")
warnings.simplefilter("ignore", ConvergenceWarning)
TEMPERATURES = (0.5, 1.0, 1.5)


def bits_per_char(model, text):
    return -model.score([text]) / math.log(2)  # score: mean log-likelihood per token, in nats


# %%
# Two texts, a network and the n-gram baselines
# ---------------------------------------------
# (name, text, epochs, dropout, prompt of the samples, prefix of the figure):
# the source code is more regular and overfits less. The quick mode trains a
# smaller network for a few epochs, with more and shorter steps, on the first
# 40,000 characters of each text.
corpora = [("Lady Susan", load_lady_susan(), 35, 0.5, "", "My dear "),
           ("Python standard library", load_stdlib_source(150_000), 16, 0.25, "def ", "    def ")]
width, n_chars, orders = (128, 40_000, range(1, 7)) if QUICK else (256, None, range(1, 9))
steps = dict(learning_rate_init=1e-2, batch_size=16, bptt_steps=32) if QUICK else \
    dict(learning_rate_init=3e-3, batch_size=32, bptt_steps=64)
distributions = {}
for name, text, epochs, dropout, prompt, prefix in corpora:
    text = text[:n_chars]
    cut = int(0.9 * len(text))
    train, test = text[:cut], text[cut:]
    ngrams = {n: bits_per_char(NgramLanguageModel(order=n).fit([train]), test) for n in orders}
    best = min(ngrams, key=ngrams.get)
    lm = LSTMLanguageModel(embedding_dim=width, hidden_layer_sizes=(width,), tie_weights=True,
                           dropout=dropout, max_iter=6 if QUICK else epochs, random_state=0, **steps)
    lm.fit([train])
    print(f"{name}: {len(train):,} characters to train on, {len(test):,} held out; bits per character")
    print(f"  LSTMLanguageModel        {bits_per_char(lm, test):.3f}")
    print(f"  Kneser-Ney {best}-gram       {ngrams[best]:.3f}")
    print(f"  unigram                  {ngrams[1]:.3f}")
    for temperature in TEMPERATURES:
        print(f"  sample at temperature {temperature}:")
        print("    " + lm.generate(prompt, max_new_tokens=300, temperature=temperature, random_state=0)
              .replace("\n", "\n    "))
    distributions[name] = prefix, lm.tokens_, lm.predict_proba([prefix])[0]

# %%
# What the temperature does
# -------------------------
# Sampling at temperature ``T`` draws from ``p ** (1 / T)``, renormalised:
# the likeliest next characters after a prefix of each text, and the entropy
# of the whole distribution.
if plt is not None:
    fig, axes = plt.subplots(len(distributions), 1, figsize=(9, 3.2 * len(distributions)))
for row, (name, (prefix, tokens, p)) in enumerate(distributions.items()):
    top = np.argsort(-p)[:12]
    labels = [{" ": "space", "\n": "newline"}.get(t, t) for t in tokens[top]]
    print(f"{name}: next character after {prefix!r}")
    for k, temperature in enumerate(TEMPERATURES):
        q = p ** (1 / temperature)
        q /= q.sum()
        entropy = -(q[q > 0] * np.log2(q[q > 0])).sum()
        print(f"  T={temperature}: entropy {entropy:.2f} bits; " +
              ", ".join(f"{lab!r} {q[i]:.2f}" for lab, i in zip(labels[:5], top[:5])))
        if plt is not None:
            axes[row].bar(np.arange(len(top)) + (k - 1) * 0.27, q[top], width=0.27,
                          label=f"T={temperature} ({entropy:.2f} bits)")
    if plt is not None:
        axes[row].set_xticks(range(len(top)), labels)
        axes[row].set_ylabel("probability")
        axes[row].set_title(f"{name}: the next character after {prefix!r}")
        axes[row].legend()
if plt is not None:
    fig.tight_layout()
    plt.show()
