"""sklstm.text.TextVectorizer: raw strings to token-id sequences, with CountVectorizer's habits."""

import doctest
import inspect
import io
import json
import pickle
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.pipeline import make_pipeline
from sklearn.utils import estimator_checks as ec

import sklstm
import sklstm.text
from sklstm.text import BOS, EOS, PAD, UNK, TextVectorizer

CORPUS = ["The cat sat on the mat.", "A dog sat!", "the dog and the cat"]


def _ids(out):
    return [a.tolist() for a in out]


# --------------------------------------------------------------------------- vocabulary and ids
def test_default_pattern_keeps_one_letter_words_and_punctuation():
    vec = TextVectorizer().fit(["I saw a cat, a dog."])
    assert {"i", "a", ",", "."} <= set(vec.vocabulary_)
    cv = CountVectorizer().fit(["I saw a cat, a dog."])
    assert "a" not in cv.vocabulary_  # the difference from CountVectorizer's default


def test_layout_and_order_by_frequency_then_code_point():
    vec = TextVectorizer().fit(CORPUS)
    names = vec.get_feature_names_out()
    assert names.dtype == object and names[:2].tolist() == [PAD, UNK]
    # 'the' 4 times, then cat/dog/sat twice (code-point order), then the singletons
    assert names[2:6].tolist() == ["the", "cat", "dog", "sat"]
    assert names[6:].tolist() == sorted(names[6:].tolist())
    assert vec.vocab_size_ == len(vec.vocabulary_) == len(names)
    assert all(vec.vocabulary_[t] == i for i, t in enumerate(names))
    assert vec.fixed_vocabulary_ is False


def test_bos_eos_layout_and_marks():
    vec = TextVectorizer(bos_eos=True).fit(CORPUS)
    assert vec.get_feature_names_out()[:4].tolist() == [PAD, UNK, BOS, EOS]
    assert vec.vocabulary_["the"] == 4
    out = vec.transform(["the cat", ""])
    assert out[0].tolist() == [2, 4, vec.vocabulary_["cat"], 3] and out[1].tolist() == [2, 3]
    assert vec.inverse_transform(out) == ["the cat", ""]


def test_transform_output_types_unknowns_and_empty_documents():
    vec = TextVectorizer().fit(CORPUS)
    out = vec.transform(["The zebra sat", "", "?!"])
    assert isinstance(out, list) and len(out) == 3
    assert all(isinstance(a, np.ndarray) and a.dtype == np.int64 and a.ndim == 1 for a in out)
    assert out[0].tolist() == [vec.vocabulary_["the"], 1, vec.vocabulary_["sat"]]
    assert out[1].size == 0
    assert out[2].tolist() == [1, vec.vocabulary_["!"]]
    assert vec.transform([]) == []


def test_special_spellings_from_text_are_unknown():
    vec = TextVectorizer(analyzer=str.split, bos_eos=True).fit(["<pad> a <eos> <unk> b <bos>"])
    assert sorted(vec.vocabulary_) == sorted([PAD, UNK, BOS, EOS, "a", "b"])
    assert vec.transform(["<pad> a <eos>"])[0].tolist() == [2, 1, vec.vocabulary_["a"], 1, 3]


def test_lowercase_and_char_analyzer():
    assert "The" in TextVectorizer(lowercase=False).fit(CORPUS).vocabulary_
    vec = TextVectorizer(analyzer="char").fit(["Ab b\na"])
    assert set(vec.vocabulary_) == {PAD, UNK, "a", "b", " ", "\n"}
    assert vec.inverse_transform(vec.transform(["BA\n ab"])) == ["ba\n ab"]
    assert TextVectorizer(analyzer="char", lowercase=False).fit(["Ab"]).vocabulary_["A"] == 2


