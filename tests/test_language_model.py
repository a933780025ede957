"""LSTMLanguageModel: streams with carried state, gradients, scoring, generation, the sklearn contract."""

import math
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import reference as ref
import sklstm
from conftest import CELLS, make_params
from sklstm import LSTMLanguageModel
from sklstm._language import LanguageModelObjective, sample_next, stream_batches
from sklstm._objectives import TrainOptions
from sklstm._spec import NetworkSpec

TEXT = "abcabcabcabd " * 40
#: a small model that learns TEXT in a fraction of a second
SMALL = dict(hidden_layer_sizes=16, embedding_dim=8, bptt_steps=12, batch_size=4, learning_rate_init=0.02,
             max_iter=20, random_state=0)


@pytest.fixture(scope="module")
def fitted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LSTMLanguageModel(**SMALL).fit(TEXT)


# --------------------------------------------------------------------------- streams
def test_streams_are_consecutive_cuts_of_the_text_in_chunk_major_rows():
    stream = np.arange(1, 24)  # 23 tokens: 22 inputs -> 3 streams of 7, the last token only a target
    data = stream_batches(stream, 3, 3)
    assert data.X.shape == (9, 3, 1) and list(data.lengths) == [3] * 6 + [1] * 3
    for b in range(3):  # stream b, read chunk after chunk, is the text from 7 * b on, not overlapping windows
        rows = [c * 3 + b for c in range(3)]
        got = np.concatenate([data.X[r, :data.lengths[r], 0] for r in rows])
        np.testing.assert_array_equal(got, stream[7 * b:7 * b + 7])
        nxt = np.concatenate([data.y[r, :data.lengths[r]] for r in rows])
        np.testing.assert_array_equal(nxt, stream[7 * b + 1:7 * b + 8])
    assert np.all(data.y[6:, 1:] == 0) and np.all(data.X[6:, 1:] == 0)


# --------------------------------------------------------------------------- gradients
def _spec_and_params(rng, cell, hidden=(4, 3), V=7, E=3, tie=False):
    spec = NetworkSpec(cell, E, hidden, False, V, V, 0)
    flat = make_params(spec, rng)
    v = spec.views(flat)
    v["embedding.weight"][0] = 0.0
    if tie:
        v["head.weight"][:] = v["embedding.weight"]
    return spec, flat


def _epoch(objective, flat, data, B, n_threads=1):
    """Loss and gradient of one pass over the streams, weighted per token (the reference's sums)."""
    objective.reset_states()
    total, grad_sum, n = 0.0, np.zeros_like(flat), float(data.lengths.sum())
    grad = np.zeros_like(flat)
    for c in range(0, len(data), B):
        chunk = data.take(np.arange(c, c + B))
        w = float(chunk.lengths.sum()) / n
        total += objective.loss_and_grad(flat, grad, chunk, n_threads=n_threads) * w
        grad_sum += grad * w
    return total, grad_sum


@pytest.mark.parametrize("cell", CELLS)
def test_carried_state_training_equals_the_reference_truncated_bptt(rng, cell):
    """A pass over the chunks equals tests/reference.py on whole streams cut every k steps."""
    spec, flat = _spec_and_params(rng, cell)
    stream = rng.integers(1, 7, 40)
    B, k = 3, 4
    data = stream_batches(stream, B, k)
    objective = LanguageModelObjective(spec, TrainOptions())
    got, grad = _epoch(objective, flat, data, B)
    L = (len(stream) - 1) // B
    seqs = [stream[b * L:(b + 1) * L] for b in range(B)]
    targets = [stream[b * L + 1:(b + 1) * L + 1] for b in range(B)]
    p = {key: a.copy() for key, a in spec.views(flat).items()}
    want, grads = ref.loss_and_grads(cell, 2, False, p, seqs, targets, np.ones(B), "softmax",
                                     return_sequences=True, bptt_steps=k)
    assert got == pytest.approx(want, rel=1e-10)
    for key, g in spec.views(grad).items():
        np.testing.assert_allclose(g, grads[key], rtol=1e-8, atol=1e-11, err_msg=key)


