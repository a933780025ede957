"""Generated sequence-to-sequence pairs: written dates -> ISO dates, scene features -> captions."""

import datetime
import re
from collections import Counter

import numpy as np
import pytest

from sklstm._generated_text import _write_date
from sklstm.datasets import make_date_pairs, make_shape_scenes

# Hand-written tables, independent of the module's (which builds compound words by rule).
EN_MONTHS = "January February March April May June July August September October November December".split()
EN_MON = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
EN_WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
EN_DAYS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
           "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth twenty-first "
           "twenty-second twenty-third twenty-fourth twenty-fifth twenty-sixth twenty-seventh twenty-eighth "
           "twenty-ninth thirtieth thirty-first").split()
FR_MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
FR_WEEKDAYS = "lundi mardi mercredi jeudi vendredi samedi dimanche".split()
FR_DAYS = ("premier, deux, trois, quatre, cinq, six, sept, huit, neuf, dix, onze, douze, treize, quatorze, "
           "quinze, seize, dix-sept, dix-huit, dix-neuf, vingt, vingt et un, vingt-deux, vingt-trois, "
           "vingt-quatre, vingt-cinq, vingt-six, vingt-sept, vingt-huit, vingt-neuf, trente, "
           "trente et un").split(", ")
DE_MONTHS = "Januar Februar März April Mai Juni Juli August September Oktober November Dezember".split()
DE_WEEKDAYS = "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag".split()
DE_DAYS = ("erste zweite dritte vierte fünfte sechste siebte achte neunte zehnte elfte zwölfte dreizehnte "
           "vierzehnte fünfzehnte sechzehnte siebzehnte achtzehnte neunzehnte zwanzigste einundzwanzigste "
           "zweiundzwanzigste dreiundzwanzigste vierundzwanzigste fünfundzwanzigste sechsundzwanzigste "
           "siebenundzwanzigste achtundzwanzigste neunundzwanzigste dreißigste einunddreißigste").split()


def _alt(words):
    return "(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")"


_D, _Y = r"(?P<d>[1-9]|[12]\d|3[01])", r"(?P<y>\d{4})"
#: per language, one pattern per format, in the module's order; groups name what they hold
PATTERNS = {
    "en": [rf"(?P<m>{_alt(EN_MONTHS)}) {_D}(?P<sfx>st|nd|rd|th), {_Y}",
           rf"{_D} (?P<m>{_alt(EN_MONTHS)}) {_Y}",
           rf"the (?P<w>{_alt(EN_DAYS)}) of (?P<m>{_alt(EN_MONTHS)}) {_Y}",
           rf"(?P<wd>{_alt(EN_WEEKDAYS)}), (?P<m>{_alt(EN_MONTHS)}) {_D}, {_Y}",
           rf"{_D} (?P<mon>{_alt(EN_MON)}) {_Y}",
           rf"(?P<ml>{_alt(m.lower() for m in EN_MONTHS)}) {_D} {_Y}"],
    "fr": [rf"le (?P<w>{_alt(FR_DAYS)}) (?P<m>{_alt(FR_MONTHS)}) {_Y}",
           rf"(?P<d1>1er|[2-9]|[12]\d|3[01]) (?P<m>{_alt(FR_MONTHS)}) {_Y}",
           rf"(?P<wd>{_alt(FR_WEEKDAYS)}) (?P<d1>1er|[2-9]|[12]\d|3[01]) (?P<m>{_alt(FR_MONTHS)}) {_Y}",
           rf"le (?P<d1>1er|[2-9]|[12]\d|3[01]) (?P<m>{_alt(FR_MONTHS)}) {_Y}"],
    "de": [rf"der (?P<w>{_alt(DE_DAYS)}) (?P<m>{_alt(DE_MONTHS)}) {_Y}",
           rf"{_D}\. (?P<m>{_alt(DE_MONTHS)}) {_Y}",
           rf"(?P<wd>{_alt(DE_WEEKDAYS)}), {_D}\. (?P<m>{_alt(DE_MONTHS)}) {_Y}",
           rf"am {_D}\. (?P<m>{_alt(DE_MONTHS)}) {_Y}"],
}
TABLES = {"en": (EN_MONTHS, EN_WEEKDAYS, EN_DAYS), "fr": (FR_MONTHS, FR_WEEKDAYS, FR_DAYS),
          "de": (DE_MONTHS, DE_WEEKDAYS, DE_DAYS)}