def test_callable_analyzer_gets_the_raw_document():
    seen = []

    def analyzer(doc):
        seen.append(doc)
        return doc.split("-")

    vec = TextVectorizer(analyzer=analyzer).fit(["Ab-cd-ab"])
    assert seen == ["Ab-cd-ab"] and set(vec.vocabulary_) == {PAD, UNK, "Ab", "cd", "ab"}
    assert vec.inverse_transform(vec.transform(["cd-x"])) == ["cd <unk>"]
    with pytest.raises(TypeError, match="returned a str"):
        TextVectorizer(analyzer=lambda d: d).fit(["ab"])
    with pytest.raises(TypeError, match="token 3 .int."):
        TextVectorizer(analyzer=lambda d: [3]).fit(["ab"])
    vec = TextVectorizer(analyzer=lambda d: d.split()).fit(["a b"])
    vec.set_params(analyzer=lambda d: [["a"]])
    with pytest.raises(TypeError, match="tokens must be str"):
        vec.transform(["a"])


def test_token_pattern_group_and_errors():
    vec = TextVectorizer(token_pattern=r"#(\w+)").fit(["#a b #cd"])
    assert set(vec.vocabulary_) == {PAD, UNK, "a", "cd"}
    with pytest.raises(ValueError, match="More than 1 capturing group"):
        TextVectorizer(token_pattern=r"(a)(b)").fit(["ab"])
    with pytest.raises(ValueError, match="not a valid regular expression"):
        TextVectorizer(token_pattern="(").fit(["ab"])
    with pytest.warns(UserWarning, match="token_pattern"):
        TextVectorizer(analyzer="char", token_pattern=r"\w").fit(["ab"])


def test_max_features_breaks_ties_by_code_point():
    vec = TextVectorizer(max_features=3).fit(["d c b a a", "b c d"])
    assert vec.get_feature_names_out().tolist() == [PAD, UNK, "a", "b", "c"]
    assert TextVectorizer(max_features=100).fit(["a b"]).vocab_size_ == 4


@pytest.mark.parametrize("min_df,max_df", [(1, 1.0), (2, 1.0), (0.5, 1.0), (1, 2), (1, 0.7), (0.0, 0.5)])
def test_min_df_max_df_keep_the_same_tokens_as_countvectorizer(min_df, max_df):
    docs = ["a b c", "a b", "a d", "e"]
    pattern = r"(?u)\b\w+\b"
    ours = TextVectorizer(token_pattern=pattern, min_df=min_df, max_df=max_df).fit(docs)
    cv = CountVectorizer(token_pattern=pattern, min_df=min_df, max_df=max_df).fit(docs)
    assert set(ours.get_feature_names_out()[2:]) == set(cv.get_feature_names_out())


def test_pruning_errors():
    with pytest.raises(ValueError, match="max_df corresponds to < documents than min_df"):
        TextVectorizer(min_df=3, max_df=2).fit(["a", "a", "a"])
    with pytest.raises(ValueError, match="After pruning, no tokens remain"):
        TextVectorizer(min_df=2).fit(["a", "b"])
    with pytest.raises(ValueError, match="empty vocabulary: the documents hold no tokens"):
        TextVectorizer().fit(["", "   "])
    with pytest.raises(ValueError, match="no characters"):
        TextVectorizer(analyzer="char").fit([""])


@pytest.mark.parametrize("params", [{"min_df": 0}, {"min_df": 1.5}, {"max_features": 0},
                                    {"analyzer": "char_wb"}, {"lowercase": "yes"}, {"bos_eos": 1},
                                    {"token_pattern": None}, {"vocabulary": 3}])
def test_invalid_parameters(params):
    with pytest.raises(ValueError):
        TextVectorizer(**params).fit(["a"])


