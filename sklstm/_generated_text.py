"""Generated pairs for sequence-to-sequence demos: written dates and scene captions.

Both generators draw everything from a ``random_state``; nothing is
downloaded. They are re-exported by :mod:`sklstm.datasets`.
"""

from __future__ import annotations

import datetime

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["make_date_pairs", "make_shape_scenes"]

_FIRST = datetime.date(1950, 1, 1).toordinal()
_LAST = datetime.date(2049, 12, 31).toordinal()

_EN_UNITS = "first second third fourth fifth sixth seventh eighth ninth".split()
_FR_UNITS = "un deux trois quatre cinq six sept huit neuf".split()
_DE_UNITS = "ein zwei drei vier fünf sechs sieben acht neun".split()
#: per language: month names, weekday names (Monday first), day words 1..31
_WORDS = {
    "en": ("January February March April May June July August September October November December".split(),
           "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split(),
           _EN_UNITS + ("tenth eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth "
                        "eighteenth nineteenth twentieth").split()
           + [f"twenty-{u}" for u in _EN_UNITS] + ["thirtieth", "thirty-first"]),
    "fr": ("janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split(),
           "lundi mardi mercredi jeudi vendredi samedi dimanche".split(),
           ["premier"] + _FR_UNITS[1:] + "dix onze douze treize quatorze quinze seize".split()
           + [f"dix-{u}" for u in _FR_UNITS[6:]] + ["vingt", "vingt et un"]
           + [f"vingt-{u}" for u in _FR_UNITS[1:]] + ["trente", "trente et un"]),
    "de": ("Januar Februar März April Mai Juni Juli August September Oktober November Dezember".split(),
           "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag".split(),
           ("erste zweite dritte vierte fünfte sechste siebte achte neunte zehnte elfte zwölfte dreizehnte "
            "vierzehnte fünfzehnte sechzehnte siebzehnte achtzehnte neunzehnte zwanzigste").split()
           + [f"{u}undzwanzigste" for u in _DE_UNITS] + ["dreißigste", "einunddreißigste"]),
}
#: per language, the ways of writing a date (fields filled by ``_write_date``)
_FORMATS = {
    "en": ("{Month} {d}{sfx}, {Y}", "{d} {Month} {Y}", "the {word} of {Month} {Y}", "{wd}, {Month} {d}, {Y}",
           "{d} {Mon} {Y}", "{month} {d} {Y}"),
    "fr": ("le {word} {month} {Y}", "{d1} {month} {Y}", "{wd} {d1} {month} {Y}", "le {d1} {month} {Y}"),
    "de": ("der {word} {Month} {Y}", "{d}. {Month} {Y}", "{wd}, {d}. {Month} {Y}", "am {d}. {Month} {Y}"),
}
_LANGUAGES = tuple(_FORMATS)
#: per language, the format that writes the whole date in words (``spell_years=True``)
_SPELLED = {"en": "the {word} of {Month} {Yw}", "fr": "le {word} {month} {Yw}",
            "de": "der {word} {Month} {Yw}"}

_EN_0_19 = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
            "sixteen seventeen eighteen nineteen").split()
_EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_FR_0_16 = ("zéro un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze "
            "seize").split()
_FR_TENS = "_ dix vingt trente quarante cinquante soixante".split()
_DE_0_19 = ("null eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf dreizehn vierzehn fünfzehn "
            "sechzehn siebzehn achtzehn neunzehn").split()
_DE_TENS = "_ _ zwanzig dreißig vierzig fünfzig sechzig siebzig achtzig neunzig".split()


