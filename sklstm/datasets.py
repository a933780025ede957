"""Bundled real datasets, generated long-time-lag tasks and sequence-to-sequence pairs.

Nothing is downloaded: the real data ship with the package (see
``sklstm/data/README.md`` for sources and licences) and the synthetic tasks
are generated from a ``random_state`` (the sequence-to-sequence pairs,
``make_date_pairs`` and ``make_shape_scenes``, live in ``_generated_text``).
"""

from __future__ import annotations

import os
import re

import numpy as np
from sklearn.utils import check_random_state

from ._generated_text import make_date_pairs, make_shape_scenes

__all__ = ["load_japanese_vowels", "load_airline", "load_language_snippets", "load_lady_susan",
           "load_stdlib_source", "make_adding_problem", "make_temporal_order", "make_embedded_reber",
           "make_contrast_sentiment", "make_date_pairs", "make_shape_scenes", "REBER_SYMBOLS"]

_DATA = os.path.join(os.path.dirname(__file__), "data")


def load_japanese_vowels(subset="train"):
    """UCI Japanese Vowels speaker recognition: variable-length multivariate sequences.

    Nine speakers, 12 LPC cepstrum coefficients per frame, 7 to 29 frames per
    utterance (Kudo et al. 1999; CC BY 4.0).

    Parameters
    ----------
    subset : {"train", "test"}, default="train"
        270 training or 370 test utterances.

    Returns
    -------
    X : list of ndarray of shape (n_frames_i, 12), float32
    y : ndarray of shape (n,), int
        Speaker, 1 to 9.

    Examples
    --------
    >>> from sklstm.datasets import load_japanese_vowels
    >>> X, y = load_japanese_vowels("train")
    >>> len(X), X[0].shape, sorted(set(y.tolist()))[:3]
    (270, (20, 12), [1, 2, 3])
    """
    if subset not in ("train", "test"):
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}")
    with np.load(os.path.join(_DATA, "japanese_vowels.npz"), allow_pickle=False) as f:
        values, lengths, labels = f[f"{subset}_values"], f[f"{subset}_lengths"], f[f"{subset}_labels"]
    X = np.split(values, np.cumsum(lengths)[:-1])
    return X, labels.copy()


def load_airline():
    """Monthly international airline passengers, 1949-1960 (Box & Jenkins series G).

    Returns
    -------
    y : ndarray of shape (144,), float64
        Passengers in thousands, January 1949 to December 1960.

    Examples
    --------
    >>> from sklstm.datasets import load_airline
    >>> y = load_airline()
    >>> y.shape, float(y[0]), float(y[-1])
    ((144,), 112.0, 432.0)
    """
    with np.load(os.path.join(_DATA, "airline.npz"), allow_pickle=False) as f:
        return f["passengers"].astype(np.float64)


def _unpack(blob, lengths):
    """Strings stored as one UTF-8 byte array and their byte lengths."""
    raw = blob.tobytes()
    ends = np.cumsum(lengths)
    return [raw[e - n:e].decode("utf-8") for e, n in zip(ends.tolist(), lengths.tolist())]