# --------------------------------------------------------------------------- a given vocabulary
def test_vocabulary_as_list_mapping_set_and_round_trip():
    a = TextVectorizer(vocabulary=["cat", "dog"]).fit(CORPUS)
    assert a.vocabulary_ == {PAD: 0, UNK: 1, "cat": 2, "dog": 3} and a.fixed_vocabulary_
    b = TextVectorizer(vocabulary={"dog": 3, "cat": 2}).fit(CORPUS)
    c = TextVectorizer(vocabulary={PAD: 0, UNK: 1, "cat": 2, "dog": 3}).fit(CORPUS)
    d = TextVectorizer(vocabulary={"dog", "cat"}).fit(CORPUS)
    e = TextVectorizer(vocabulary=a.get_feature_names_out()).fit(CORPUS)
    for v in (b, c, d, e):
        assert v.vocabulary_ == a.vocabulary_
    bos = TextVectorizer(vocabulary={"cat": 4}, bos_eos=True).fit(CORPUS)
    assert bos.vocabulary_ == {PAD: 0, UNK: 1, BOS: 2, EOS: 3, "cat": 4}
    fitted = TextVectorizer(bos_eos=True).fit(CORPUS)
    again = TextVectorizer(bos_eos=True, vocabulary=fitted.get_feature_names_out().tolist()).fit(["x"])
    assert again.vocabulary_ == fitted.vocabulary_


def test_vocabulary_ignores_pruning_and_transforms_unfitted():
    vec = TextVectorizer(vocabulary=["cat", "mat"], min_df=5, max_features=1)
    assert vec.transform(["the cat"])[0].tolist() == [1, 2]  # like CountVectorizer: no fit needed
    assert vec.fit(CORPUS).vocab_size_ == 4


@pytest.mark.parametrize("vocabulary,bos_eos,match", [
    ({"cat": 0, "dog": 1}, False, "Ids 0 to 1 are reserved"),
    ({"cat": 2, "dog": 4}, False, "without gaps"),
    ({"cat": 2, "dog": 2}, False, "repeated indices"),
    ({PAD: 1, UNK: 0, "cat": 2}, False, "fixed ids"),
    ({PAD: 0, "cat": 2}, False, "some special tokens"),
    ({PAD: 0, UNK: 1, BOS: 2, EOS: 3, "cat": 4}, False, "reserved for bos_eos=True"),
    ({"cat": 2}, True, "Ids 0 to 3 are reserved"),
    (["cat", "cat"], False, "Duplicate term"),
    (["cat", UNK], False, "out of place"),
    ([PAD, UNK, "cat"], True, "out of place"),
    ([PAD, UNK], False, "empty vocabulary"),
    ([], False, "empty vocabulary"),
    ("cat", False, "not a string"),
])
def test_bad_vocabularies(vocabulary, bos_eos, match):
    with pytest.raises(ValueError, match=match):
        TextVectorizer(vocabulary=vocabulary, bos_eos=bos_eos).fit(["cat"])


def test_vocabulary_token_types():
    with pytest.raises(TypeError, match="tokens must be str"):
        TextVectorizer(vocabulary=["a", 3]).fit(["a"])
    with pytest.raises(TypeError, match="ids must be integers"):
        TextVectorizer(vocabulary={"a": 2.0}).fit(["a"])
    with pytest.raises(TypeError, match="tokens must be str"):
        TextVectorizer(vocabulary={3: 2}).fit(["a"])


# --------------------------------------------------------------------------- input validation
def test_input_validation():
    vec = TextVectorizer().fit(CORPUS)
    for fn in (TextVectorizer().fit, TextVectorizer().fit_transform, vec.transform):
        with pytest.raises(ValueError, match="Iterable over raw text documents expected, string object"):
            fn("the cat")
        with pytest.raises(TypeError, match=r"document 1 is of type NoneType"):
            fn(["a", None])
        with pytest.raises(TypeError, match=r"document 0 is of type bytes .*decode bytes"):
            fn([b"a"])
        with pytest.raises(TypeError, match=r"document 2 is of type float"):
            fn(["a", "b", float("nan")])
        with pytest.raises(ValueError, match=r"shape \(2, 1\)"):
            fn(np.array([["a"], ["b"]]))
        with pytest.raises(TypeError, match="iterable of strings"):
            fn(3)
    with pytest.raises(ValueError, match="empty corpus"):
        TextVectorizer().fit([])
    out = vec.transform(np.array(["the cat", "a dog"]))  # numpy strings and generators work too
    assert _ids(out) == _ids(vec.transform(d for d in ["the cat", "a dog"]))