def _en_number(n):
    """0..99 in English words ("forty-two")."""
    if n < 20:
        return _EN_0_19[n]
    return _EN_TENS[n // 10] + ("" if n % 10 == 0 else "-" + _EN_0_19[n % 10])


def _fr_number(n):
    """0..99 in French words, as in a year ("quatre-vingt", "soixante et onze")."""
    if n <= 16:
        return _FR_0_16[n]
    if n < 20:
        return "dix-" + _FR_0_16[n - 10]
    tens, unit = divmod(n, 10)
    if tens in (7, 9):  # soixante-dix.., quatre-vingt-dix..
        base, rest = ("soixante", n - 60) if tens == 7 else ("quatre-vingt", n - 80)
        return base + (" et " if rest == 11 and tens == 7 else "-") + _fr_number(rest)
    base = "quatre-vingt" if tens == 8 else _FR_TENS[tens]
    if unit == 0:
        return base
    return base + (" et un" if unit == 1 and tens != 8 else "-" + _FR_0_16[unit])


def _de_number(n):
    """0..99 in German words, one word ("vierundfünfzig")."""
    if n < 20:
        return _DE_0_19[n]
    tens, unit = divmod(n, 10)
    return ("" if unit == 0 else ("ein" if unit == 1 else _DE_0_19[unit]) + "und") + _DE_TENS[tens]


def _spell_year(year, lang):
    """A year of 1950..2049 in words, as it is said."""
    century, rest = divmod(year, 100)
    if lang == "en":
        if century == 19:
            return "nineteen " + _en_number(rest)
        return "two thousand" + ("" if year == 2000 else " " + _en_number(year - 2000))
    if lang == "fr":
        if century == 19:
            return "mille neuf cent " + _fr_number(rest)
        return "deux mille" + ("" if year == 2000 else " " + _fr_number(year - 2000))
    if century == 19:
        return "neunzehnhundert" + _de_number(rest)
    return "zweitausend" + ("" if year == 2000 else _de_number(year - 2000))


def _write_date(date, lang, k):
    """``date`` written in format number ``k`` of language ``lang`` (the last + 1: all in words)."""
    months, weekdays, words = _WORDS[lang]
    d, month = date.day, months[date.month - 1]
    sfx = "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    if k == len(_FORMATS[lang]):
        return _SPELLED[lang].format(word=words[d - 1], Month=month, month=month.lower(),
                                     Yw=_spell_year(date.year, lang))
    return _FORMATS[lang][k].format(d=d, d1="1er" if d == 1 else d, sfx=sfx, word=words[d - 1], Month=month,
                                    Mon=month[:3], month=month.lower(), wd=weekdays[date.weekday()],
                                    Y=date.year)


def make_date_pairs(n_samples=2000, languages=("en", "fr", "de"), random_state=None, *,
                    spell_years=False, return_languages=False):
    """Dates written as people write them in English, French or German, paired with ISO dates.

    A translation task for encoder-decoder models: each date is drawn
    uniformly between 1950-01-01 and 2049-12-31, then a language uniformly
    among ``languages`` and one of its formats uniformly. English has six
    formats ("March 3rd, 2020", "3 March 2020", "the third of March 2020",
    "Tuesday, March 3, 2020", "3 Mar 2020", "march 3 2020"), French four
    ("le trois mars 2020", "3 mars 2020", "mardi 3 mars 2020",
    "le 3 mars 2020"; day 1 is "premier" or "1er") and German four
    ("der dritte März 2020", "3. März 2020", "Dienstag, 3. März 2020",
    "am 3. März 2020"). Weekdays are the true ones; years stay in digits,
    unless ``spell_years``: each language then has one more format that
    writes the whole date in words ("the third of March two thousand
    twenty", "le trois mars deux mille vingt", "der dritte März
    zweitausendzwanzig"; 19xx years as "nineteen eighty-four", "mille neuf
    cent quatre-vingt-quatre", "neunzehnhundertvierundachtzig").

    Parameters
    ----------
    n_samples : int, default=2000
        Number of pairs.
    languages : sequence of {"en", "fr", "de"} or str, default=("en", "fr", "de")
        The languages to draw from (a single code may be given as a str).
    random_state : int, RandomState instance or None, default=None
        Seed for the dates, languages and formats.
    spell_years : bool, default=False
        Add the format that writes the year in words too.
    return_languages : bool, default=False
        Also return each sample's language code.

    Returns
    -------
    X : list of str
        The written dates.
    y : list of str
        The same dates as ``"YYYY-MM-DD"``.
    langs : list of str
        Each sample's language code; only when ``return_languages=True``.

    Examples
    --------
    >>> from sklstm.datasets import make_date_pairs
    >>> X, y, langs = make_date_pairs(5, random_state=2, return_languages=True)
    >>> list(zip(X, y, langs))  # doctest: +NORMALIZE_WHITESPACE
    [('der elfte Dezember 2014', '2014-12-11', 'de'),
     ('the seventh of October 2046', '2046-10-07', 'en'),
     ('Montag, 4. März 1968', '1968-03-04', 'de'),
     ('le 26 novembre 2032', '2032-11-26', 'fr'),
     ('mardi 5 décembre 2034', '2034-12-05', 'fr')]
    """
    if int(n_samples) < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    languages = (languages,) if isinstance(languages, str) else tuple(languages)
    unknown = [lang for lang in languages if lang not in _FORMATS]
    if not languages or unknown:
        raise ValueError(f"languages must be a non-empty sequence of {_LANGUAGES}, got {languages!r}")
    rng = check_random_state(random_state)
    n = int(n_samples)
    days = rng.randint(_FIRST, _LAST + 1, size=n)
    langs = [languages[i] for i in rng.randint(len(languages), size=n)]
    picks = rng.rand(n)
    X, y = [], []
    for day, lang, pick in zip(days.tolist(), langs, picks.tolist()):
        date = datetime.date.fromordinal(day)
        n_formats = len(_FORMATS[lang]) + bool(spell_years)
        X.append(_write_date(date, lang, int(pick * n_formats)))
        y.append(date.isoformat())
    return (X, y, langs) if return_languages else (X, y)


_SHAPES = ("circle", "square", "triangle")
_COLOURS = ("red", "green", "blue", "yellow")


def make_shape_scenes(n_samples=2000, noise=0.1, random_state=None):
    """Noisy "image embeddings" of two-object scenes, paired with captions.

    The image-captioning pattern on generated data. Each scene holds two
    objects, each with a shape (circle, square, triangle), a colour (red,
    green, blue, yellow) and a
    horizontal position in [0, 1], the two at least 0.1 apart. The feature
    vector holds, per object, a one-hot shape (3), a one-hot colour (4) and
    the position (1), the objects in random order, plus Gaussian noise on
    every feature. The caption names the first object of the vector first:
    "a red circle right of a blue square". The noise is drawn after the
    scenes, so a seed gives the same captions whatever ``noise`` is.

    Parameters
    ----------
    n_samples : int, default=2000
        Number of scenes.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to every feature.
    random_state : int, RandomState instance or None, default=None
        Seed for the scenes and the noise.

    Returns
    -------
    X : ndarray of shape (n_samples, 16), float64
        Features ``[shape(3), colour(4), x(1)]`` of the first object, then of the second.
    y : list of str
        Captions ``"a <colour> <shape> left of|right of a <colour> <shape>"``.

    Examples
    --------
    >>> from sklstm.datasets import make_shape_scenes
    >>> X, y = make_shape_scenes(2, noise=0.0, random_state=0)
    >>> X.shape, X.dtype
    ((2, 16), dtype('float64'))
    >>> y
    ['a yellow circle right of a green square', 'a blue circle left of a red square']
    >>> X[0].round(2).tolist()  # doctest: +NORMALIZE_WHITESPACE
    [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.3,
     0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.06]
    """
    if int(n_samples) < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    rng = check_random_state(random_state)
    n = int(n_samples)
    shapes = rng.randint(len(_SHAPES), size=(n, 2))
    colours = rng.randint(len(_COLOURS), size=(n, 2))
    pos = rng.uniform(0, 1, size=(n, 2))
    close = np.abs(pos[:, 0] - pos[:, 1]) < 0.1
    while close.any():  # rejection keeps the pair uniform over the allowed region
        pos[close] = rng.uniform(0, 1, size=(int(close.sum()), 2))
        close = np.abs(pos[:, 0] - pos[:, 1]) < 0.1
    one_shape, one_colour = np.eye(len(_SHAPES)), np.eye(len(_COLOURS))
    X = np.concatenate([np.concatenate([one_shape[shapes[:, k]], one_colour[colours[:, k]], pos[:, k:k + 1]],
                                       axis=1) for k in range(2)], axis=1)
    X += rng.normal(0.0, float(noise), size=X.shape)
    y = [f"a {_COLOURS[c0]} {_SHAPES[s0]} {'left' if x0 < x1 else 'right'} of a {_COLOURS[c1]} {_SHAPES[s1]}"
         for (s0, s1), (c0, c1), (x0, x1) in zip(shapes.tolist(), colours.tolist(), pos.tolist())]
    return X, y