def test_tied_weights_sum_both_gradients_into_the_embedding(rng):
    spec, flat = _spec_and_params(rng, "lstm", hidden=(3,), tie=True)
    stream = rng.integers(1, 7, 30)
    data = stream_batches(stream, 2, 5)
    _, grad = _epoch(LanguageModelObjective(spec, TrainOptions(), tie_weights=True), flat, data, 2)
    _, untied = _epoch(LanguageModelObjective(spec, TrainOptions()), flat, data, 2)
    g, u = spec.views(grad), spec.views(untied)
    want = u["embedding.weight"] + u["head.weight"]
    want[0] = 0.0
    np.testing.assert_allclose(g["embedding.weight"], want, rtol=1e-12, atol=1e-14)
    assert np.all(g["head.weight"] == 0)  # the head is a copy, updated by after_update
    objective = LanguageModelObjective(spec, TrainOptions(), tie_weights=True)
    moved = flat.copy()
    spec.views(moved)["embedding.weight"][1] += 1.0
    objective.after_update(moved)
    np.testing.assert_array_equal(spec.views(moved)["head.weight"], spec.views(moved)["embedding.weight"])


def test_chunk_gradient_matches_finite_differences_from_a_carried_state(rng):
    """The second chunk's gradient, from the state the first left (held constant), by central differences."""
    spec, flat = _spec_and_params(rng, "gru", hidden=(3, 2))
    stream = rng.integers(1, 7, 25)
    data = stream_batches(stream, 2, 4)
    first, second = data.take(np.arange(0, 2)), data.take(np.arange(2, 4))
    objective = LanguageModelObjective(spec, TrainOptions(alpha=0.01))
    grad = np.zeros_like(flat)
    objective.loss_and_grad(flat, grad, first)
    carried = objective.carried

    def loss(params):
        objective.carried = carried
        return objective.loss_and_grad(params, np.zeros_like(params), second)

    loss(flat)
    objective.carried = carried
    objective.loss_and_grad(flat, grad, second)
    picks = rng.choice(np.flatnonzero(np.ones(spec.n_params)), 40, replace=False)
    emb = spec.entries[[e[0] for e in spec.entries].index("embedding.weight")]
    rows = np.arange(emb[2] + 3, emb[2] + 9)  # rows 1 and 2 of the embedding
    picks = np.unique(np.concatenate([picks, rows]))
    eps = 1e-6
    for i in picks:
        up, down = flat.copy(), flat.copy()
        up[i] += eps
        down[i] -= eps
        fd = (loss(up) - loss(down)) / (2 * eps)
        assert grad[i] == pytest.approx(fd, rel=1e-5, abs=1e-8), i


