"""Character language models that write text: Jane Austen and Python's own source code.

    python examples/language_model.py            # about three minutes per text on two cores
    python examples/language_model.py --quick    # one epoch each, to check that it runs

For each text the last 10% is held out. ``LSTMLanguageModel`` (an embedding,
one LSTM layer of 256 units with tied input and output weights, dropout,
truncated BPTT over 32 parallel streams) is scored in bits per character next
to a unigram and interpolated Kneser-Ney n-gram models of order 1 to 8 (the
best order picked on the held-out text itself, which flatters the baseline).
Then it writes samples at temperatures 0.5 and 1.0.
"""

import argparse
import math
import warnings

from sklearn.exceptions import ConvergenceWarning

from sklstm import LSTMLanguageModel
from sklstm.datasets import load_lady_susan, load_stdlib_source
from sklstm.language_model import NgramLanguageModel

warnings.simplefilter("ignore", ConvergenceWarning)
parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()


def bits_per_char(model, text):
    return -model.score([text]) / math.log(2)  # score: mean log-likelihood per token, in nats


# (name, text, epochs, dropout, prompt): the source code is more regular and overfits less
corpora = [("Lady Susan", load_lady_susan(), 35, 0.5, ""),
           ("Python standard library", load_stdlib_source(150_000), 16, 0.25, "def ")]
for name, text, epochs, dropout, prompt in corpora:
    cut = int(0.9 * len(text))
    train, test = text[:cut], text[cut:]
    ngrams = {n: bits_per_char(NgramLanguageModel(order=n).fit([train]), test) for n in range(1, 9)}
    best = min(ngrams, key=ngrams.get)
    lm = LSTMLanguageModel(embedding_dim=256, hidden_layer_sizes=(256,), tie_weights=True, dropout=dropout,
                           learning_rate_init=3e-3, batch_size=32, bptt_steps=64,
                           max_iter=1 if args.quick else epochs, random_state=0)
    lm.fit([train])
    print(f"{name}: {len(train):,} characters to train on, {len(test):,} held out; bits per character")
    print(f"  LSTMLanguageModel        {bits_per_char(lm, test):.3f}")
    print(f"  Kneser-Ney {best}-gram       {ngrams[best]:.3f}")
    print(f"  unigram                  {ngrams[1]:.3f}")
    for temperature in (0.5, 1.0):
        print(f"  sample at temperature {temperature}:")
        print("    " + lm.generate(prompt, max_new_tokens=300, temperature=temperature, random_state=0)
              .replace("\n", "\n    "))
