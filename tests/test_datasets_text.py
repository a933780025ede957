"""Bundled text: language-identification snippets and Austen's Lady Susan (public domain, no downloads)."""

import doctest
import os
import re
import zipfile

import numpy as np
import pytest

import sklstm.datasets
from sklstm.datasets import load_lady_susan, load_language_snippets

LANGS = ["de", "en", "fr", "it", "la", "nl"]
#: what a Project Gutenberg header, footer, licence or transcriber's note would leave behind
BOILERPLATE = re.compile(r"gutenberg|e-?text|e-?book|https?:|www\.|\*\*\*|produced by|transcriber|"
                         r"illustrati|gallica|remercions|trademark|licen[cs]e|copyright", re.IGNORECASE)
DATA = os.path.join(os.path.dirname(sklstm.datasets.__file__), "data")


@pytest.mark.parametrize("subset,n", [("train", 200), ("test", 100)])
def test_snippet_sizes_and_labels(subset, n):
    texts, y = load_language_snippets(subset)
    assert isinstance(texts, list) and all(isinstance(t, str) for t in texts)
    assert isinstance(y, np.ndarray) and y.dtype.kind == "U" and y.shape == (len(texts),)
    assert len(texts) == 6 * n
    labels, counts = np.unique(y, return_counts=True)
    assert labels.tolist() == LANGS and counts.tolist() == [n] * 6
    lengths = np.array([len(t) for t in texts])
    assert lengths.min() >= 30 and lengths.max() <= 140 and 60 < lengths.mean() < 95
    for t in texts:
        assert t == t.strip() and "  " not in t and "\n" not in t and "_" not in t
        assert re.search(r"[a-z]", t)


def test_snippets_are_distinct_and_the_split_is_fixed():
    train, y_train = load_language_snippets("train")
    test, y_test = load_language_snippets("test")
    assert len(set(train)) == len(train) and len(set(test)) == len(test)
    assert not set(train) & set(test)
    again, y_again = load_language_snippets()
    assert again == train and (y_again == y_train).all()
    assert train[0].startswith("Faust: Der Tragödie erster Teil") and y_train[0] == "de"
    with pytest.raises(ValueError, match="subset"):
        load_language_snippets("all")


def test_snippets_are_in_their_language():
    """Each language's own common function words are found in more of its snippets than any other's."""
    texts, y = load_language_snippets("train")
    markers = {"de": r"\b(und|nicht|ich|die|der)\b", "en": r"\b(the|and|of|to)\b",
               "fr": r"\b(les|et|le|la|de)\b", "it": r"\b(che|non|il|e|di)\b",
               "la": r"\b(et|in|qui|quae|nos|est|tibi|sit)\b", "nl": r"\b(het|een|niet|de|en)\b"}
    for lang in LANGS:
        own = [t for t, lab in zip(texts, y) if lab == lang]
        rate = {m: np.mean([bool(re.search(markers[m], t)) for t in own]) for m in LANGS}
        assert rate[lang] > 0.4 and max(rate, key=rate.get) == lang, (lang, rate)
    assert not any(re.search(r"\b(the|and)\b", t) for t, lab in zip(texts, y) if lab != "en")


def test_lady_susan_is_the_work_only():
    text = load_lady_susan()
    assert isinstance(text, str) and len(text) == 127293 and text.isascii()
    assert text.startswith("LADY SUSAN\n\nby\n\nJane Austen\n")
    assert text.rstrip().endswith("a woman ten years older\nthan herself.")
    assert 22000 < len(text.split()) < 24000
    assert max(len(line) for line in text.splitlines()) <= 76
    assert "MY DEAR BROTHER,--I can no longer refuse myself the pleasure" in text
    assert load_lady_susan() == text


def test_lady_susan_unwrapped():
    wrapped, flat = load_lady_susan(), load_lady_susan(unwrap=True)
    assert flat.split() == wrapped.split()  # the same words, only the line breaks differ
    paragraphs = flat.rstrip("\n").split("\n\n")
    assert all(p and "\n" not in p and p == p.strip() for p in paragraphs)
    assert "\n\n\n" not in flat and max(len(p) for p in paragraphs) > 1000
    assert paragraphs[:3] == ["LADY SUSAN", "by", "Jane Austen"]


def test_no_project_gutenberg_text_is_bundled():
    snippets = load_language_snippets("train")[0] + load_language_snippets("test")[0]
    for t in snippets + [load_lady_susan()]:
        assert not BOILERPLATE.search(t), BOILERPLATE.search(t).group(0)
    # the raw stored bytes too, whatever a loader would skip
    for name in ("language_snippets.npz", "lady_susan.npz"):
        with np.load(os.path.join(DATA, name), allow_pickle=False) as f:
            for k in f.files:
                if f[k].dtype == np.uint8:
                    assert not BOILERPLATE.search(f[k].tobytes().decode("utf-8"))


def test_files_are_small_safe_and_documented():
    total = 0
    for name in ("language_snippets.npz", "lady_susan.npz"):
        path = os.path.join(DATA, name)
        total += os.path.getsize(path)
        with zipfile.ZipFile(path) as zf:
            assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
        with np.load(path, allow_pickle=False) as f:  # no object arrays: loads without pickle
            assert all(f[k].dtype != object for k in f.files)
    assert total < 200_000
    with open(os.path.join(DATA, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    for name in ("language_snippets.npz", "lady_susan.npz"):
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{name}` |"))
        assert "public domain" in row and "music21" in row


def test_docstring_examples_run():
    res = doctest.testmod(sklstm.datasets, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0 and res.attempted > 0


def test_snippets_feed_a_text_vectorizer():
    from sklstm.text import TextVectorizer

    texts, _ = load_language_snippets("train")
    vec = TextVectorizer(analyzer="char").fit(texts)
    assert 40 < vec.vocab_size_ < 120
    ids = np.concatenate(vec.transform(load_language_snippets("test")[0]))
    assert ids.min() >= 1 and ids.max() < vec.vocab_size_
    assert np.mean(ids == 1) < 0.005  # almost every test character was seen in training


def test_stdlib_source_is_read_from_the_running_interpreter():
    import os

    from sklstm.datasets import load_stdlib_source

    text = load_stdlib_source(50_000)
    assert len(text) == 50_000
    first = sorted(f for f in os.listdir(os.path.dirname(os.__file__)) if f.endswith(".py"))[0]
    with open(os.path.join(os.path.dirname(os.__file__), first), encoding="utf-8", errors="replace") as f:
        head = f.read()
    assert text.startswith(head[:1000])
    assert load_stdlib_source(50_000) == text and load_stdlib_source(10)[:10] == text[:10]
    for bad in (0, -5, 2.5, True, "100"):
        with pytest.raises(ValueError, match="n_chars"):
            load_stdlib_source(bad)