def test_pandas_inputs():
    pd = pytest.importorskip("pandas")
    s = pd.Series(CORPUS, index=[5, 7, 9])
    vec = TextVectorizer().fit(s)
    assert vec.vocabulary_ == TextVectorizer().fit(CORPUS).vocabulary_
    with pytest.raises(ValueError, match="one column"):
        TextVectorizer().fit(pd.DataFrame({"text": CORPUS}))
    with pytest.raises(TypeError, match="document 1 is of type"):
        TextVectorizer().fit(pd.Series(["a", None]))


def test_not_fitted():
    vec = TextVectorizer()
    for fn in (vec.transform, vec.inverse_transform):
        with pytest.raises(NotFittedError):
            fn(["a"])
    with pytest.raises(NotFittedError):
        vec.get_feature_names_out()


# --------------------------------------------------------------------------- inverse_transform
def test_inverse_transform_forms_and_special_tokens():
    vec = TextVectorizer(bos_eos=True).fit(CORPUS)
    the, cat = vec.vocabulary_["the"], vec.vocabulary_["cat"]
    padded = np.array([[2, the, cat, 3, 0, 0], [the, 1, 0, 0, 0, 0]], dtype=np.int32)
    assert vec.inverse_transform(padded) == ["the cat", "the <unk>"]
    assert vec.inverse_transform([[the, cat], np.array([], dtype=np.int64), []]) == ["the cat", "", ""]
    assert vec.inverse_transform(np.array([np.array([the]), np.array([cat, the])], dtype=object)) == \
        ["the", "cat the"]
    assert vec.inverse_transform([np.array([the, 0, cat], dtype=np.uint8)]) == ["the cat"]
    assert vec.inverse_transform([]) == []
    words = TextVectorizer().fit(["cat, dog"])
    assert words.inverse_transform(words.transform(["Cat, dog"])) == ["cat , dog"]  # not exact spacing


def test_inverse_transform_errors():
    vec = TextVectorizer().fit(CORPUS)
    V = vec.vocab_size_
    with pytest.raises(ValueError, match=r"1D array .* \[ids\]"):
        vec.inverse_transform(np.array([2, 3]))
    with pytest.raises(ValueError, match="shape"):
        vec.inverse_transform(np.zeros((1, 2, 3), dtype=int))
    with pytest.raises(ValueError, match=f"sequence 1 holds the id {V}, outside"):
        vec.inverse_transform([[2], [V]])
    with pytest.raises(ValueError, match="sequence 0 holds the id -1"):
        vec.inverse_transform([[-1, 2]])
    with pytest.raises(ValueError, match="dtype float64; token ids must be integers"):
        vec.inverse_transform([[2.0, 3.0]])
    with pytest.raises(ValueError, match="must be integers"):
        vec.inverse_transform(np.array([[2.5, np.nan]]))
    with pytest.raises(ValueError, match="sequence 0 has shape"):
        vec.inverse_transform([[[2]]])
    with pytest.raises(TypeError, match="not a string"):
        vec.inverse_transform("2 3")
    with pytest.raises(TypeError, match="got int"):
        vec.inverse_transform(3)


# --------------------------------------------------------------------------- scikit-learn API
@pytest.mark.parametrize("check", [
    ec.check_estimator_cloneable, ec.check_estimator_tags_renamed, ec.check_valid_tag_types,
    ec.check_estimator_repr, ec.check_no_attributes_set_in_init, ec.check_get_params_invariance,
    ec.check_set_params, ec.check_parameters_default_constructible,
    ec.check_do_not_raise_errors_in_init_or_set_params, ec.check_mixin_order,
], ids=lambda c: c.__name__)
def test_sklearn_api_checks(check):
    check("TextVectorizer", TextVectorizer())


def test_tags_and_check_estimator_skips_numeric_checks():
    from sklearn.utils import get_tags

    tags = get_tags(TextVectorizer())
    assert tags.input_tags.string and not tags.input_tags.two_d_array
    assert tags.transformer_tags.preserves_dtype == [] and tags.requires_fit
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ec.check_estimator(TextVectorizer())
    assert any("Can't test estimator" in str(x.message) for x in w)
    assert not hasattr(TextVectorizer().fit(CORPUS), "n_features_in_")  # as CountVectorizer