def load_language_snippets(subset="train"):
    """Short snippets of public-domain texts in six languages, for language identification.

    Word-aligned snippets of 30 to about 130 characters (whitespace
    collapsed to single spaces, headings and editorial marks removed) from
    Goethe's *Faust I* (de), Austen's *Lady Susan* (en), Voltaire's
    *Candide* (fr), Dante's *Divina Commedia* (it), the hymns of *Hymni
    Ecclesiae* (la) and G. Ribbius's natural-history verses (nl), as shipped
    in the ``music21`` package (see ``sklstm/data/README.md``). 300 per
    language, drawn at evenly spaced positions through each text, never
    overlapping; every third one is in the test split. The split is fixed.

    Parameters
    ----------
    subset : {"train", "test"}, default="train"
        1200 training snippets (200 per language) or 600 test snippets (100
        per language).

    Returns
    -------
    texts : list of str
    y : ndarray of shape (n,), str
        The language: ``"de"``, ``"en"``, ``"fr"``, ``"it"``, ``"la"`` or
        ``"nl"`` (ISO 639-1).

    Examples
    --------
    >>> from sklstm.datasets import load_language_snippets
    >>> texts, y = load_language_snippets("train")
    >>> len(texts), sorted(set(y.tolist()))
    (1200, ['de', 'en', 'fr', 'it', 'la', 'nl'])
    >>> texts[0], str(y[0])
    ('Faust: Der Tragödie erster Teil Johann Wolfgang von', 'de')
    """
    if subset not in ("train", "test"):
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}")
    with np.load(os.path.join(_DATA, "language_snippets.npz"), allow_pickle=False) as f:
        blob, lengths, labels = f[f"{subset}_text"], f[f"{subset}_lengths"], f[f"{subset}_labels"]
    return _unpack(blob, lengths), labels.astype(str)


def load_lady_susan(unwrap=False):
    """Jane Austen's *Lady Susan* (public domain), complete: a text for language models.

    An epistolary novel of about 23,000 words (127,293 characters, ASCII),
    from the Project Gutenberg edition shipped in the ``music21`` package,
    with the Project Gutenberg header and footer lines removed (see
    ``sklstm/data/README.md``).

    Parameters
    ----------
    unwrap : bool, default=False
        False: the text as printed, lines wrapped at 76 characters at most,
        paragraphs and headings separated by blank lines. True: each
        paragraph on one line (the line breaks inside a paragraph become
        spaces), paragraphs separated by exactly one blank line.

    Returns
    -------
    text : str

    Examples
    --------
    >>> from sklstm.datasets import load_lady_susan
    >>> text = load_lady_susan()
    >>> len(text), text[:10]
    (127293, 'LADY SUSAN')
    >>> max(len(line) for line in text.splitlines())
    76
    >>> load_lady_susan(unwrap=True).splitlines()[12][:50]
    'MY DEAR BROTHER,--I can no longer refuse myself th'
    """
    with np.load(os.path.join(_DATA, "lady_susan.npz"), allow_pickle=False) as f:
        text = f["text"].tobytes().decode("utf-8")
    if unwrap:
        paragraphs = re.split(r"\n\s*\n", text.strip("\n"))
        text = "\n\n".join(" ".join(line.strip() for line in p.split("\n")) for p in paragraphs) + "\n"
    return text


_SUBJECTS = ("the film", "the plot", "the acting", "the music", "the ending", "the cast", "the script",
             "the dialogue")
_VERBS = ("was", "is", "felt", "seemed", "looked")
_POSITIVE = ("good", "great", "fine", "superb", "lovely", "clever")
_NEGATIVE = ("bad", "dull", "weak", "awful", "boring", "clumsy")


def load_stdlib_source(n_chars=300_000):
    """Python source code read at run time from the running interpreter's standard library.

    The classic char-rnn "source code" corpus with nothing to bundle: the
    top-level ``.py`` files of the directory holding ``os``, in sorted
    order, joined and cut at ``n_chars`` characters. The text depends on
    the Python version (and is the same for every run of one interpreter).

    Parameters
    ----------
    n_chars : int, default=300000
        Characters to return (fewer if the library is smaller).

    Returns
    -------
    text : str

    Examples
    --------
    >>> from sklstm.datasets import load_stdlib_source
    >>> text = load_stdlib_source(2000)
    >>> len(text), "import" in text
    (2000, True)
    """
    if isinstance(n_chars, bool) or not isinstance(n_chars, (int, np.integer)) or n_chars < 1:
        raise ValueError(f"n_chars must be a positive integer; got {n_chars!r}.")
    root = os.path.dirname(os.__file__)
    parts, total = [], 0
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if not name.endswith(".py") or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            parts.append(f.read())
        total += len(parts[-1])
        if total >= n_chars:
            break
    return "".join(parts)[:int(n_chars)]