def decode(text, lang):
    """(date, format number) of a written date; fails the test if it is not well formed."""
    months, weekdays, days = TABLES[lang]
    for k, pattern in enumerate(PATTERNS[lang]):
        m = re.fullmatch(pattern, text)
        if m is None:
            continue
        g = m.groupdict()
        if g.get("w"):
            day = days.index(g["w"]) + 1
        elif g.get("d1"):
            day = 1 if g["d1"] == "1er" else int(g["d1"])
        else:
            day = int(g["d"])
        month = (months.index(g["m"]) if g.get("m") else EN_MON.index(g["mon"]) if g.get("mon")
                 else [x.lower() for x in EN_MONTHS].index(g["ml"])) + 1
        date = datetime.date(int(g["y"]), month, day)
        if g.get("sfx"):  # the suffix is the last two letters of the ordinal word: 1st, 12th, 22nd, 23rd
            assert g["sfx"] == EN_DAYS[day - 1][-2:], text
        if g.get("wd"):
            assert weekdays.index(g["wd"]) == date.weekday(), f"{text}: wrong weekday"
        return date, k
    raise AssertionError(f"{text!r} is not a known {lang} way of writing a date")


# ---------------------------------------------------------------------------------------------- dates


def test_date_pairs_types_and_sizes():
    X, y = make_date_pairs(50, random_state=0)
    assert isinstance(X, list) and isinstance(y, list) and len(X) == len(y) == 50
    assert all(isinstance(s, str) for s in X + y)
    X2, y2, langs = make_date_pairs(50, random_state=0, return_languages=True)
    assert (X2, y2) == (X, y)
    assert isinstance(langs, list) and len(langs) == 50 and set(langs) <= {"en", "fr", "de"}


def test_date_pairs_are_deterministic():
    assert make_date_pairs(100, random_state=3) == make_date_pairs(100, random_state=3)
    assert make_date_pairs(100, random_state=np.random.RandomState(3)) == make_date_pairs(100, random_state=3)
    assert make_date_pairs(100, random_state=3) != make_date_pairs(100, random_state=4)


