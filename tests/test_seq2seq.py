"""LSTMSeq2Seq: learning, decoding, padding invariance, the sklearn contract, errors, saved files."""

import io
import itertools
import json
import os
import pickle
import warnings
import zipfile

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV

import sklstm
from sklstm import LSTMSeq2Seq
from sklstm._decoding import beam_search, generate, greedy
from sklstm._seq2seq import encode
from sklstm._training import split_validation

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

#: every string of 1 to 4 characters over "ab" (30), and its reversal
WORDS = ["".join(p) for n in range(1, 5) for p in itertools.product("ab", repeat=n)]
REVERSED = [w[::-1] for w in WORDS]
#: learns the reversal of WORDS exactly in about a second
LEARNS = dict(hidden_layer_sizes=8, embedding_dim=4, learning_rate_init=0.03, batch_size=8, max_iter=80,
              random_state=0)
#: a few epochs of a tiny network: for the API, not for accuracy
TINY = dict(hidden_layer_sizes=4, embedding_dim=4, batch_size=8, max_iter=3, random_state=0)


def _quiet_fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


@pytest.fixture(scope="module")
def reverser():
    return _quiet_fit(LSTMSeq2Seq(**LEARNS), WORDS * 2, REVERSED * 2)


@pytest.fixture(scope="module")
def partly_trained():
    """Three epochs: greedy decoding is not yet the most likely output everywhere."""
    return _quiet_fit(LSTMSeq2Seq(**{**LEARNS, "max_iter": 3}), WORDS * 2, REVERSED * 2)


def _features(rng, n=40):
    F = rng.normal(size=(n, 3))
    return F, ["ab" if f[0] > 0 else "bba" for f in F]


def _ids(rng, n=30):
    """Token-id pairs: sources over {1, 2, 3}; targets their reversal, mapped to the ids 7 and 9."""
    X = [rng.integers(1, 4, int(rng.integers(1, 4))) for _ in range(n)]
    return X, [np.where(s[::-1] == 1, 7, 9).astype(np.int64) for s in X]


def _same_outputs(a, b):
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


# --------------------------------------------------------------------------- learning
def test_learns_to_reverse_strings(reverser):
    assert reverser.score(WORDS, REVERSED) == 1.0
    assert reverser.predict(["abba", "aab", "b", "bbba"]) == ["abba", "baa", "b", "abbb"]
    assert reverser.source_kind_ == "text" and reverser.max_target_length_ == 4
    assert reverser.loss_curve_[-1] < 0.1 * reverser.loss_curve_[0]
    ll = reverser.score_pairs(["ab", "ab"], ["ba", "ab"])
    assert ll.dtype == np.float64 and ll.shape == (2,) and ll[0] > ll[1]


def test_word_level_targets_are_joined_by_spaces():
    words = {"a": "one", "b": "two"}
    y = [" ".join(words[c] for c in w) for w in REVERSED]
    model = _quiet_fit(LSTMSeq2Seq(target_analyzer="word", **LEARNS), WORDS * 2, y * 2)
    assert sorted(model.target_vectorizer_.vocabulary_)[-2:] == ["one", "two"]
    assert model.predict(["ab", "bba"]) == ["two one", "one two two"]
    assert model.score(WORDS, y) == 1.0


def test_token_id_sources_and_targets_keep_their_ids(rng):
    X, y = _ids(rng)
    model = _quiet_fit(LSTMSeq2Seq(**LEARNS), X, y)
    assert model.source_kind_ == "ids"
    assert model.source_vectorizer_ is None and model.target_vectorizer_ is None
    out = model.predict(X)
    assert all(isinstance(o, np.ndarray) and o.dtype == np.int64 for o in out)
    assert _same_outputs(out, y)
    assert model.score(X, y) == 1.0
    # a 0-padded integer matrix is the same sources
    block = np.zeros((3, 3), dtype=np.int64)
    for i, s in enumerate(X[:3]):
        block[i, :len(s)] = s
    assert _same_outputs(model.predict(block), y[:3])


def test_a_feature_matrix_source_writes_strings(rng):
    F, y = _features(rng)
    model = _quiet_fit(LSTMSeq2Seq(**LEARNS), F, y)
    assert model.source_kind_ == "features" and model.n_features_in_ == 3
    assert "encoder.embedding.weight" not in model.state_dict()
    assert model.predict(np.array([[2.0, 0, 0], [-2.0, 0, 0]])) == ["ab", "bba"]
    assert model.score(F, y) == 1.0