def make_contrast_sentiment(n_samples=2000, random_state=None):
    """Short reviews whose label only word order decides: negation and "but" clauses.

    Each review is one clause ("the plot was not dull") or, two times in
    three, two clauses of opposite polarity joined by "but" ("the film was
    good but the ending was not great"); a clause's polarity is its
    adjective's, flipped by "not", and the label is the polarity of the
    last clause. A review and its mirror ("the film was not good but the
    ending was great") hold the same words with opposite labels, and "not"
    flips an adjective's meaning (an exclusive or that no weight per word
    can express), so a linear model on word counts is at chance (about 0.5)
    and one on word pairs stays far from perfect (about 0.66), while a model
    that reads in order can be right on all of them.

    Parameters
    ----------
    n_samples : int, default=2000
        Number of reviews.
    random_state : int, RandomState instance or None, default=None
        Seed for the choice of clauses, words and negations.

    Returns
    -------
    texts : list of str
        The reviews, lowercase words separated by single spaces.
    y : ndarray of shape (n_samples,), str
        ``"positive"`` or ``"negative"``.

    Examples
    --------
    >>> from sklstm.datasets import make_contrast_sentiment
    >>> texts, y = make_contrast_sentiment(3, random_state=2)
    >>> [(t, str(label)) for t, label in zip(texts, y)]  # doctest: +NORMALIZE_WHITESPACE
    [('the plot seemed not clever but the script seemed not weak', 'positive'),
     ('the ending felt not superb but the ending looked not boring', 'positive'),
     ('the plot felt not lovely', 'negative')]
    """
    if int(n_samples) < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    rng = check_random_state(random_state)

    def clause(polarity):
        negated = rng.rand() < 0.5
        words = _POSITIVE if polarity != negated else _NEGATIVE
        return (f"{_SUBJECTS[rng.randint(len(_SUBJECTS))]} {_VERBS[rng.randint(len(_VERBS))]} "
                f"{'not ' if negated else ''}{words[rng.randint(len(words))]}")

    texts, labels = [], []
    for _ in range(int(n_samples)):
        last = bool(rng.rand() < 0.5)
        text = clause(last)
        if rng.rand() < 2 / 3:
            text = f"{clause(not last)} but {text}"
        texts.append(text)
        labels.append("positive" if last else "negative")
    return texts, np.array(labels)


def _check_sizes(n_samples, n_timesteps, minimum):
    if int(n_samples) < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    if int(n_timesteps) < minimum:
        raise ValueError(f"n_timesteps must be >= {minimum}, got {n_timesteps}")


def make_adding_problem(n_samples=1000, n_timesteps=100, random_state=None):
    """The adding problem (Hochreiter & Schmidhuber 1997, as in Le et al. 2015).

    Each step has two inputs: a value drawn from U(0, 1) and a marker. Exactly
    two steps are marked, one in each half of the sequence; the target is the
    sum of the two marked values. Predicting the mean (1.0) gives a mean
    squared error of about 0.167: a model must bridge a lag of up to
    ``n_timesteps`` steps to do better.

    Parameters
    ----------
    n_samples : int, default=1000
    n_timesteps : int, default=100
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, 2), float32
    y : ndarray of shape (n_samples,), float64

    Examples
    --------
    >>> from sklstm.datasets import make_adding_problem
    >>> X, y = make_adding_problem(5, 50, random_state=0)
    >>> X.shape, bool((X[:, :, 1].sum(axis=1) == 2).all())
    ((5, 50, 2), True)
    """
    _check_sizes(n_samples, n_timesteps, 2)
    rng = check_random_state(random_state)
    X = np.zeros((n_samples, n_timesteps, 2), dtype=np.float32)
    X[:, :, 0] = rng.uniform(0, 1, size=(n_samples, n_timesteps))
    half = n_timesteps // 2
    first = rng.randint(0, half, size=n_samples)
    second = rng.randint(half, n_timesteps, size=n_samples)
    rows = np.arange(n_samples)
    X[rows, first, 1] = 1.0
    X[rows, second, 1] = 1.0
    y = X[rows, first, 0].astype(np.float64) + X[rows, second, 0]
    return X, y