def test_iso_targets_parse_and_lie_in_range():
    _, y = make_date_pairs(3000, random_state=0)
    dates = [datetime.date.fromisoformat(s) for s in y]
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", s) for s in y)
    assert [d.isoformat() for d in dates] == y
    assert min(dates) >= datetime.date(1950, 1, 1) and max(dates) <= datetime.date(2049, 12, 31)
    assert min(dates) < datetime.date(1950, 3, 1) and max(dates) > datetime.date(2049, 11, 1)
    decades = Counter(d.year // 10 for d in dates)  # uniform over the century
    assert sorted(decades) == list(range(195, 205)) and all(240 < c < 360 for c in decades.values()), decades
    assert len({d.month for d in dates}) == 12 and len({d.day for d in dates}) == 31


def test_every_sample_decodes_and_all_languages_and_formats_appear():
    X, y, langs = make_date_pairs(3000, random_state=1, return_languages=True)
    seen = Counter()
    for text, iso, lang in zip(X, y, langs):
        date, k = decode(text, lang)
        assert date == datetime.date.fromisoformat(iso), (text, iso)
        seen[lang, k] += 1
    assert set(seen) == {(lang, k) for lang in PATTERNS for k in range(len(PATTERNS[lang]))}
    counts = Counter(langs)
    assert all(850 < counts[lang] < 1150 for lang in ("en", "fr", "de")), counts


HAND_CHECKED = {
    "2020-03-03": {"en": ["March 3rd, 2020", "3 March 2020", "the third of March 2020",
                          "Tuesday, March 3, 2020", "3 Mar 2020", "march 3 2020"],
                   "fr": ["le trois mars 2020", "3 mars 2020", "mardi 3 mars 2020", "le 3 mars 2020"],
                   "de": ["der dritte März 2020", "3. März 2020", "Dienstag, 3. März 2020",
                          "am 3. März 2020"]},
    "2021-08-01": {"en": ["August 1st, 2021", "1 August 2021", "the first of August 2021",
                          "Sunday, August 1, 2021", "1 Aug 2021", "august 1 2021"],
                   "fr": ["le premier août 2021", "1er août 2021", "dimanche 1er août 2021",
                          "le 1er août 2021"],
                   "de": ["der erste August 2021", "1. August 2021", "Sonntag, 1. August 2021",
                          "am 1. August 2021"]},
    "2012-11-21": {"en": ["November 21st, 2012", "21 November 2012", "the twenty-first of November 2012",
                          "Wednesday, November 21, 2012", "21 Nov 2012", "november 21 2012"],
                   "fr": ["le vingt et un novembre 2012", "21 novembre 2012", "mercredi 21 novembre 2012",
                          "le 21 novembre 2012"],
                   "de": ["der einundzwanzigste November 2012", "21. November 2012",
                          "Mittwoch, 21. November 2012", "am 21. November 2012"]},
    "2049-12-31": {"en": ["December 31st, 2049", "31 December 2049", "the thirty-first of December 2049",
                          "Friday, December 31, 2049", "31 Dec 2049", "december 31 2049"],
                   "fr": ["le trente et un décembre 2049", "31 décembre 2049", "vendredi 31 décembre 2049",
                          "le 31 décembre 2049"],
                   "de": ["der einunddreißigste Dezember 2049", "31. Dezember 2049",
                          "Freitag, 31. Dezember 2049", "am 31. Dezember 2049"]},
}


@pytest.mark.parametrize("iso", sorted(HAND_CHECKED))
@pytest.mark.parametrize("lang", ["en", "fr", "de"])
def test_hand_checked_dates_in_every_format(iso, lang):
    date = datetime.date.fromisoformat(iso)
    expected = HAND_CHECKED[iso][lang]
    assert [_write_date(date, lang, k) for k in range(len(expected))] == expected
    assert [decode(text, lang) for text in expected] == [(date, k) for k in range(len(expected))]
    with pytest.raises(IndexError):  # no format beyond the hand-checked ones and the spelled-out one
        _write_date(date, lang, len(expected) + 1)


@pytest.mark.parametrize("iso,text", [
    ("2011-01-11", "January 11th, 2011"), ("2012-02-12", "February 12th, 2012"),
    ("2013-05-13", "May 13th, 2013"), ("2013-05-22", "May 22nd, 2013"),
    ("2020-06-23", "June 23rd, 2020"), ("2020-02-02", "February 2nd, 2020")])
def test_english_suffixes(iso, text):
    assert _write_date(datetime.date.fromisoformat(iso), "en", 0) == text


@pytest.mark.parametrize("lang,k", [("en", 2), ("fr", 0), ("de", 0)])
def test_every_day_word(lang, k):
    words = TABLES[lang][2]
    for day in range(1, 32):
        date = datetime.date(2020, 1, day)
        assert words[day - 1] in _write_date(date, lang, k).split(" of ")[0]
        assert decode(_write_date(date, lang, k), lang) == (date, k)


@pytest.mark.parametrize("lang,k", [("en", 3), ("fr", 2), ("de", 2)])
def test_weekdays_match_the_calendar(lang, k):
    for n in range(0, 36500, 37):  # every weekday, month and leap day over the century
        date = datetime.date(1950, 1, 1) + datetime.timedelta(days=n)
        text = _write_date(date, lang, k)
        assert text.split(",")[0].split(" ")[0] == TABLES[lang][1][date.weekday()]
        assert decode(text, lang) == (date, k)


def test_language_subset():
    X, y, langs = make_date_pairs(300, languages=("fr",), random_state=0, return_languages=True)
    assert set(langs) == {"fr"}
    assert all(decode(t, "fr")[0].isoformat() == iso for t, iso in zip(X, y))
    assert make_date_pairs(20, languages="de", random_state=0) == make_date_pairs(20, languages=["de"],
                                                                                  random_state=0)
    _, _, langs = make_date_pairs(300, languages=("en", "de"), random_state=0, return_languages=True)
    assert set(langs) == {"en", "de"}


@pytest.mark.parametrize("kwargs", [{"n_samples": 0}, {"n_samples": -3}, {"languages": ()},
                                    {"languages": ("es",)}, {"languages": ("en", "it")},
                                    {"languages": "english"}])
def test_date_pairs_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        make_date_pairs(**{"n_samples": 10, **kwargs})


# --------------------------------------------------------------------------------------------- scenes

SHAPES = ("circle", "square", "triangle")
COLOURS = ("red", "green", "blue", "yellow")
CAPTION = re.compile(r"a (red|green|blue|yellow) (circle|square|triangle) (left|right) of a "
                     r"(red|green|blue|yellow) (circle|square|triangle)")


def _caption_of(features):
    """The caption a noiseless feature vector stands for."""
    objects = []
    for block in (features[:8], features[8:]):
        assert sorted(block[:3].tolist()) == [0, 0, 1] and sorted(block[3:7].tolist()) == [0, 0, 0, 1]
        objects.append((COLOURS[int(block[3:7].argmax())], SHAPES[int(block[:3].argmax())], block[7]))
    (c0, s0, x0), (c1, s1, x1) = objects
    return f"a {c0} {s0} {'left' if x0 < x1 else 'right'} of a {c1} {s1}"


def test_scenes_types_and_shapes():
    X, y = make_shape_scenes(200, random_state=0)
    assert isinstance(X, np.ndarray) and X.dtype == np.float64 and X.shape == (200, 16)
    assert isinstance(y, list) and len(y) == 200 and all(isinstance(s, str) for s in y)
    assert np.isfinite(X).all()


def test_scenes_are_deterministic():
    X1, y1 = make_shape_scenes(100, random_state=5)
    X2, y2 = make_shape_scenes(100, random_state=np.random.RandomState(5))
    np.testing.assert_array_equal(X1, X2)
    assert y1 == y2
    X3, y3 = make_shape_scenes(100, random_state=6)
    assert y3 != y1 and not np.array_equal(X1, X3)


def test_captions_have_the_form():
    _, y = make_shape_scenes(500, random_state=0)
    assert all(CAPTION.fullmatch(s) for s in y)


def test_noiseless_features_decode_to_the_caption():
    X, y = make_shape_scenes(2000, noise=0.0, random_state=1)
    assert [_caption_of(row) for row in X] == y
    x0, x1 = X[:, 7], X[:, 15]
    assert ((x0 >= 0) & (x0 <= 1) & (x1 >= 0) & (x1 <= 1)).all()
    assert (np.abs(x0 - x1) >= 0.1).all()
    # the relation follows the positions
    assert np.array_equal(np.array(["left of" in s for s in y]), x0 < x1)
    assert min(x0.min(), x1.min()) < 0.02 and max(x0.max(), x1.max()) > 0.98
    assert 0.45 < np.mean(x0 < x1) < 0.55  # objects come in random order
    for k in (0, 8):  # every shape and colour in both slots
        assert (X[:, k:k + 3].sum(axis=0) > 0).all() and (X[:, k + 3:k + 7].sum(axis=0) > 0).all()


def test_noise_is_gaussian_on_every_feature_and_keeps_the_scenes():
    X0, y0 = make_shape_scenes(2000, noise=0.0, random_state=2)
    X, y = make_shape_scenes(2000, noise=0.1, random_state=2)
    assert y == y0
    diff = X - X0
    assert (diff != 0).all()
    assert abs(diff.mean()) < 0.005 and 0.095 < diff.std() < 0.105
    assert np.all(np.abs(diff.std(axis=0) - 0.1) < 0.01)


@pytest.mark.parametrize("kwargs", [{"n_samples": 0}, {"n_samples": -1}, {"noise": -0.1},
                                    {"noise": float("nan")}])
def test_scenes_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        make_shape_scenes(**{"n_samples": 10, **kwargs})


# --------------------------------------------------------------------------- years in words
SPELLED = {  # hand-checked: how each year is said
    1950: ("nineteen fifty", "mille neuf cent cinquante", "neunzehnhundertfünfzig"),
    1971: ("nineteen seventy-one", "mille neuf cent soixante et onze", "neunzehnhunderteinundsiebzig"),
    1980: ("nineteen eighty", "mille neuf cent quatre-vingt", "neunzehnhundertachtzig"),
    1981: ("nineteen eighty-one", "mille neuf cent quatre-vingt-un", "neunzehnhunderteinundachtzig"),
    1997: ("nineteen ninety-seven", "mille neuf cent quatre-vingt-dix-sept",
           "neunzehnhundertsiebenundneunzig"),
    2000: ("two thousand", "deux mille", "zweitausend"),
    2001: ("two thousand one", "deux mille un", "zweitausendeins"),
    2016: ("two thousand sixteen", "deux mille seize", "zweitausendsechzehn"),
    2021: ("two thousand twenty-one", "deux mille vingt et un", "zweitausendeinundzwanzig"),
    2049: ("two thousand forty-nine", "deux mille quarante-neuf", "zweitausendneunundvierzig"),
}


@pytest.mark.parametrize("year", sorted(SPELLED))
def test_years_in_words(year):
    from sklstm._generated_text import _write_date

    date = datetime.date(year, 3, 3)
    en, fr, de = SPELLED[year]
    assert _write_date(date, "en", 6) == f"the third of March {en}"
    assert _write_date(date, "fr", 4) == f"le trois mars {fr}"
    assert _write_date(date, "de", 4) == f"der dritte März {de}"


def test_spell_years_adds_one_format_per_language():
    X, y, langs = make_date_pairs(3000, spell_years=True, random_state=0, return_languages=True)
    spelled = [x for x in X if not any(ch.isdigit() for ch in x)]
    assert 0.15 < len(spelled) / len(X) < 0.35  # one format in 7 (en) or 5 (fr, de)
    plain, _ = make_date_pairs(3000, random_state=0)
    assert all(any(ch.isdigit() for ch in x) for x in plain)
    assert {lang for x, lang in zip(X, langs) if x in spelled} == {"en", "fr", "de"}