def test_the_gradient_does_not_depend_on_the_thread_count(rng):
    spec, flat = _spec_and_params(rng, "lstm", hidden=(4,))
    stream = rng.integers(1, 7, 64 * 6 + 1)
    data = stream_batches(stream, 64, 3)  # 64 streams: the batch is cut into parts
    one = _epoch(LanguageModelObjective(spec, TrainOptions()), flat, data, 64, n_threads=1)
    two = _epoch(LanguageModelObjective(spec, TrainOptions()), flat, data, 64, n_threads=2)
    assert one[0] == two[0]
    np.testing.assert_array_equal(one[1], two[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_part_runs_its_vocabulary_head_on_threads_with_the_same_bits(rng, dtype, monkeypatch):
    """Up to 63 streams are one part: its blocks run on the threads, bits unchanged.

    The threshold is lowered so that the recurrences and products of these
    small chunks are cut into blocks too, not only the vocabulary layer.
    """
    from sklstm import _blocks

    monkeypatch.setattr(_blocks, "_MIN_WORK_PER_THREAD", 4)
    spec = NetworkSpec("lstm", 5, (24,), False, 70, 70, 0)  # 70 words: several panels of columns
    flat = make_params(spec, rng).astype(dtype)
    stream = rng.integers(1, 70, 16 * 9 + 1)
    data = stream_batches(stream, 16, 5)
    runs = [_epoch(LanguageModelObjective(spec, TrainOptions()), flat, data, 16, n_threads=n)
            for n in (1, 2, 3)]
    for loss, grad in runs[1:]:
        assert loss == runs[0][0]
        np.testing.assert_array_equal(grad, runs[0][1])


@pytest.mark.parametrize("n, V", [(37, 70), (5, 3), (1, 40), (64, 130)])
def test_the_softmax_layer_equals_its_formula_on_any_number_of_threads(rng, n, V):
    from sklstm._vocab_head import softmax_head

    H = 9
    feat, w = rng.normal(size=(n, H)), rng.normal(size=(V, H))
    b, y = rng.normal(size=V), rng.integers(0, V, n)
    z = feat @ w.T + b
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    want_loss = -np.log(p[np.arange(n), y]).sum() / 7.0
    d = p.copy()
    d[np.arange(n), y] -= 1.0
    d /= 7.0
    got = []
    for threads in (1, 2, 3, 8):
        gw, gb = np.full_like(w, np.nan), np.full_like(b, np.nan)  # overwritten, not accumulated into
        loss, dfeat = softmax_head(feat, w, b, y, 7.0, gw, gb, n_threads=threads)
        assert loss == pytest.approx(want_loss, rel=1e-12)
        np.testing.assert_allclose(dfeat, d @ w, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(gw, d.T @ feat, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(gb, d.sum(axis=0), rtol=1e-10, atol=1e-12)
        got.append((loss, dfeat, gw, gb))
    for other in got[1:]:  # bit for bit on every thread count
        assert other[0] == got[0][0]
        for a, b_ in zip(other[1:], got[0][1:]):
            np.testing.assert_array_equal(a, b_)


def test_training_equals_torch_with_detached_hidden_states():
    """One SGD epoch equals torch's word_language_model loop (nn.Embedding + nn.LSTM + nn.Linear)."""
    torch = pytest.importorskip("torch")
    text = "the cat sat on the mat. " * 6
    kw = dict(hidden_layer_sizes=5, embedding_dim=4, bptt_steps=7, batch_size=3, solver="sgd", momentum=0.0,
              learning_rate_init=0.3, max_iter=1, clip_norm=None, dtype="float64", random_state=0,
              warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lm = LSTMLanguageModel(**kw).fit(text)
        before = lm.state_dict()
        lm.fit(text)
    stream = np.concatenate(lm.vectorizer_.transform([text]))
    V = lm.vocab_size_
    mod = torch.nn.Module()
    mod.embedding = torch.nn.Embedding(V, 4, padding_idx=0)
    mod.rnn = torch.nn.LSTM(4, 5)
    mod.head = torch.nn.Linear(5, V)
    mod = mod.double()
    mod.load_state_dict({k: torch.from_numpy(v) for k, v in before.items()})
    opt = torch.optim.SGD(mod.parameters(), lr=0.3)
    B, k = 3, 7
    L = (len(stream) - 1) // B
    src = torch.from_numpy(stream[:B * L].reshape(B, L).T.copy())  # (L, B) as torch's batchify
    tgt = torch.from_numpy(stream[1:B * L + 1].reshape(B, L).T.copy())
    hidden = None
    for a in range(0, L, k):
        opt.zero_grad()
        out, hidden = mod.rnn(mod.embedding(src[a:a + k]), hidden)
        hidden = tuple(h.detach() for h in hidden)
        loss = torch.nn.functional.cross_entropy(mod.head(out).reshape(-1, V), tgt[a:a + k].reshape(-1))
        loss.backward()
        opt.step()
    after = lm.state_dict()
    for key, value in mod.state_dict().items():
        np.testing.assert_allclose(after[key], value.numpy(), rtol=1e-9, atol=1e-12, err_msg=key)


# --------------------------------------------------------------------------- scoring
def test_score_perplexity_and_next_token_distribution(fitted):
    s = fitted.score(TEXT)
    assert s < 0 and fitted.perplexity(TEXT) == pytest.approx(math.exp(-s))
    assert fitted.perplexity(TEXT) < 1.5  # the text is nearly deterministic
    assert fitted.score(TEXT) > fitted.score("dcba dcba dcba")
    p = fitted.predict_proba(["", "abc", "abcab"])
    assert p.shape == (3, fitted.vocab_size_) and np.allclose(p.sum(axis=1), 1.0)
    tokens = list(fitted.tokens_)
    assert tokens[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert tokens[int(np.argmax(p[0]))] == "a" and tokens[int(np.argmax(p[1]))] == "a"
    assert p[2, tokens.index("c")] > 0.5 and p[2, tokens.index("d")] > 0.05  # abc 3 times, abd once
    # a document's score does not depend on the others scored with it
    assert fitted.score(["abcab"]) == pytest.approx(fitted.score(["abcab"] * 3), rel=1e-12)


def test_score_counts_every_token_after_bos_eos_included(fitted):
    seq = fitted.vectorizer_.transform(["abca"])[0]
    p = fitted.predict_proba(["", "a", "ab", "abc", "abca"])
    want = np.mean(np.log(p[np.arange(5), seq[1:]]))
    assert fitted.score("abca") == pytest.approx(want, rel=1e-5)


# --------------------------------------------------------------------------- generation
def test_generate_greedy_continues_the_pattern(fitted):
    assert fitted.generate("abcab", max_new_tokens=4, temperature=0) == "abcabcabc"
    assert fitted.generate("abcab", max_new_tokens=4, top_k=1, random_state=3) == "abcabcabc"
    assert fitted.generate("abc", max_new_tokens=0) == "abc"


def test_generate_is_reproducible_and_respects_the_length(fitted):
    a = fitted.generate("a", max_new_tokens=30, random_state=7)
    assert a == fitted.generate("a", max_new_tokens=30, random_state=7)
    assert a.startswith("a") and 1 <= len(a) <= 31
    assert set(a) <= set("abcd ")
    many = fitted.generate(["a", "ab", ""], max_new_tokens=10, temperature=0.5, top_p=0.9, random_state=1)
    assert isinstance(many, list) and len(many) == 3 and many[1].startswith("ab")
    assert all(len(s) <= len(p) + 10 for s, p in zip(many, ["a", "ab", ""]))


def test_generation_steps_from_the_carried_state_as_scoring_reads_the_text(fitted):
    """Greedy text, read back, has at every step the most likely next token (no prefix re-run drift)."""
    out = fitted.generate("ab", max_new_tokens=12, temperature=0)
    prefixes = [out[:i] for i in range(2, len(out))]
    p = fitted.predict_proba(prefixes)
    p[:, :4] = 0
    assert "".join(fitted.tokens_[np.argmax(p, axis=1)]) == out[2:]


def test_generation_stops_at_the_end_of_text():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lm = LSTMLanguageModel(**{**SMALL, "bptt_steps": 4, "max_iter": 40}).fit(["abc"] * 30)
    out = lm.generate("", max_new_tokens=50, temperature=0)
    assert out == "abc"


def test_unknown_prompt_characters_warn_and_are_read_as_unk(fitted):
    with pytest.warns(UserWarning, match=r"1 character\(s\) of the prompt are not in the vocabulary.*'x'"):
        out = fitted.generate("xab", max_new_tokens=3, temperature=0)
    assert out.startswith("xab") and len(out) == 6


@pytest.mark.parametrize("kw,match", [
    ({"temperature": -1}, "temperature"), ({"temperature": float("nan")}, "temperature"),
    ({"top_k": 0}, "top_k"), ({"top_p": 0}, "top_p"), ({"top_p": 1.5}, "top_p"),
    ({"max_new_tokens": -1}, "max_new_tokens"), ({"max_new_tokens": 2.5}, "max_new_tokens")])
def test_bad_generation_options_are_clear_errors(fitted, kw, match):
    with pytest.raises(ValueError, match=match):
        fitted.generate("ab", **kw)


def test_sampling_filters():
    rng = np.random.RandomState(0)
    z = np.log(np.array([[0.5, 0.3, 0.15, 0.05]] * 4000))
    draws = sample_next(z, rng)
    assert abs(np.mean(draws == 0) - 0.5) < 0.03 and abs(np.mean(draws == 3) - 0.05) < 0.02
    assert set(sample_next(z, rng, top_k=2)) == {0, 1}
    assert set(sample_next(z, rng, top_p=0.75)) == {0, 1}  # 0.5 + 0.3 reach 0.75
    assert set(sample_next(z, rng, top_p=0.1)) == {0}  # the most likely token is always kept
    cold = sample_next(z, rng, temperature=0.2)
    assert np.mean(cold == 0) > 0.9
    assert set(sample_next(z, rng, temperature=0)) == {0}
    masked = z.copy()
    masked[:, 0] = -np.inf
    assert 0 not in set(sample_next(masked, rng))


# --------------------------------------------------------------------------- the sklearn contract
def test_clone_pickle_and_save_keep_every_output(fitted, tmp_path):
    assert clone(fitted).get_params() == fitted.get_params()
    path = tmp_path / "lm.sklstm"
    sklstm.save(fitted, path)
    for other in (pickle.loads(pickle.dumps(fitted)), sklstm.load(path)):
        assert other.score(TEXT) == fitted.score(TEXT)
        assert other.generate("ab", 20, random_state=4) == fitted.generate("ab", 20, random_state=4)
        np.testing.assert_array_equal(other.predict_proba(["abc"]), fitted.predict_proba(["abc"]))
    unfitted = tmp_path / "new.sklstm"
    sklstm.save(LSTMLanguageModel(analyzer="word", tie_weights=True), unfitted)
    assert sklstm.load(unfitted).get_params()["tie_weights"] is True


def test_a_callable_analyzer_is_refused_by_save_but_pickles(tmp_path):
    lm = LSTMLanguageModel(analyzer=list)
    with pytest.raises(TypeError, match="callable analyzer"):
        sklstm.save(lm, tmp_path / "x.sklstm")
    assert pickle.loads(pickle.dumps(lm)).analyzer is list


def test_random_state_reproduces_the_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = LSTMLanguageModel(**{**SMALL, "max_iter": 2, "dropout": 0.2}).fit(TEXT)
        b = LSTMLanguageModel(**{**SMALL, "max_iter": 2, "dropout": 0.2}).fit(TEXT)
    np.testing.assert_array_equal(a.coefs_flat_, b.coefs_flat_)
    assert a.loss_curve_ == b.loss_curve_


def test_grid_search_selects_by_held_out_score():
    docs = ["abcabcabcabd " * 5] * 8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = GridSearchCV(LSTMLanguageModel(**{**SMALL, "max_iter": 10}),
                              {"hidden_layer_sizes": [1, 16]}, cv=2).fit(docs)
    assert search.best_params_ == {"hidden_layer_sizes": 16}
    assert search.best_score_ == pytest.approx(search.best_estimator_.score(docs), abs=0.2)


def test_partial_fit_and_warm_start_continue_training():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lm = LSTMLanguageModel(**SMALL)
        lm.partial_fit(TEXT)
        first = lm.score(TEXT)
        for _ in range(5):
            lm.partial_fit(TEXT)
        assert lm.n_iter_ == 6 and len(lm.loss_curve_) == 6 and lm.score(TEXT) > first
        with pytest.warns(UserWarning, match="not in the fitted vocabulary"):
            lm.partial_fit("xyz abc " * 20)
        warm = LSTMLanguageModel(**{**SMALL, "max_iter": 2, "warm_start": True}).fit(TEXT)
        w0 = warm.coefs_flat_.copy()
        warm.fit(TEXT)
        assert warm.n_iter_ == 4 and not np.array_equal(w0, warm.coefs_flat_)
        with pytest.raises(ValueError, match="hidden_layer_sizes changed"):
            warm.set_params(hidden_layer_sizes=8).fit(TEXT)


def test_early_stopping_keeps_the_best_held_out_weights():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lm = LSTMLanguageModel(**{**SMALL, "early_stopping": True, "validation_fraction": 0.2,
                                  "n_iter_no_change": 3, "max_iter": 30}).fit(TEXT)
    assert len(lm.validation_scores_) == lm.n_iter_
    assert lm.best_validation_score_ == max(lm.validation_scores_)
    stream = np.concatenate(lm.vectorizer_.transform([TEXT]))
    held = stream[-int(round(0.2 * len(stream))):]
    assert lm._mean_log_likelihood([held]) == pytest.approx(lm.best_validation_score_, rel=1e-6)


def test_word_level_and_tied_weights():
    text = "the cat sat on the mat . the dog sat on the log . " * 20
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lm = LSTMLanguageModel(**{**SMALL, "analyzer": "word", "embedding_dim": 16, "tie_weights": True,
                                  "bptt_steps": 8}).fit(text)
    sd = lm.state_dict()
    np.testing.assert_array_equal(sd["embedding.weight"], sd["head.weight"])
    assert np.all(sd["embedding.weight"][0] == 0)
    out = lm.generate("the cat", max_new_tokens=3, temperature=0)
    assert out == "the cat sat on the"
    with pytest.raises(ValueError, match="tie_weights=True needs embedding_dim == hidden_layer_sizes"):
        LSTMLanguageModel(tie_weights=True, embedding_dim=8, hidden_layer_sizes=16).fit(text)


def test_token_id_input():
    ids = [np.array([1, 2, 3] * 30 + [1, 2, 4]) for _ in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lm = LSTMLanguageModel(**SMALL).fit(ids)
    assert lm.vectorizer_ is None and lm.vocab_size_ == 5
    out = lm.generate(np.array([1, 2]), max_new_tokens=4, temperature=0)
    np.testing.assert_array_equal(out, [1, 2, 3, 1, 2, 3])
    assert isinstance(lm.generate([np.array([1]), np.array([2, 3])], 2, random_state=0), list)
    with pytest.raises(ValueError, match="id 7, outside the model's vocabulary"):
        lm.score([np.array([1, 7])])
    with pytest.raises(TypeError, match="fitted on token ids"):
        lm.score("abc")


@pytest.mark.parametrize("X,err,match", [
    ("", ValueError, "empty string"),
    (["abc", ""], ValueError, "document 1 of X is an empty string"),
    ([], ValueError, "no document"),
    (["abc", 3], TypeError, "item 1 of X is a int"),
    (b"abc", TypeError, "bytes"),
    (12, TypeError, "must be a str"),
    ([np.array([1, 0, 2])], ValueError, "id 0"),
    ([np.array([1.5, 2.0])], TypeError, "1D integer arrays"),
    ("abc", ValueError, "one chunk of bptt_steps=12 needs at least 13"),
])
def test_bad_input_is_a_clear_error(X, err, match):
    with pytest.raises(err, match=match):
        LSTMLanguageModel(**SMALL).fit(X)


def test_cuda_is_refused_clearly():
    with pytest.raises(ValueError, match="no GPU path"):
        LSTMLanguageModel(**SMALL, device="cuda").fit(TEXT)


# --------------------------------------------------------------------------- the n-gram baseline
def test_kneser_ney_distributions_sum_to_one_and_match_the_score():
    from sklstm.language_model import NgramLanguageModel

    text = ["the cat sat on the mat", "a dog sat on a log", "the end"]
    for order in (1, 2, 4):
        ngram = NgramLanguageModel(order=order).fit(text)
        p = ngram.predict_proba(["", "the c", "zzz", "a dog sat on a log and more"])
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
        assert np.all(p[:, 0] == 0) and np.all(p[:, 2] == 0)  # <pad> and <bos> are never next
        assert np.all(p[:, 1:] >= 0) and np.all(p[:, 3] > 0)
        doc = "the cat"
        seq = ngram.vectorizer_.transform([doc])[0]
        prefixes = [doc[:i] for i in range(len(doc) + 1)]
        want = np.mean(np.log(ngram.predict_proba(prefixes)[np.arange(len(seq) - 1), seq[1:]]))
        assert ngram.score(doc) == pytest.approx(want, rel=1e-12)
    four, one = NgramLanguageModel(order=4).fit(text), NgramLanguageModel(order=1).fit(text)
    assert four.score(text) > one.score(text)


def test_kneser_ney_counts_by_hand():
    """Bigram of "abab": P(b|a) = (2 - D) / 2 + D * 1/2 * P_uni(b), P_uni from continuation counts."""
    from sklstm.language_model import NgramLanguageModel

    ngram = NgramLanguageModel(order=2, discount=0.5).fit("abab")
    tokens = list(ngram.tokens_)
    a, b, eos = tokens.index("a"), tokens.index("b"), tokens.index("<eos>")
    # unigram continuation counts: a after {<bos>, b}, b after {a}, <eos> after {b}: 2, 1, 1 of 4
    # interpolated with the uniform over V - 2 = 4 tokens (<unk>, <eos>, a, b)
    uni = {a: (2 - 0.5) / 4 + 0.5 * 3 / 4 / 4, b: (1 - 0.5) / 4 + 0.5 * 3 / 4 / 4}
    p = ngram.predict_proba(["a"])[0]
    assert p[b] == pytest.approx((2 - 0.5) / 2 + 0.5 * 1 / 2 * uni[b])
    p_start = ngram.predict_proba([""])[0]  # history <bos>: raw counts (a once)
    assert p_start[a] == pytest.approx((1 - 0.5) / 1 + 0.5 * 1 / 1 * uni[a])
    assert p.sum() == pytest.approx(1.0) and p[eos] > 0


def test_the_lstm_beats_kneser_ney_where_the_context_is_longer_than_the_order():
    """Each line opens with '(' or '[', runs 5-8 random letters and closes with the matching bracket.

    A 4-gram cannot see the opening bracket when the line ends; the LSTM can carry it, so it names the
    right closer and its held-out log-likelihood is higher.
    """
    from sklstm.language_model import NgramLanguageModel

    rng = np.random.default_rng(0)

    def lines(n):
        out = []
        for _ in range(n):
            o = rng.integers(2)
            body = "".join(rng.choice(list("ab"), rng.integers(5, 9)))
            out.append("([" [o] + body + ")]"[o] + "\n")
        return "".join(out)

    train, test = lines(600), lines(60)
    kn = NgramLanguageModel(order=4).fit([train])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lm = LSTMLanguageModel(hidden_layer_sizes=32, embedding_dim=8, bptt_steps=32, batch_size=8,
                               learning_rate_init=0.02, max_iter=80, random_state=0).fit([train])
    assert list(lm.tokens_) == list(kn.tokens_)
    closers = [i for i, ch in enumerate(test) if ch in ")]"]
    tokens = list(lm.tokens_)
    ids = [tokens.index(test[i]) for i in closers]
    pair = [tokens.index(")"), tokens.index("]")]
    rows = np.arange(len(closers))

    def right_bracket(model):  # P(the right closer | a closer comes here), averaged over the lines
        p = model.predict_proba([test[:i] for i in closers])
        return np.mean(p[rows, ids] / p[:, pair].sum(axis=1))

    assert right_bracket(lm) > 0.95  # the LSTM knows which bracket closes the line (0.998 measured)
    assert right_bracket(kn) < 0.6  # the 4-gram can only guess (0.495)
    assert lm.score([test]) > kn.score([test]) + 0.1  # nats per character: -0.72 against -0.89