def test_fit_returns_self_does_not_change_params_and_clone_refits():
    vec = TextVectorizer(max_features=4, min_df=1, bos_eos=True)
    before = vec.get_params()
    assert vec.fit(CORPUS) is vec and vec.get_params() == before
    c = clone(vec)
    assert not hasattr(c, "vocabulary_") and c.get_params() == before
    vec.set_params(max_features=2)
    assert vec.fit(CORPUS).vocab_size_ == 6


def test_fit_transform_equals_fit_then_transform():
    for params in ({}, {"analyzer": "char", "bos_eos": True}, {"analyzer": str.split}):
        a = TextVectorizer(**params).fit_transform(CORPUS)
        b = TextVectorizer(**params).fit(CORPUS).transform(CORPUS)
        assert _ids(a) == _ids(b)


def test_public_methods_have_docstrings_and_examples_run():
    for name, member in vars(TextVectorizer).items():
        if callable(member) and not name.startswith("_"):
            assert inspect.getdoc(member), name
    doc = inspect.getdoc(TextVectorizer)
    for section in ("Parameters\n----------", "Attributes\n----------", "Examples\n--------"):
        assert section in doc
    res = doctest.testmod(sklstm.text, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0 and res.attempted >= 5


def test_set_output_is_accepted_and_output_stays_a_list():
    vec = TextVectorizer().fit(CORPUS)
    assert vec.set_output(transform="pandas") is vec
    assert vec.set_output(transform=None) is vec
    assert isinstance(vec.transform(CORPUS), list)
    with pytest.raises(ValueError, match="transform must be"):
        vec.set_output(transform="arrow")


def test_global_pandas_output_does_not_break_transform():
    pytest.importorskip("pandas")
    import sklearn

    with sklearn.config_context(transform_output="pandas"):
        vec = TextVectorizer(bos_eos=True)
        out = vec.fit_transform(CORPUS)
        assert isinstance(out, list) and _ids(out) == _ids(vec.transform(CORPUS))


def test_pipeline_with_an_embedding_classifier():
    from sklstm import LSTMClassifier

    X = ["good film", "bad film", "very good", "very bad", "so good", "so bad"] * 4
    y = np.array([1, 0] * 12)
    pipe = make_pipeline(TextVectorizer(), LSTMClassifier(embedding_dim=4, hidden_layer_sizes=(4,),
                                                          max_iter=3, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X, y)
        pipe.set_output(transform="pandas")  # reaches the vectorizer, which keeps its lists
        pred = pipe.predict(["good good film", "an unseen word"])
    assert pred.shape == (2,) and set(pred) <= {0, 1}
    back = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(back.predict_proba(X), pipe.predict_proba(X))


# --------------------------------------------------------------------------- saving
def test_pickle_round_trip():
    for vec in (TextVectorizer().fit(CORPUS), TextVectorizer(analyzer="char", bos_eos=True).fit(CORPUS),
                TextVectorizer()):
        back = pickle.loads(pickle.dumps(vec))
        assert back.get_params() == vec.get_params()
        if hasattr(vec, "vocabulary_"):
            assert back.vocabulary_ == vec.vocabulary_
            assert _ids(back.transform(CORPUS)) == _ids(vec.transform(CORPUS))


@pytest.mark.parametrize("params", [{}, {"analyzer": "char", "bos_eos": True, "lowercase": False},
                                    {"vocabulary": ["cat", "dog"]}, {"vocabulary": {"cat": 2}},
                                    {"vocabulary": ("cat",)}, {"vocabulary": np.array(["cat", "dog"])},
                                    {"max_features": 3, "min_df": 0.3, "max_df": 2, "token_pattern": r"\w"}])
def test_sklstm_save_load_round_trip(tmp_path, params):
    vec = TextVectorizer(**params).fit(CORPUS)
    p = tmp_path / "v.sklstm"
    sklstm.save(vec, p)
    back = sklstm.load(p)
    assert type(back) is TextVectorizer
    assert back.vocabulary_ == vec.vocabulary_ and back.vocab_size_ == vec.vocab_size_
    assert back.fixed_vocabulary_ == vec.fixed_vocabulary_
    assert _ids(back.transform(CORPUS)) == _ids(vec.transform(CORPUS))
    for k, v in vec.get_params().items():
        np.testing.assert_array_equal(np.asarray(back.get_params()[k], dtype=object),
                                      np.asarray(v, dtype=object))
    sklstm.save(TextVectorizer(**params), p)  # unfitted
    assert not hasattr(sklstm.load(p), "vocabulary_")


def test_sklstm_save_refuses_code_and_sets(tmp_path):
    with pytest.raises(TypeError, match="callable analyzer cannot be saved"):
        sklstm.save(TextVectorizer(analyzer=str.split).fit(CORPUS), tmp_path / "a.sklstm")
    with pytest.raises(TypeError, match="vocabulary of type set .* list or a dict"):
        sklstm.save(TextVectorizer(vocabulary={"a", "b"}), tmp_path / "b.sklstm")
    assert not list(tmp_path.iterdir())


def _rewrite(path, edit):
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(arrays["__meta__"].tobytes().decode())
    edit(meta)
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())


@pytest.mark.parametrize("edit", [
    lambda m: m["state"]["vocabulary_"]["__dict__"].update({"cat": 0}),
    lambda m: m["state"]["vocabulary_"]["__dict__"].update({"zebra": 99}),
    lambda m: m["state"].update({"vocab_size_": 3}),
    lambda m: m["state"].update({"fixed_vocabulary_": 1}),
    lambda m: m["state"].update({"extra_": 1}),
    lambda m: m["state"]["vocabulary_"]["__dict__"].update({"<eos>": 5}),
    lambda m: m["state"]["vocabulary_"]["__dict__"].update({"<unk>": 7, "cat": 1}),
    lambda m: m["params"].update({"analyzer": "sentence"}),
    lambda m: m["params"].update({"min_df": -1}),
], ids=["pad-collision", "gap", "size", "fixed-type", "extra", "eos-misplaced", "unk-moved",
        "bad-analyzer", "bad-min_df"])
def test_tampered_files_are_refused(tmp_path, edit):
    p = tmp_path / "v.sklstm"
    sklstm.save(TextVectorizer().fit(["cat dog cat"]), p)
    _rewrite(p, edit)
    with pytest.raises(ValueError, match="not a valid sklstm file"):
        sklstm.load(p)
    assert zipfile.is_zipfile(p)


def test_skops_round_trip():
    sio = pytest.importorskip("skops.io")
    for vec in (TextVectorizer(bos_eos=True).fit(CORPUS), TextVectorizer(analyzer="char").fit(CORPUS)):
        blob = sio.dumps(vec)
        untrusted = sio.get_untrusted_types(data=blob)
        assert untrusted == ["sklstm.text.TextVectorizer"]
        back = sio.loads(blob, trusted=untrusted)
        assert back.vocabulary_ == vec.vocabulary_
        assert _ids(back.transform(CORPUS)) == _ids(vec.transform(CORPUS))


# --------------------------------------------------------------------------- properties
texts = st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(texts, st.booleans())
def test_char_round_trip_and_id_range(docs, bos_eos):
    vec = TextVectorizer(analyzer="char", bos_eos=bos_eos).fit(docs)
    out = vec.transform(docs)
    assert vec.inverse_transform(out) == [d.lower() for d in docs]
    for a, d in zip(out, docs):
        assert a.dtype == np.int64 and a.size == len(d.lower()) + (2 if bos_eos else 0)
        assert ((a >= 0) & (a < vec.vocab_size_)).all() and (a != 0).all() and (a != 1).all()
    again = TextVectorizer(analyzer="char", bos_eos=bos_eos).fit(list(docs))
    assert again.vocabulary_ == vec.vocabulary_ and _ids(again.transform(docs)) == _ids(out)


@settings(max_examples=150, deadline=None)
@given(texts, st.text(max_size=30), st.sampled_from(["word", "char"]),
       st.one_of(st.none(), st.integers(1, 5)))
def test_ids_in_range_and_order_by_count(docs, other, analyzer, max_features):
    try:
        vec = TextVectorizer(analyzer=analyzer, max_features=max_features).fit(docs)
    except ValueError as exc:  # documents without tokens
        assert "empty vocabulary" in str(exc)
        return
    a = vec.transform([other])[0]
    assert ((a >= 1) & (a < vec.vocab_size_)).all()
    tokenize = vec._tokenizer()
    counts = {}
    for d in docs:
        for t in tokenize(d):
            counts[t] = counts.get(t, 0) + 1
    names = vec.get_feature_names_out()[2:].tolist()
    keys = [(-counts[t], t) for t in names]
    assert keys == sorted(keys)
    if max_features is None:
        assert set(names) == set(counts)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("ab c,.!\nDé"), min_size=1, max_size=30),
                min_size=1, max_size=5))
