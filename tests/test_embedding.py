"""Token input through a learned embedding (``embedding_dim``): gradients, padding, validation, estimators."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone

import sklstm
from conftest import CELLS, make_params
from driver import forward, loss_and_grad
from sklstm import LSTMClassifier, LSTMRegressor
from sklstm._spec import NetworkSpec

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

LENGTHS = np.array([5, 2, 4, 3])


def _ids(rng, vocab, lengths=LENGTHS, low=0):
    X = np.zeros((len(lengths), int(max(lengths)), 1), dtype=np.int64)
    for i, L in enumerate(lengths):
        X[i, :L, 0] = rng.integers(low, vocab, L)
    return X


@pytest.mark.parametrize("bidirectional,per_step", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("cell", CELLS)
def test_embedding_gradient_matches_finite_differences(rng, cell, bidirectional, per_step):
    spec = NetworkSpec(cell, 3, (4, 2), bidirectional, 2, vocab_size=6, padding_idx=0)
    flat = make_params(spec, rng)
    X = _ids(rng, 6)
    X[0, 1, 0] = 0  # padding_idx inside a sequence: an ordinary step with the zero row, no gradient
    y = rng.integers(0, 2, (len(LENGTHS), X.shape[1]) if per_step else len(LENGTHS))
    kw = dict(alpha=0.0, clip_norm=None, return_sequences=per_step)
    grad = np.zeros_like(flat)
    loss_and_grad(spec, flat, grad, X, LENGTHS, y, np.ones(4), "softmax", **kw)
    emb = spec.views(grad)["embedding.weight"]
    assert np.all(emb[0] == 0.0)  # the padding row gets no gradient
    used = np.unique(X[:, :, 0][np.arange(X.shape[1])[None] < LENGTHS[:, None]])
    assert np.abs(emb[used[used > 0]]).min(axis=1).max() > 0
    eps = 1e-6
    start = spec.entries[0][2]
    for i in list(range(start + 3, start + 18)) + [spec.n_params - 3]:  # embedding rows 1.., and the head
        up, down = flat.copy(), flat.copy()
        up[i] += eps
        down[i] -= eps
        fd = (loss_and_grad(spec, up, np.zeros_like(flat), X, LENGTHS, y, np.ones(4), "softmax", **kw)
              - loss_and_grad(spec, down, np.zeros_like(flat), X, LENGTHS, y, np.ones(4), "softmax", **kw))
        assert grad[i] == pytest.approx(fd / (2 * eps), rel=1e-6, abs=1e-9), i


def test_embedding_equals_feeding_the_looked_up_vectors(rng):
    """The network on ids equals the same network on the embedded vectors (forward and weight gradients)."""
    spec = NetworkSpec("lstm", 3, (4,), False, 1, vocab_size=5)
    plain = NetworkSpec("lstm", 3, (4,), False, 1)
    flat = make_params(spec, rng)
    n_emb = 5 * 3
    X = _ids(rng, 5, low=1)
    E = flat[:n_emb].reshape(5, 3)
    Xf = E[X[:, :, 0]] * (np.arange(X.shape[1])[None, :, None] < LENGTHS[:, None, None])
    np.testing.assert_array_equal(forward(spec, flat, X, LENGTHS), forward(plain, flat[n_emb:], Xf, LENGTHS))
    y = rng.standard_normal((4, 1))
    g1, g2 = np.zeros_like(flat), np.zeros(plain.n_params)
    loss_and_grad(spec, flat, g1, X, LENGTHS, y, np.ones(4), "squared_error", alpha=0.0)
    loss_and_grad(plain, flat[n_emb:], g2, Xf, LENGTHS, y, np.ones(4), "squared_error", alpha=0.0)
    np.testing.assert_allclose(g1[n_emb:], g2, rtol=1e-12, atol=1e-14)


def _order_task(rng, n=160):
    """Label: does token 3 come before token 4 (the other tokens are noise)?"""
    X, y = [], []
    for _ in range(n):
        L = int(rng.integers(3, 8))
        s = rng.integers(5, 9, L)
        a, b = rng.choice(L, 2, replace=False)
        s[a], s[b] = 3, 4
        X.append(s)
        y.append(int(a < b))
    return X, np.array(y)


def test_classifier_on_token_ids_learns_word_order_and_keeps_padding_zero(rng):
    X, y = _order_task(rng)
    clf = LSTMClassifier(embedding_dim=6, hidden_layer_sizes=(12,), max_iter=40, learning_rate_init=0.02,
                         random_state=0).fit(X[:120], y[:120])
    assert clf.score(X[120:], y[120:]) > 0.85
    w = clf.state_dict()["embedding.weight"]
    assert w.shape == (9, 6) and np.all(w[0] == 0.0)
    assert clf.n_features_in_ == 1
    # a padded 2D integer array is the same input as the ragged list
    T = max(len(s) for s in X)
    P = np.zeros((40, T), dtype=np.int64)
    for i, s in enumerate(X[120:]):
        P[i, :len(s)] = s
    np.testing.assert_array_equal(clf.predict_proba(P), clf.predict_proba(X[120:]))
    # streaming one token at a time equals predict
    st = clf.stream()
    for tok in X[0]:
        p = st.step_proba(int(tok))
    np.testing.assert_array_equal(p, clf.predict_proba(X[:1])[0])


def test_token_model_saves_loads_pickles_and_clones(rng, tmp_path):
    X, y = _order_task(rng, 40)
    reg = LSTMRegressor(embedding_dim=3, hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y * 1.0)
    path = tmp_path / "m.sklstm"
    sklstm.save(reg, path)
    for other in (sklstm.load(path), pickle.loads(pickle.dumps(reg))):
        np.testing.assert_array_equal(other.predict(X), reg.predict(X))
    c = clone(reg)
    assert c.embedding_dim == 3 and c.vocab_size is None and c.padding_idx == 0
    again = LSTMRegressor(embedding_dim=3, hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    again.fit(X, y * 1.0)
    np.testing.assert_array_equal(again.coefs_flat_, reg.coefs_flat_)


@pytest.mark.parametrize("X,match", [
    ([np.array([1, -2, 3])], "negative token id -2"),
    ([np.array([1, 2]), np.array([1.5, 2.0])], "sequence 1 holds float values"),
    ([np.array([1, np.nan])], "NaN"),
    ([np.array([1, 2]), np.array([], dtype=int)], "sequence 1 is empty"),
    (np.array([[1, 2], [0, 0]]), "sequence 1 is empty"),
    (np.zeros((2, 3, 1)), "shape"),
    (["a text"], "string"),
    ("a text", "single string"),
])
def test_bad_token_input_is_a_clear_error(X, match):
    with pytest.raises((ValueError, TypeError), match=match):
        LSTMClassifier(embedding_dim=2, max_iter=1).fit(X, [0, 1][:len(X)] if len(X) <= 2 else [0] * len(X))


def test_ids_beyond_the_vocabulary_at_predict_name_value_and_sequence(rng):
    X, y = _order_task(rng, 30)
    clf = LSTMClassifier(embedding_dim=2, hidden_layer_sizes=(2,), max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match=r"sequence 1 holds the token id 9 at step 0.*9 ids"):
        clf.predict([np.array([3, 4]), np.array([9])])
    with pytest.raises(ValueError, match="vocabulary"):
        LSTMClassifier(embedding_dim=2, vocab_size=5, max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="padding_idx=5 must be below vocab_size=5"):
        LSTMClassifier(embedding_dim=2, vocab_size=5, padding_idx=5, max_iter=1).fit(X, y)


def test_padded_2d_ids_use_the_last_non_padding_id_as_the_end(rng):
    from sklstm._tokens import check_tokens

    ids, lengths = check_tokens(np.array([[4, 0, 2, 0, 0], [1, 1, 1, 1, 3]]), padding_idx=0)
    np.testing.assert_array_equal(lengths, [3, 5])
    np.testing.assert_array_equal(ids[0, :, 0], [4, 0, 2, 0, 0])


def test_gpu_fit_on_token_ids_matches_the_cpu(rng):
    from cuda_support import cuda_status

    ok, reason = cuda_status()
    if not ok:
        pytest.skip(reason)
    X, y = _order_task(rng, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = dict(embedding_dim=3, hidden_layer_sizes=(3,), max_iter=2, random_state=0, dtype="float64")
        a = LSTMClassifier(**kw).fit(X, y)
        b = LSTMClassifier(device="cuda", **kw).fit(X, y)
    np.testing.assert_allclose(b.coefs_flat_, a.coefs_flat_, rtol=1e-10, atol=1e-12)


def test_weights_move_to_and_from_torch_embedding_lstm_linear(rng):
    torch = pytest.importorskip("torch")
    X, y = _order_task(rng, 30)
    clf = LSTMRegressor(embedding_dim=4, hidden_layer_sizes=(5,), max_iter=2, random_state=0,
                        dtype="float64").fit(X, y * 1.0)
    mod = torch.nn.Module()
    mod.embedding = torch.nn.Embedding(9, 4, padding_idx=0)
    mod.rnn = torch.nn.LSTM(4, 5, batch_first=True)
    mod.head = torch.nn.Linear(5, 1)
    mod = mod.double()
    mod.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in clf.state_dict().items()})
    lengths = [len(s) for s in X]
    ids = torch.zeros((len(X), max(lengths)), dtype=torch.long)
    for i, s in enumerate(X):
        ids[i, :len(s)] = torch.from_numpy(s)
    packed = torch.nn.utils.rnn.pack_padded_sequence(mod.embedding(ids), lengths, batch_first=True,
                                                     enforce_sorted=False)
    _, (h_n, _) = mod.rnn(packed)
    out = mod.head(h_n[-1]).detach().numpy()[:, 0]
    np.testing.assert_allclose(clf.predict(X), out, rtol=1e-10, atol=1e-12)
    # and back: torch's weights into a fresh sklstm model of the same shape
    torch_weights = {k: v.detach().numpy() for k, v in mod.state_dict().items()}
    back = clone(clf).fit(X, y * 1.0).load_state_dict(torch_weights)
    np.testing.assert_allclose(back.predict(X), out, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("bidirectional,per_step,bptt", [(False, False, None), (True, False, None),
                                                         (False, True, None), (False, False, 2)])
@pytest.mark.parametrize("cell", CELLS)
def test_embedding_network_matches_the_numpy_reference(rng, cell, bidirectional, per_step, bptt):
    """Loss, every gradient (embedding rows included) and outputs equal tests/reference.py's."""
    import reference as ref

    spec = NetworkSpec(cell, 3, (4, 2), bidirectional, 2, vocab_size=7, padding_idx=0)
    flat = make_params(spec, rng)
    spec.views(flat)["embedding.weight"][0] = 0  # as initialised: the padding row is zero
    X = _ids(rng, 7)
    X[1, 0, 0] = 0  # a padding id inside a sequence: the zero row, no gradient
    seqs = [X[i, :L, 0] for i, L in enumerate(LENGTHS)]
    y = rng.integers(0, 2, (len(LENGTHS), X.shape[1]) if per_step else len(LENGTHS))
    w = rng.uniform(0.5, 1.5, len(LENGTHS))
    p = {k: v.astype(float) for k, v in spec.views(flat).items()}
    y_ref = [y[i, :L] for i, L in enumerate(LENGTHS)] if per_step else y
    want, grads = ref.loss_and_grads(cell, 2, bidirectional, p, seqs, y_ref, w, "softmax",
                                     return_sequences=per_step, alpha=0.01, bptt_steps=bptt)
    grad = np.zeros_like(flat)
    got = loss_and_grad(spec, flat, grad, X, LENGTHS, y, w, "softmax", alpha=0.01, clip_norm=None,
                        return_sequences=per_step, bptt_steps=bptt)
    assert got == pytest.approx(want, rel=1e-10)
    for k, g in spec.views(grad).items():
        np.testing.assert_allclose(g, grads[k], rtol=1e-8, atol=1e-10, err_msg=k)
    assert np.all(spec.views(grad)["embedding.weight"][0] == 0)
    out = forward(spec, flat, X, LENGTHS, return_sequences=per_step)
    ref_out = ref.outputs(cell, 2, bidirectional, p, seqs, return_sequences=per_step)
    if per_step:
        for i, L in enumerate(LENGTHS):
            np.testing.assert_allclose(out[i, :L], ref_out[i], rtol=1e-9, atol=1e-12)
    else:
        np.testing.assert_allclose(out, ref_out, rtol=1e-9, atol=1e-12)