def make_temporal_order(n_samples=1000, n_timesteps=100, random_state=None):
    """The temporal order problem (Hochreiter & Schmidhuber 1997, experiment 6a).

    Sequences of random distractor symbols ``a, b, c, d`` start with ``B`` and
    end with ``E``; two relevant symbols, each ``X`` or ``Y``, appear at random
    positions in ``[0.1 T, 0.2 T]`` and ``[0.5 T, 0.6 T]``. The class is their
    order: ``XX``, ``XY``, ``YX`` or ``YY`` (0 to 3). Symbols are one-hot over
    ``a b c d X Y B E``.

    Parameters
    ----------
    n_samples : int, default=1000
    n_timesteps : int, default=100
        At least 20.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, 8), float32
    y : ndarray of shape (n_samples,), int

    Examples
    --------
    >>> from sklstm.datasets import make_temporal_order
    >>> X, y = make_temporal_order(4, 40, random_state=0)
    >>> X.shape, float(X.sum(axis=2).min())
    ((4, 40, 8), 1.0)
    """
    _check_sizes(n_samples, n_timesteps, 20)
    rng = check_random_state(random_state)
    T = int(n_timesteps)
    sym = rng.randint(0, 4, size=(n_samples, T))
    sym[:, 0], sym[:, -1] = 6, 7
    t1 = rng.randint(T // 10, T // 5 + 1, size=n_samples)
    t2 = rng.randint(T // 2, 3 * T // 5 + 1, size=n_samples)
    a, b = rng.randint(0, 2, size=n_samples), rng.randint(0, 2, size=n_samples)
    rows = np.arange(n_samples)
    sym[rows, t1] = 4 + a
    sym[rows, t2] = 4 + b
    X = np.eye(8, dtype=np.float32)[sym]
    return X, 2 * a + b


REBER_SYMBOLS = "BTSXPVE"
# Reber grammar: state -> list of (symbol, next state); state 5 is the end
_REBER = {0: [("T", 1), ("P", 2)], 1: [("S", 1), ("X", 3)], 2: [("T", 2), ("V", 4)],
          3: [("X", 2), ("S", 5)], 4: [("P", 3), ("V", 5)]}


def _reber_string(rng):
    out, state = [], 0
    while state != 5:
        sym, state = _REBER[state][rng.randint(0, 2)]
        out.append(sym)
    return out


def make_embedded_reber(n_samples=1000, random_state=None):
    """Embedded Reber grammar strings for next-symbol prediction (Hochreiter & Schmidhuber 1997, exp. 1).

    Each string is ``B, T|P, <Reber string>, T|P, E`` where the second and the
    second-to-last symbols are equal: predicting the latter needs the former,
    across the whole embedded string.

    Parameters
    ----------
    n_samples : int, default=1000
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : list of ndarray of shape (length_i - 1, 7), float32
        One-hot symbols (``REBER_SYMBOLS`` order), all but the last.
    y : list of ndarray of shape (length_i - 1,), str
        The next symbol at every step (for ``return_sequences=True``).

    Examples
    --------
    >>> from sklstm.datasets import make_embedded_reber
    >>> X, y = make_embedded_reber(3, random_state=0)
    >>> str(y[0][-1]), bool(y[0][-2] == y[0][0])
    ('E', True)
    """
    if int(n_samples) < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    rng = check_random_state(random_state)
    eye = np.eye(len(REBER_SYMBOLS), dtype=np.float32)
    X, y = [], []
    for _ in range(int(n_samples)):
        branch = "TP"[rng.randint(0, 2)]
        s = ["B", branch, "B"] + _reber_string(rng) + ["E", branch, "E"]
        idx = [REBER_SYMBOLS.index(c) for c in s]
        X.append(eye[idx[:-1]])
        y.append(np.array(s[1:]))
    return X, y