# --------------------------------------------------------------------------- decoding
def test_beam_of_one_is_greedy_bitwise(partly_trained):
    model = partly_trained
    data = model._batch(model._encode_sources(WORDS))
    v = model._spec.views(model.coefs_flat_)
    enc = encode(model._spec, v, data.X, data.lengths)
    for budget in (2, 6):  # with outputs cut at the budget, and without
        g = greedy(model._spec, v, enc, budget)
        b = beam_search(model._spec, v, enc, budget, 1)
        assert _same_outputs(b.tokens, g.tokens)
        np.testing.assert_array_equal(b.scores, g.scores)
        np.testing.assert_array_equal(b.cut, g.cut)
        assert g.cut.any() == (budget == 2)
    assert model.predict(WORDS, num_beams=1) == model.predict(WORDS)
    words = model.target_vectorizer_.get_feature_names_out()
    assert model.predict(WORDS) == ["".join(words[t]) for t in g.tokens]


def test_beam_search_never_ranks_below_greedy(partly_trained):
    model = partly_trained
    greedy_out = model.predict(WORDS)
    beam_out = model.predict(WORDS, num_beams=3, length_penalty=0.0)
    g, b = model.score_pairs(WORDS, greedy_out), model.score_pairs(WORDS, beam_out)
    assert np.all(b >= g - 1e-6)
    assert np.count_nonzero(b > g + 1e-3) >= 1  # greedy is not optimal here: the beam found better
    # the beam's scores are the model's log-likelihoods of what it returns
    data = model._batch(model._encode_sources(WORDS))
    budget = 2 * model.max_target_length_ + 10
    words = model.target_vectorizer_.get_feature_names_out()
    for num_beams, out, ll in ((3, beam_out, b), (1, greedy_out, g)):
        d = generate(model._spec, model.coefs_flat_, data.X, data.lengths, budget, num_beams, 0.0)
        assert ["".join(words[t]) for t in d.tokens] == out and not d.cut.any()
        np.testing.assert_allclose(d.scores, ll, rtol=1e-5)


def test_length_penalty_favours_longer_outputs(partly_trained):
    model = partly_trained
    short = model.predict(WORDS, num_beams=3, length_penalty=0.0)
    long = model.predict(WORDS, num_beams=3, length_penalty=2.0)
    assert sum(map(len, long)) > sum(map(len, short))


def test_padding_and_batch_mates_never_change_a_result():
    model = _quiet_fit(LSTMSeq2Seq(bidirectional=True, attention=True, **{**TINY, "max_iter": 8}),
                       WORDS * 2, REVERSED * 2)
    assert model._spec.keyed
    short, long = ["ab", "b"], ["abbabbab", "babbabba", "aaaabbbb"]
    mixed = long + short
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # outputs of a partly trained model cut at max_new_tokens
        for num_beams in (1, 3):
            together = model.predict(mixed, num_beams=num_beams, max_new_tokens=10)
            for s, out in zip(short, together[3:]):
                assert model.predict([s], num_beams=num_beams, max_new_tokens=10) == [out]
    y_short, y_long = ["ba", "b"], ["babbabba", "abbabbab", "bbbbaaaa"]
    together = model.score_pairs(mixed, y_long + y_short)
    for i, (s, t) in enumerate(zip(short, y_short)):
        assert model.score_pairs([s], [t])[0] == together[3 + i]  # bitwise


def test_attention_weights_are_the_weights_of_decoding(monkeypatch, reverser):
    """One row per output token and <eos>, one column per source token; the decoder's own weights."""
    import sklstm._attention as attention_module

    model = _quiet_fit(LSTMSeq2Seq(attention=True, bidirectional=True, **LEARNS), WORDS * 2, REVERSED * 2)
    assert model._spec.keyed
    sources = ["abbab", "b", "ba", "aabb"]
    outputs = model.predict(sources)
    weights = model.attention_weights(sources)
    assert [w.shape for w in weights] == [(len(o) + 1, len(s)) for s, o in zip(sources, outputs)]
    assert all(w.dtype == np.float64 and np.allclose(w.sum(axis=1), 1) for w in weights)
    given = model.attention_weights(sources, outputs)  # the same targets, given
    assert all(np.array_equal(a, b) for a, b in zip(given, weights))
    assert model.attention_weights(sources[1:2])[0].tolist() == weights[1].tolist()  # batch mates
    seen, original = [], attention_module.attention_context

    def recording(q, keys_t, memory, lengths, w, context):  # the fixed-order kernel decoding uses
        original(q, keys_t, memory, lengths, w, context)
        seen.append(w[0, 0, :lengths[0]].copy())

    monkeypatch.setattr(attention_module, "attention_context", recording)
    for source, w in zip(sources, weights):
        seen.clear()
        model.predict([source])
        np.testing.assert_allclose(np.array(seen), w, atol=1e-5)
    with pytest.raises(ValueError, match="attention=True"):
        reverser.attention_weights(["ab"])
    with pytest.raises(ValueError, match="same number of pairs"):
        model.attention_weights(["ab", "b"], ["ba"])


