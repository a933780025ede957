"""Special tokens, document checks and vocabulary validation of :class:`sklstm.text.TextVectorizer`."""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

__all__ = ["PAD", "UNK", "BOS", "EOS", "SPECIAL", "DEFAULT_TOKEN_PATTERN", "reserved_tokens",
           "check_documents", "validate_vocabulary", "check_fitted_state"]

#: the padding token, always id 0 (an estimator's default ``padding_idx``)
PAD = "<pad>"
#: the unknown token, always id 1: every token outside the vocabulary
UNK = "<unk>"
#: the beginning-of-sequence token, id 2 when ``bos_eos=True``
BOS = "<bos>"
#: the end-of-sequence token, id 3 when ``bos_eos=True``
EOS = "<eos>"
SPECIAL = (PAD, UNK, BOS, EOS)
#: one-letter words and every punctuation character are tokens of their own
DEFAULT_TOKEN_PATTERN = r"\w+|[^\w\s]"


def reserved_tokens(bos_eos):
    """The special tokens in id order: ``<pad>``, ``<unk>`` (and ``<bos>``, ``<eos>`` with ``bos_eos``)."""
    return [PAD, UNK, BOS, EOS] if bos_eos else [PAD, UNK]


def layout(bos_eos):
    """The fixed ids as text for error messages, e.g. ``"<pad>=0, <unk>=1"``."""
    return ", ".join(f"{t}={i}" for i, t in enumerate(reserved_tokens(bos_eos)))


def check_documents(raw_documents):
    """The documents as a list of str; clear errors for a string, 2D input or non-string items."""
    if isinstance(raw_documents, (str, bytes)):
        raise ValueError("Iterable over raw text documents expected, string object received.")
    shape = getattr(raw_documents, "shape", None)
    if shape is not None and len(shape) != 1:
        raise ValueError(f"TextVectorizer expects a 1D iterable of strings (one per document); got an "
                         f"array-like of shape {tuple(shape)}. Pass one column, e.g. df['text'].")
    try:
        docs = list(raw_documents)
    except TypeError:
        raise TypeError(f"TextVectorizer expects an iterable of strings; got "
                        f"{type(raw_documents).__name__}.") from None
    for i, doc in enumerate(docs):
        if not isinstance(doc, str):
            hint = " (decode bytes to str first)" if isinstance(doc, (bytes, bytearray)) else ""
            raise TypeError(f"document {i} is of type {type(doc).__name__} ({str(doc)[:40]!r}); "
                            f"TextVectorizer expects every document to be a str{hint}.")
    return docs


def validate_vocabulary(vocabulary, bos_eos):
    """A user vocabulary (mapping or iterable) as the full token -> id dict, special tokens first."""
    reserved = reserved_tokens(bos_eos)
    k = len(reserved)
    if isinstance(vocabulary, (str, bytes)):
        raise ValueError("vocabulary must be a mapping token -> id or an iterable of tokens, not a string.")
    if isinstance(vocabulary, (set, frozenset)):
        vocabulary = sorted(vocabulary)
    if isinstance(vocabulary, Mapping):
        items = list(vocabulary.items())
        for tok, i in items:
            if not isinstance(tok, str):
                raise TypeError(f"vocabulary tokens must be str; got {tok!r} ({type(tok).__name__}).")
            if not isinstance(i, numbers.Integral) or isinstance(i, (bool, np.bool_)):
                raise TypeError(f"vocabulary ids must be integers; {tok!r} maps to {i!r}.")
        ids = [int(i) for _, i in items]
        if len(set(ids)) != len(ids):
            raise ValueError("Vocabulary contains repeated indices.")
        specials = {tok: int(i) for tok, i in items if tok in SPECIAL}
        for tok, i in specials.items():
            if tok not in reserved:
                raise ValueError(f"vocabulary holds {tok!r}, which is reserved for bos_eos=True; with "
                                 f"bos_eos={bos_eos} the fixed ids are {layout(bos_eos)}.")
            if i != reserved.index(tok):
                raise ValueError(f"vocabulary maps {tok!r} to {i}; the special tokens have fixed ids "
                                 f"({layout(bos_eos)}).")
        if specials and len(specials) != k:
            missing = [t for t in reserved if t not in specials]
            raise ValueError(f"vocabulary holds some special tokens but not {missing}; give all of "
                             f"{layout(bos_eos)} or none.")
        regular = [(tok, int(i)) for tok, i in items if tok not in SPECIAL]
        want = set(range(k, k + len(regular)))
        if {i for _, i in regular} != want:
            lo = min((i for _, i in regular), default=k)
            hint = (f" Ids 0 to {k - 1} are reserved ({layout(bos_eos)}): number the tokens from {k}, "
                    "or pass a list of tokens." if lo < k else "")
            raise ValueError(f"vocabulary ids of the {len(regular)} tokens must be exactly {k} to "
                             f"{k + len(regular) - 1}, without gaps.{hint}")
        regular.sort(key=lambda ti: ti[1])
        tokens = [tok for tok, _ in regular]
    else:
        tokens = list(vocabulary)
        for j, tok in enumerate(tokens):
            if not isinstance(tok, str):
                raise TypeError(f"vocabulary item {j} is {tok!r} ({type(tok).__name__}); tokens must be str.")
        seen = set()
        for tok in tokens:
            if tok in seen:
                raise ValueError(f"Duplicate term in vocabulary: {tok!r}")
            seen.add(tok)
        if tokens[:k] == reserved:
            tokens = tokens[k:]
        bad = [tok for tok in tokens if tok in SPECIAL]
        if bad:
            raise ValueError(f"vocabulary lists {bad[0]!r} out of place: a list of tokens either leaves "
                             f"the special tokens out or starts with exactly {reserved} (with "
                             f"bos_eos={bos_eos}).")
    if not tokens:
        raise ValueError("empty vocabulary passed: it holds no token besides the special ones.")
    return {tok: i for i, tok in enumerate(reserved + tokens)}


def check_fitted_state(state):
    """Check a saved fitted state (``vocabulary_``, ``vocab_size_``, ``fixed_vocabulary_``), or ValueError."""
    if set(state) != {"vocabulary_", "vocab_size_", "fixed_vocabulary_"}:
        raise ValueError("unexpected TextVectorizer attributes")
    vocab, V, fixed = state["vocabulary_"], state["vocab_size_"], state["fixed_vocabulary_"]
    if not isinstance(vocab, dict) or not isinstance(fixed, bool):
        raise ValueError("vocabulary_ must be a dict and fixed_vocabulary_ a bool")
    if not isinstance(V, int) or isinstance(V, bool) or V != len(vocab):
        raise ValueError("vocab_size_ must be the number of tokens")
    if not all(isinstance(t, str) and type(i) is int for t, i in vocab.items()):
        raise ValueError("vocabulary_ must map str tokens to int ids")
    if sorted(vocab.values()) != list(range(V)):
        raise ValueError("vocabulary_ ids must be 0 to vocab_size_ - 1, each once")
    k = 4 if vocab.get(BOS) == 2 else 2
    fixed_ids = reserved_tokens(k == 4)
    if any(vocab.get(t) != i for i, t in enumerate(fixed_ids)) or V <= k:
        raise ValueError(f"vocabulary_ must start with {fixed_ids} and hold at least one other token")
    if any(t in SPECIAL and vocab[t] >= k for t in vocab):
        raise ValueError("a special token is out of place in vocabulary_")