def test_word_inverse_then_transform_is_stable(docs):
    try:
        vec = TextVectorizer().fit(docs)
    except ValueError:
        return
    out = vec.transform(docs)
    assert _ids(vec.transform(vec.inverse_transform(out))) == _ids(out)


# -- text classification of raw strings (issue 17 point 3) ----------------------------------------------


def test_word_order_task_lstm_beats_bag_of_words_by_a_clear_margin():
    """Negation and "but" decide the label: counts are at chance, the LSTM reads in order."""
    from sklearn.linear_model import LogisticRegression

    from sklstm import LSTMClassifier
    from sklstm.datasets import make_contrast_sentiment

    X, y = make_contrast_sentiment(600, random_state=0)
    Xt, yt = make_contrast_sentiment(300, random_state=1)
    lstm = make_pipeline(TextVectorizer(), LSTMClassifier(embedding_dim=8, hidden_layer_sizes=(16,),
                                                          learning_rate_init=0.02, max_iter=15,
                                                          random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lstm.fit(X, y)
    bow = make_pipeline(CountVectorizer(), LogisticRegression(max_iter=1000)).fit(X, y)
    acc, base = lstm.score(Xt, yt), bow.score(Xt, yt)
    assert acc >= 0.95 and base <= 0.6, (acc, base)
    reviews = ["the film was good but the ending was not great", "the plot was not dull"]
    assert list(lstm.predict(reviews)) == ["negative", "positive"]


def test_contrast_sentiment_mirrors_hold_the_same_words():
    """The generator's claim: the label is the last clause's polarity, which "not" flips."""
    from sklstm.datasets import _NEGATIVE, _POSITIVE, make_contrast_sentiment

    X, y = make_contrast_sentiment(300, random_state=3)
    for text, label in zip(X, y):
        last = text.split(" but ")[-1].split()
        polarity = last[-1] in _POSITIVE
        assert last[-1] in _POSITIVE + _NEGATIVE
        if "not" in last:
            polarity = not polarity
        assert label == ("positive" if polarity else "negative"), text
    assert 0.4 < np.mean(y == "positive") < 0.6
    assert 0.5 < np.mean([" but " in t for t in X]) < 0.8
    with pytest.raises(ValueError, match="n_samples"):
        make_contrast_sentiment(0)


def test_language_identification_of_bundled_snippets_from_raw_strings():
    from sklstm import LSTMClassifier
    from sklstm.datasets import load_language_snippets

    X, y = load_language_snippets("train")
    Xt, yt = load_language_snippets("test")
    clf = make_pipeline(TextVectorizer(analyzer="char"),
                        LSTMClassifier(embedding_dim=16, hidden_layer_sizes=(32,), learning_rate_init=0.02,
                                       max_iter=15, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    assert clf.score(Xt, yt) >= 0.8  # six languages: chance is 1/6