# --------------------------------------------------------------------------- the sklearn contract
def test_clone_get_and_set_params(reverser):
    params = reverser.get_params()
    assert params["hidden_layer_sizes"] == 8 and params["teacher_forcing_ratio"] == 1.0
    c = clone(reverser)
    assert c.get_params() == params and not hasattr(c, "coefs_flat_")
    c.set_params(attention=True, max_new_tokens=7)
    assert c.attention is True and c.max_new_tokens == 7 and reverser.attention is False
    with pytest.raises(ValueError):
        c.set_params(no_such_parameter=1)


def test_state_dict_round_trip(reverser):
    state = reverser.state_dict()
    assert {"encoder.rnn.weight_ih_l0", "decoder.rnn.weight_hh_l0", "head.weight"} <= set(state)
    other = _quiet_fit(LSTMSeq2Seq(**{**TINY, "hidden_layer_sizes": 8}), WORDS, REVERSED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its outputs are cut at max_new_tokens
        assert other.predict(WORDS) != REVERSED
    other.load_state_dict(state)
    np.testing.assert_array_equal(other.coefs_flat_, reverser.coefs_flat_)
    assert other.predict(WORDS) == REVERSED
    state["head.bias"] = state["head.bias"][:-1]
    with pytest.raises(ValueError, match="head.bias: expected shape"):
        other.load_state_dict(state)


def test_pickle_round_trip(reverser):
    back = pickle.loads(pickle.dumps(reverser))
    np.testing.assert_array_equal(back.coefs_flat_, reverser.coefs_flat_)
    assert back.predict(WORDS) == reverser.predict(WORDS)
    np.testing.assert_array_equal(back.score_pairs(WORDS, REVERSED), reverser.score_pairs(WORDS, REVERSED))


def _fitted_kinds(rng):
    F, yf = _features(rng, 20)
    X, y = _ids(rng, 20)
    return [
        (_quiet_fit(LSTMSeq2Seq(bidirectional=True, attention=True, source_analyzer="word",
                                token_pattern=r"[ab]", cell="gru", **TINY), WORDS, REVERSED),
         WORDS, REVERSED),
        (_quiet_fit(LSTMSeq2Seq(cell="lstm1997", early_stopping=True, validation_fraction=0.3, **TINY), X, y),
         X, y),
        (_quiet_fit(LSTMSeq2Seq(hidden_layer_sizes=(3, 2), dtype="float64", solver="sgd", max_iter=2,
                                random_state=0), F, yf), F, yf),
    ]


def test_save_and_load_round_trip_is_bitwise_and_training_continues(tmp_path, rng):
    for i, (est, X, y) in enumerate(_fitted_kinds(rng)):
        p = tmp_path / f"m{i}.sklstm"
        sklstm.save(est, p)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # loading warns about nothing
            back = sklstm.load(p)
        assert type(back) is LSTMSeq2Seq and back.get_params() == est.get_params()
        np.testing.assert_array_equal(back.coefs_flat_, est.coefs_flat_)
        assert back.coefs_flat_.dtype == est.coefs_flat_.dtype and back.source_kind_ == est.source_kind_
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # untrained outputs are cut at max_new_tokens
            assert _same_outputs(back.predict(X), est.predict(X))
        np.testing.assert_array_equal(back.score_pairs(X, y), est.score_pairs(X, y))
        for k in ("n_iter_", "loss_curve_", "validation_scores_", "max_target_length_"):
            assert getattr(back, k) == getattr(est, k), k
        est.set_params(warm_start=True)
        back.set_params(warm_start=True)
        _quiet_fit(est, X, y)
        _quiet_fit(back, X, y)
        np.testing.assert_array_equal(back.coefs_flat_, est.coefs_flat_)
    sklstm.save(LSTMSeq2Seq(attention=True), tmp_path / "u.sklstm")
    unfitted = sklstm.load(tmp_path / "u.sklstm")
    assert unfitted.attention is True and not hasattr(unfitted, "coefs_flat_")


def test_grid_search_by_exact_match():
    grid = GridSearchCV(LSTMSeq2Seq(**{**LEARNS, "max_iter": 40}), {"hidden_layer_sizes": [1, 8]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid.fit(WORDS * 2, REVERSED * 2)
    scores = grid.cv_results_["mean_test_score"]
    assert np.all((scores >= 0) & (scores <= 1)) and scores[1] > scores[0]
    assert grid.best_params_ == {"hidden_layer_sizes": 8}
    assert grid.best_estimator_.predict(["ab"]) == ["ba"]


def test_random_state_makes_fits_reproducible():
    fits = [_quiet_fit(LSTMSeq2Seq(**TINY), WORDS, REVERSED) for _ in range(2)]
    np.testing.assert_array_equal(fits[0].coefs_flat_, fits[1].coefs_flat_)
    assert fits[0].loss_curve_ == fits[1].loss_curve_
    other = _quiet_fit(LSTMSeq2Seq(**{**TINY, "random_state": 1}), WORDS, REVERSED)
    assert not np.array_equal(other.coefs_flat_, fits[0].coefs_flat_)


def test_warm_start_continues_the_same_training():
    model = LSTMSeq2Seq(warm_start=True, **TINY)
    _quiet_fit(model, WORDS * 2, REVERSED * 2)
    first = list(model.loss_curve_)
    _quiet_fit(model, WORDS * 2, REVERSED * 2)
    assert model.n_iter_ == 6 and model.loss_curve_[:3] == first
    assert model.loss_curve_[3] < first[0]  # continued, not restarted
    longer = _quiet_fit(LSTMSeq2Seq(**{**TINY, "max_iter": 6}), WORDS * 2, REVERSED * 2)
    np.testing.assert_array_equal(model.coefs_flat_, longer.coefs_flat_)  # 3 + 3 epochs are 6 epochs
    cold = _quiet_fit(LSTMSeq2Seq(**TINY), WORDS * 2, REVERSED * 2)
    cold.set_params(warm_start=False)
    _quiet_fit(cold, WORDS * 2, REVERSED * 2)
    assert cold.n_iter_ == 3


def test_early_stopping_keeps_the_best_validation_weights():
    model = LSTMSeq2Seq(hidden_layer_sizes=4, embedding_dim=4, learning_rate_init=0.1, max_iter=8,
                        batch_size=8, early_stopping=True, validation_fraction=0.25, n_iter_no_change=20,
                        random_state=0)
    X, y = WORDS * 2, REVERSED * 2
    _quiet_fit(model, X, y)
    scores = model.validation_scores_
    assert len(scores) == model.n_iter_ == 8
    assert model.best_validation_score_ == max(scores) and scores[-1] < max(scores)  # the last was not best
    _, va = split_validation(len(X), 0.25, 0)
    ll = model.score_pairs([X[i] for i in va], [y[i] for i in va])
    per_token = ll.sum() / sum(len(y[i]) + 1 for i in va)
    assert per_token == pytest.approx(model.best_validation_score_, rel=1e-9)


def test_scheduled_sampling_trains_and_is_reproducible():
    kw = {**TINY, "max_iter": 6, "learning_rate_init": 0.03}
    a, b = (_quiet_fit(LSTMSeq2Seq(teacher_forcing_ratio=0.5, **kw), WORDS * 2, REVERSED * 2)
            for _ in range(2))
    np.testing.assert_array_equal(a.coefs_flat_, b.coefs_flat_)
    assert a.loss_curve_[-1] < a.loss_curve_[0]
    forced = _quiet_fit(LSTMSeq2Seq(**kw), WORDS * 2, REVERSED * 2)
    assert not np.array_equal(a.coefs_flat_, forced.coefs_flat_)


# --------------------------------------------------------------------------- errors
def test_empty_items_are_named():
    with pytest.raises(ValueError, match="item 2 of X is an empty string"):
        LSTMSeq2Seq(**TINY).fit(["ab", "b", "", "a"], ["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="item 1 of y is an empty string"):
        LSTMSeq2Seq(**TINY).fit(["ab", "b"], ["a", "  "])
    with pytest.raises(ValueError, match="sequence 1 of X is empty"):
        LSTMSeq2Seq(**TINY).fit([np.array([1]), np.array([], dtype=int)], [np.array([1]), np.array([2])])
    with pytest.raises(ValueError, match="X is empty"):
        LSTMSeq2Seq(**TINY).fit([], [])


def test_a_source_without_tokens_is_refused():
    """A token_pattern that reads nothing from a source: nothing to encode (attention over it is NaN)."""
    model = LSTMSeq2Seq(source_analyzer="word", token_pattern=r"\w+", attention=True, **TINY)
    with pytest.raises(ValueError, match="item 1 of X holds no token"):
        model.fit(["a b", "!!", "b"], ["x", "y", "z"])
    _quiet_fit(model, ["a b", "b", "a"], ["x", "y", "z"])
    with pytest.raises(ValueError, match="item 0 of X holds no token"):
        model.predict(["?", "a"])
    with pytest.raises(ValueError, match="item 0 of X holds no token"):
        model.score_pairs(["?"], ["x"])


def test_token_pattern_of_the_word_side_does_not_warn_on_the_char_side():
    model = LSTMSeq2Seq(source_analyzer="word", target_analyzer="char", token_pattern=r"\w+", **TINY)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(["a b", "b"] * 4, ["xy", "y"] * 4)
        model.score_pairs(["a"], ["x"])
        assert model.source_vectorizer_.token_pattern == r"\w+"


def test_unknown_characters_are_read_as_unk(reverser):
    with pytest.warns(UserWarning, match=r"1 character\(s\) of X are not in the fitted vocabulary"
                                         r".*'c'.*<unk>"):
        out = reverser.predict(["abc"], max_new_tokens=8)
    assert len(out) == 1 and isinstance(out[0], str)
    with pytest.warns(UserWarning, match=r"of y are not in the fitted vocabulary.*'z'.*<unk>"):
        assert np.isfinite(reverser.score_pairs(["ab"], ["bz"])).all()


def test_malformed_inputs_are_refused(reverser, rng):
    with pytest.raises(ValueError, match="X holds 3 sources and y 2 targets"):
        LSTMSeq2Seq(**TINY).fit(["a", "b", "ab"], ["a", "b"])
    with pytest.raises(ValueError, match="same number of pairs"):
        reverser.score_pairs(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="same number of pairs"):
        reverser.score(["a", "b"], ["a"])
    warm = _quiet_fit(LSTMSeq2Seq(warm_start=True, **TINY), WORDS, REVERSED)
    for X, y in ((WORDS, REVERSED[:-2]), (WORDS[:-2], REVERSED)):
        with pytest.raises(ValueError, match="must pair up"):
            warm.fit(X, y)
    with pytest.raises(TypeError, match="single str"):
        LSTMSeq2Seq(**TINY).fit("abba", ["a"])
    with pytest.raises(TypeError, match="single str"):
        reverser.predict("abba")
    with pytest.raises(TypeError, match="bytes"):
        LSTMSeq2Seq(**TINY).fit(b"ab", ["a"])
    with pytest.raises(TypeError, match="item 0 of X is a bytes"):
        reverser.predict([b"ab"])
    with pytest.raises(TypeError, match="item 1 of y is a int"):
        LSTMSeq2Seq(**TINY).fit(["a", "b"], ["a", 3])
    with pytest.raises(TypeError, match="fitted on text sources; X holds ids"):
        reverser.predict([np.array([1, 2])])
    with pytest.raises(TypeError, match="fitted on text sources; X holds features"):
        reverser.predict(np.ones((2, 3)))
    with pytest.raises(TypeError, match="fitted on text targets; y holds ids"):
        reverser.score_pairs(["ab"], [np.array([1, 2])])
    with pytest.raises(TypeError, match="numeric matrix"):
        LSTMSeq2Seq(**TINY).fit(["a", "b"], np.ones((2, 3)))


def test_max_new_tokens(reverser):
    with pytest.raises(ValueError, match="target 2 has 3 tokens, more than max_new_tokens=2"):
        LSTMSeq2Seq(max_new_tokens=2, **TINY).fit(["a", "ab", "abb"], ["a", "ba", "bba"])
    warm = _quiet_fit(LSTMSeq2Seq(max_new_tokens=2, warm_start=True, **TINY), ["a", "ab"], ["a", "ba"])
    with pytest.raises(ValueError, match="more than max_new_tokens=2"):
        warm.fit(["a", "abb"], ["a", "bba"])
    budget = 2 * reverser.max_target_length_ + 10
    with pytest.raises(ValueError, match=f"target 1 has {budget + 1} tokens, more than "
                                         f"max_new_tokens={budget}"):
        reverser.score(["a", "b"], ["a", "b" * (budget + 1)])
    with pytest.warns(UserWarning, match="2 output\\(s\\) reached max_new_tokens=2 without an end mark"):
        out = reverser.predict(["abb", "a", "abba"], max_new_tokens=2)
    assert out == ["bb", "a", "ab"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # an output of max_new_tokens tokens that ends: not cut
        assert reverser.predict(["abba", "ab"], max_new_tokens=4) == ["abba", "ba"]
        assert reverser.predict(["abba", "ab"], max_new_tokens=4, num_beams=2) == ["abba", "ba"]
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="max_new_tokens must be an integer"):
            reverser.predict(["a"], max_new_tokens=bad)
    with pytest.raises(ValueError, match="max_new_tokens"):
        LSTMSeq2Seq(max_new_tokens=0).fit(["a"], ["b"])


def test_bad_parameters_are_refused(reverser, rng):
    F, y = _features(rng, 10)
    with pytest.raises(ValueError, match="attention=True needs a source sequence"):
        LSTMSeq2Seq(attention=True, **TINY).fit(F, y)
    with pytest.raises(ValueError, match="no GPU path"):
        LSTMSeq2Seq(device="cuda", **TINY).fit(WORDS, REVERSED)
    for bad in (0, -2, 1.5, True, "3"):
        with pytest.raises(ValueError, match="num_beams must be an integer >= 1"):
            reverser.predict(["ab"], num_beams=bad)
    for bad in (float("nan"), float("inf"), "1", None, True):
        with pytest.raises(ValueError, match="length_penalty must be a finite number"):
            reverser.predict(["ab"], num_beams=2, length_penalty=bad)
    for params in ({"teacher_forcing_ratio": 1.5}, {"cell": "transformer"}, {"source_analyzer": "byte"},
                   {"embedding_dim": 0}):
        with pytest.raises(ValueError):
            LSTMSeq2Seq(**{**TINY, **params}).fit(WORDS, REVERSED)
    warm = _quiet_fit(LSTMSeq2Seq(warm_start=True, **TINY), WORDS, REVERSED)
    for change in ({"bidirectional": True}, {"attention": True}, {"hidden_layer_sizes": 5}, {"cell": "gru"}):
        name = next(iter(change))
        original = {name: warm.get_params()[name]}
        warm.set_params(**change)
        with pytest.raises(ValueError, match=f"{name} changed since the network was fitted"):
            warm.fit(WORDS, REVERSED)
        warm.set_params(**original)
    assert warm.n_iter_ == 3
    with pytest.warns(UserWarning, match="bidirectional=True has no effect with a feature-vector source"):
        LSTMSeq2Seq(bidirectional=True, **TINY).fit(F, y)


def test_feature_and_id_sources_are_checked(rng):
    F, y = _features(rng, 12)
    bad = F.copy()
    bad[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite values \(row 4\)"):
        LSTMSeq2Seq(**TINY).fit(bad, y)
    model = _quiet_fit(LSTMSeq2Seq(**TINY), F, y)
    with pytest.raises(ValueError, match=r"NaN or infinite values \(row 4\)"):
        model.predict(bad)
    with pytest.raises(ValueError, match="X has 4 features, but the model was fitted with 3"):
        model.predict(np.ones((2, 4)))
    with pytest.raises(TypeError, match="fitted on features sources; X holds text"):
        model.predict(["ab"])
    X, yi = _ids(rng, 12)
    ids = _quiet_fit(LSTMSeq2Seq(**TINY), X, yi)
    with pytest.raises(ValueError, match="sequence 1 of X holds the id 4, outside the source vocabulary"):
        ids.predict([np.array([1]), np.array([2, 4])])
    with pytest.raises(ValueError, match="holds the id 0; token ids start at 1"):
        ids.predict([np.array([0, 1])])
    with pytest.raises(ValueError, match="target 0 of y holds the id 10, outside the target vocabulary"):
        ids.score_pairs([np.array([1])], [np.array([10])])
    with pytest.raises(ValueError, match="outside the target vocabulary"):
        ids.score_pairs([np.array([1])], [np.array([ids._spec.eos])])  # <eos> is the model's, not a target id
    with pytest.raises(TypeError, match="1D integer arrays"):
        ids.predict([np.array([1.5, 2.0])])


@pytest.mark.parametrize("method", ["predict", "score", "score_pairs", "state_dict", "attention_weights"])
def test_not_fitted(method):
    args = {"predict": (["ab"],), "score": (["ab"], ["ba"]), "score_pairs": (["ab"], ["ba"]),
            "state_dict": (), "attention_weights": (["ab"],)}
    with pytest.raises(NotFittedError):
        getattr(LSTMSeq2Seq(), method)(*args[method])


# --------------------------------------------------------------------------- hostile saved files
def _rewrite(src, dst, meta_fn=None, arrays_fn=None):
    with np.load(src, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(arrays.pop("__meta__").tobytes())
    if meta_fn:
        meta_fn(meta)
    if arrays_fn:
        arrays_fn(arrays, meta)
    blob = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(dst, "wb") as f:
        np.savez(f, __meta__=blob, **arrays)


def _state(meta, *path):
    """The decoded-JSON dict at ``meta["state"][path...]`` (through the ``__dict__`` wrappers)."""
    d = meta["state"]
    for k in path:
        d = d[k]
        d = d.get("__dict__", d) if isinstance(d, dict) else d
    return d


def _array_of(meta, key):
    return meta["state"][key]["__array__"]


class _Evil:
    """Unpickling it would create a folder: the proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def test_hostile_files_are_refused_and_never_run_code(tmp_path, rng):
    text, ids, feats = _fitted_kinds(rng)
    good = {name: tmp_path / f"{name}.sklstm" for name in ("text", "ids", "feats")}
    for name, (est, _, _) in zip(good, (text, ids, feats)):
        sklstm.save(est, good[name])
    bad = tmp_path / "bad.sklstm"

    def expect(kind, meta_fn=None, arrays_fn=None, match="not a valid sklstm file"):
        _rewrite(good[kind], bad, meta_fn, arrays_fn)
        with pytest.raises(ValueError, match=match):
            sklstm.load(bad)

    def shorten(key):
        def fn(arrays, meta):
            name = _array_of(meta, key)
            arrays[name] = arrays[name][:-1]
        return fn

    def spec(**changes):
        return lambda m: _state(m, "spec").update(changes)

    expect("text", arrays_fn=shorten("coefs_flat_"), match="coefs_flat_ does not match the network")
    expect("text", arrays_fn=lambda a, m: a.update({_array_of(m, "coefs_flat_"): np.full_like(
        a[_array_of(m, "coefs_flat_")], np.nan)}), match="coefs_flat_ does not match")
    expect("ids", arrays_fn=shorten("_best_coefs"), match="_best_coefs does not match coefs_flat_")
    expect("text", spec(cell="bogus"), match="bad cell")
    expect("text", spec(hidden=[4, 0]), match="bad hidden sizes")
    expect("text", spec(hidden=[10 ** 9]), match="bad hidden sizes")
    expect("text", spec(attention=False), match="coefs_flat_ does not match")  # the layout changes
    expect("text", spec(bos=3), match="bos")  # <bos> == <eos>
    expect("ids", spec(eos=1), match="<bos>/<eos>")
    expect("feats", spec(attention=True), match="feature-vector source has no encoder")
    expect("text", spec(extra=1), match="malformed encoder-decoder description")

    def one_more_word(m):  # a valid vocabulary, one token larger than the network's output layer
        vec = _state(m, "target_vectorizer")
        _state(m, "target_vectorizer", "vocabulary_")["zz"] = vec["vocab_size_"]
        vec["vocab_size_"] += 1

    expect("text", one_more_word, match="target vocabulary does not match the network")

    def without_marks(m):  # a valid vocabulary of the right size, without <bos> and <eos>
        vocab = _state(m, "target_vectorizer", "vocabulary_")
        vocab["q"], vocab["r"] = vocab.pop("<bos>"), vocab.pop("<eos>")

    expect("text", without_marks, match="target vocabulary does not match the network")
    expect("text", lambda m: _state(m, "source_vectorizer", "vocabulary_").pop("b"), match="vocab")
    expect("text", lambda m: m["state"].pop("source_vectorizer"), match="source vocabulary")
    expect("ids", lambda m: m["state"].update(source_vectorizer=m["state"]["optimizer"]), match="source")
    expect("feats", lambda m: m["state"].update(n_features_in_=4), match="n_features_in_ does not match")
    expect("ids", lambda m: m["state"].update(n_features_in_=1), match="feature-vector source only")
    expect("text", lambda m: m["state"].update(source_kind_="features"), match="bad source kind")
    expect("text", lambda m: m["state"].update(source_kind_="os.system"), match="bad source kind")
    expect("text", lambda m: m["state"].update(max_target_length_=-1), match="max_target_length_")
    expect("text", lambda m: m["state"].update(loss_curve_=["x"]), match="must hold numbers")
    expect("text", lambda m: m["state"].update(n_iter_=True), match="n_iter_ has type")
    expect("text", lambda m: m["state"].update(evil=1), match="unexpected encoder-decoder state")
    expect("text", lambda m: _state(m, "optimizer").update(kind="sgd"), match="optimizer")
    expect("text", lambda m: m["state"].update(rng={"__dict__": {"bit_generator": "os.system"}}),
           match="random state")
    expect("text", lambda m: m["params"].update(cell="lstm; rm -rf /"))
    # nothing in a file is run: a pickle protocol payload, a foreign class, a pickled object array
    marker = tmp_path / "code-ran"
    expect("text", lambda m: m["state"].update(n_iter_={"__reduce__": ["os.mkdir", [str(marker)]]}))
    expect("text", lambda m: m.update({"class": "os.mkdir"}), match="unknown class")
    _rewrite(good["text"], bad)
    with zipfile.ZipFile(bad, "a") as zf:
        buf = io.BytesIO()
        np.save(buf, np.array([_Evil(str(marker))], dtype=object), allow_pickle=True)
        zf.writestr("evil.npy", buf.getvalue())
    with pytest.raises(ValueError, match="not a valid sklstm file"):
        sklstm.load(bad)
    bad.write_bytes(pickle.dumps(_Evil(str(marker))))
    with pytest.raises(ValueError, match="not a valid sklstm file"):
        sklstm.load(bad)
    assert not marker.exists()
    # and the untouched files still load
    for path in good.values():
        assert isinstance(sklstm.load(path), LSTMSeq2Seq)


# --------------------------------------------------------------------------- review findings
def test_unk_never_counts_as_an_exact_match():
    words = ["abc", "bca", "cab", "abb", "bcc"] * 6
    model = _quiet_fit(LSTMSeq2Seq(max_features=2, **{**TINY, "max_iter": 2}), words,
                       [w[::-1] for w in words])
    vec = model.target_vectorizer_
    assert vec.vocab_size_ == 6  # <pad> <unk> <bos> <eos> + 2 kept characters: one character is <unk>
    unknown = next(c for c in "abc" if c not in vec.vocabulary_)
    out = model.predict(["abc"])[0]
    target = "z" + out[1:] if out.startswith("<unk>") else unknown * 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert model.score(["abc"], [target]) == 0.0


def test_load_state_dict_checks_everything_before_copying():
    model = _quiet_fit(LSTMSeq2Seq(**TINY), WORDS, REVERSED)
    before = model.coefs_flat_.copy()
    state = model.state_dict()
    bad_shape = {**{k: v + 1 for k, v in state.items()}, "head.bias": np.zeros(1)}
    with pytest.raises(ValueError, match="head.bias"):
        model.load_state_dict(bad_shape)
    np.testing.assert_array_equal(model.coefs_flat_, before)
    with pytest.raises(ValueError, match="non-finite"):
        model.load_state_dict({**state, "head.weight": np.full_like(state["head.weight"], np.nan)})
    np.testing.assert_array_equal(model.coefs_flat_, before)


def test_features_too_large_for_float32_and_unordered_or_1d_inputs():
    rng = np.random.default_rng(0)
    F = rng.normal(size=(12, 3))
    model = _quiet_fit(LSTMSeq2Seq(**TINY), F, ["ab", "ba"] * 6)
    with pytest.raises(ValueError, match="too large"):
        model.predict(np.full((2, 3), 1e300))
    with pytest.raises(TypeError, match="no order"):
        LSTMSeq2Seq(**TINY).fit({"ab", "ba"}, ["a", "b"])
    with pytest.raises(ValueError, match="1D array"):
        model.predict(np.ones(3))
    with pytest.raises(ValueError, match="too large for a token id"):
        LSTMSeq2Seq(**TINY).fit([np.array([1, 2 ** 64 - 2], dtype=np.uint64)], [np.array([1])])
    # refitted on text, the feature count is gone
    model.set_params(max_iter=1)
    _quiet_fit(model, WORDS, REVERSED)
    assert not hasattr(model, "n_features_in_")


def test_dataframe_feature_names_are_checked():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    F = pd.DataFrame(rng.normal(size=(12, 3)), columns=["x", "y", "z"])
    model = _quiet_fit(LSTMSeq2Seq(**TINY), F, ["ab", "ba"] * 6)
    assert list(model.feature_names_in_) == ["x", "y", "z"]
    assert len(model.predict(F)) == 12
    with pytest.raises(ValueError, match="same order"):
        model.predict(F[["z", "y", "x"]])


def test_warm_start_refuses_changed_text_settings():
    model = _quiet_fit(LSTMSeq2Seq(warm_start=True, **TINY), WORDS, REVERSED)
    model.set_params(lowercase=True)
    with pytest.raises(ValueError, match="lowercase"):
        _quiet_fit(model, WORDS, REVERSED)


def test_length_penalty_never_overflows_and_beam_memory_follows_the_outputs():
    model = _quiet_fit(LSTMSeq2Seq(**{**TINY, "max_iter": 6}), WORDS, REVERSED)
    for lp in (5000.0, -5000.0, 0.0):
        out = model.predict(["abba", "ab"], num_beams=2, length_penalty=lp)
        assert all(isinstance(o, str) for o in out)
    import tracemalloc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tracemalloc.start()
        model.predict(["ab"], num_beams=3, max_new_tokens=10 ** 6)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 50 * 2 ** 20  # not (beams x max_new_tokens) arrays


def test_decoding_is_the_same_on_any_number_of_threads():
    from sklstm._decoding import generate

    model = _quiet_fit(LSTMSeq2Seq(attention=True, bidirectional=True, **{**TINY, "max_iter": 4}),
                       WORDS, REVERSED)
    data = model._batch(model._encode_sources(WORDS))
    for beams in (1, 3):
        one = generate(model._spec, model.coefs_flat_, data.X, data.lengths, 8, beams, n_threads=1,
                       batch_size=4)
        two = generate(model._spec, model.coefs_flat_, data.X, data.lengths, 8, beams, n_threads=2,
                       batch_size=4)
        assert all(np.array_equal(a, b) for a, b in zip(one.tokens, two.tokens))
        np.testing.assert_array_equal(one.scores, two.scores)


def test_beam_search_on_held_out_sources_never_ranks_below_greedy():
    from sklstm._decoding import rank_key

    train = ["abab", "bbaa", "aabb", "baba", "abba", "baab"] * 4
    model = _quiet_fit(LSTMSeq2Seq(**{**TINY, "max_iter": 5}), train, [w[::-1] for w in train])
    held_out = ["aaab", "bbba", "abbb", "baaa", "abaa", "bbab", "aaba", "babb"]
    data = model._batch(model._encode_sources(held_out))
    from sklstm._decoding import generate

    for lp in (0.0, 1.0, 2.0):
        g = generate(model._spec, model.coefs_flat_, data.X, data.lengths, 8, 1, lp)
        b = generate(model._spec, model.coefs_flat_, data.X, data.lengths, 8, 3, lp)
        gk = rank_key(g.scores, np.array([t.size for t in g.tokens]), lp)
        bk = rank_key(b.scores, np.array([t.size for t in b.tokens]), lp)
        assert np.all(bk >= gk - 1e-9), lp
