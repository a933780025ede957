"""LSTMSeq2Seq's network against the plain-NumPy reference: loss, gradient, scores, scheduled sampling."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import seq2seq_reference as sref
from sklstm._decoding import scheduled_inputs
from sklstm._objectives import Batch, TrainOptions
from sklstm._pairs import pad_block
from sklstm._seq2seq import Seq2SeqObjective, Seq2SeqSpec, encode, log_likelihoods

SOURCE_VOCAB, TARGET_VOCAB, BOS, EOS = 6, 7, 5, 6

#: (cell, hidden, bidirectional, attention, feature-vector source)
CONFIGS = [
    ("lstm", (3,), False, False, False),
    ("gru", (3,), False, False, False),
    ("rnn", (3,), False, False, False),
    ("lstm1997", (3,), False, False, False),
    ("lstm", (3, 2), True, True, False),       # bidirectional, keyed attention, 2 layers
    ("gru", (2, 3), True, False, False),       # bidirectional encoder through the bridge
    ("rnn", (3, 2), False, True, False),       # attention without the key projection
    ("lstm1997", (2, 2), True, True, False),
    ("gru", (3,), False, True, False),
    ("lstm", (3, 2), False, False, True),      # feature-vector source
    ("gru", (3,), False, False, True),
    ("rnn", (2,), False, False, True),
    ("lstm1997", (3,), False, False, True),
]
IDS = ["-".join([c[0], "x".join(map(str, c[1])), "bi" * c[2] + "att" * c[3] + "feat" * c[4]])
       for c in CONFIGS]


def _spec(cell, hidden, bidirectional, attention, features, n_features=4):
    if features:
        return Seq2SeqSpec(cell, hidden, False, 0, n_features, TARGET_VOCAB, 3, False, BOS, EOS)
    return Seq2SeqSpec(cell, hidden, bidirectional, SOURCE_VOCAB, 3, TARGET_VOCAB, 3, attention, BOS, EOS)


def _flat(spec, rng, scale=0.3):
    return spec.init_params(rng, np.float64) + rng.normal(0.0, scale, spec.n_params)


def _pairs(spec, rng, src_lens, tgt_lens, n_features=4):
    """Sources (id arrays or feature vectors) and targets (ids in [1, BOS) then <eos>)."""
    if spec.features:
        sources = [rng.normal(size=n_features) for _ in src_lens]
    else:
        sources = [rng.integers(1, SOURCE_VOCAB, L) for L in src_lens]
    targets = [np.append(rng.integers(1, BOS, L - 1), EOS) for L in tgt_lens]
    return sources, targets


def _batch(spec, sources, targets, pad_source=0, pad_target=0):
    """The padded Batch of the pairs, with optional extra padding columns."""
    if spec.features:
        X = np.asarray(sources, dtype=np.float64)[:, None, :]
        lengths = np.ones(len(sources), dtype=np.int64)
    else:
        block, lengths = pad_block(sources)
        X = np.pad(block, ((0, 0), (0, pad_source)))[:, :, None]
    y = np.pad(pad_block(targets)[0], ((0, 0), (0, pad_target)))
    return Batch(X, lengths, y)


def _reference_loss(spec, flat, sources, targets):
    p = spec.views(flat)
    total = sum(sref.pair_log_likelihood(spec, p, s, t) for s, t in zip(sources, targets))
    return -total / sum(len(t) for t in targets)


def _weight_mask(spec):
    """Every weight matrix (embeddings, recurrent, bridge, attention, head): all but the biases."""
    mask = np.zeros(spec.n_params, dtype=bool)
    for name, _, a, b in spec.entries:
        mask[a:b] = "bias" not in name.rsplit(".", 1)[-1]
    return mask


def _weights(spec, flat):
    return flat[_weight_mask(spec)]


def _coordinates(spec, grad, rng, per_entry=2):
    """A sample of flat indices: ``per_entry`` from every named entry (one at its largest gradient)."""
    out = []
    for _, _, a, b in spec.entries:
        out.append(a + int(np.argmax(np.abs(grad[a:b]))))
        out.extend(a + rng.choice(b - a, size=per_entry - 1, replace=b - a < per_entry - 1))
    return np.array(out)


def _check_finite_differences(loss_fn, flat, grad, coords, eps=1e-6, atol=1e-6):
    fd = np.empty(coords.size)
    for j, i in enumerate(coords):
        up, down = flat.copy(), flat.copy()
        up[i] += eps
        down[i] -= eps
        fd[j] = (loss_fn(up) - loss_fn(down)) / (2 * eps)
    np.testing.assert_allclose(grad[coords], fd, rtol=0, atol=atol)
    return fd


# --------------------------------------------------------------------------- pair loss, gradient, scores
@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_pair_loss_gradient_and_scores_equal_the_reference(rng, config):
    spec = _spec(*config)
    if config[3]:
        assert spec.keyed == config[2]  # the key projection exists exactly when the encoder is bidirectional
    flat = _flat(spec, rng)
    sources, targets = _pairs(spec, rng, [3, 1, 4, 2], [2, 4, 1, 3])
    batch = _batch(spec, sources, targets)
    grad = np.full_like(flat, np.nan)  # overwritten, not accumulated into
    loss = Seq2SeqObjective(spec, TrainOptions()).pair_loss_and_grad(flat, grad, batch)
    want = _reference_loss(spec, flat, sources, targets)
    assert loss == pytest.approx(want, rel=1e-10)
    coords = _coordinates(spec, grad, rng)
    names = [name for name, _, a, b in spec.entries for i in coords if a <= i < b]
    assert all(names.count(name) >= 2 for name, _, _, _ in spec.entries)
    fd = _check_finite_differences(lambda f: _reference_loss(spec, f, sources, targets), flat, grad, coords)
    assert np.count_nonzero(np.abs(fd) > 1e-4) > len(spec.entries) // 2  # not a check of zeros
    ll, counts = log_likelihoods(spec, flat, batch.X, batch.lengths, batch.y)
    p = spec.views(flat)
    want_ll = [sref.pair_log_likelihood(spec, p, s, t) for s, t in zip(sources, targets)]
    np.testing.assert_allclose(ll, want_ll, rtol=1e-10, atol=0)
    np.testing.assert_array_equal(counts, [len(t) for t in targets])


@pytest.mark.parametrize("config", [CONFIGS[4], CONFIGS[9]], ids=[IDS[4], IDS[9]])
def test_loss_and_grad_adds_the_l2_penalty_on_every_weight_matrix(rng, config):
    """Through the loop's entry point: alpha (per target token), no dropout, teacher forcing."""
    spec = _spec(*config)
    flat = _flat(spec, rng)
    sources, targets = _pairs(spec, rng, [2, 4, 3], [3, 1, 4])
    batch = _batch(spec, sources, targets)
    alpha = 0.7
    n_tokens = sum(len(t) for t in targets)
    objective = Seq2SeqObjective(spec, TrainOptions(alpha=alpha, dropout=0.0), teacher_forcing_ratio=1.0)

    def reference(f):
        w = _weights(spec, f)
        return _reference_loss(spec, f, sources, targets) + 0.5 * alpha * float(w @ w) / n_tokens

    grad = np.zeros_like(flat)
    loss = objective.loss_and_grad(flat, grad, batch, rng=np.random.default_rng(0))
    assert loss == pytest.approx(reference(flat), rel=1e-10)
    _check_finite_differences(reference, flat, grad, _coordinates(spec, grad, rng))


def test_loss_and_grad_in_two_parts_is_the_whole_batch_mean(rng):
    """64+ pairs run in two parts; the loss and gradient are still the mean over all target tokens."""
    spec = _spec("gru", (2,), True, True, False)
    flat = _flat(spec, rng)
    n = 66
    sources, targets = _pairs(spec, rng, rng.integers(1, 5, n), rng.integers(1, 5, n))
    batch = _batch(spec, sources, targets)
    objective = Seq2SeqObjective(spec, TrainOptions(alpha=0.3))
    grad = np.zeros_like(flat)
    loss = objective.loss_and_grad(flat, grad, batch, rng=np.random.default_rng(0))
    n_tokens = sum(len(t) for t in targets)
    w = _weights(spec, flat)
    want = _reference_loss(spec, flat, sources, targets) + 0.15 * float(w @ w) / n_tokens
    assert loss == pytest.approx(want, rel=1e-10)
    whole = np.zeros_like(flat)
    objective.pair_loss_and_grad(flat, whole, batch)
    mask = _weight_mask(spec)
    whole[mask] += 0.3 * flat[mask] / n_tokens
    np.testing.assert_allclose(grad, whole, rtol=1e-9, atol=1e-13)


# --------------------------------------------------------------------------- scheduled sampling
def _reference_next_log_probs(spec, p, source, prefix):
    """log p(w | source, <bos> prefix) for every w, from the reference's pair log-likelihoods."""
    L = np.array([sref.pair_log_likelihood(spec, p, source, np.append(prefix, w).astype(int))
                  for w in range(spec.target_vocab)])
    return L - (L.max() + np.log(np.exp(L - L.max()).sum()))


def test_teacher_forcing_ratio_zero_feeds_the_models_own_argmax(rng):
    spec = _spec("lstm", (3,), True, True, False)
    flat = _flat(spec, rng, scale=0.8)
    p = spec.views(flat)
    sources, targets = _pairs(spec, rng, [3, 2, 4], [4, 2, 3])
    batch = _batch(spec, sources, targets)
    # the reference's free-running inputs and the loss of the targets given them
    chains, want = [], 0.0
    for s, t in zip(sources, targets):
        chain = []
        for k in range(len(t)):
            lp = _reference_next_log_probs(spec, p, s, chain)
            want -= lp[t[k]]
            allowed = lp.copy()
            allowed[[0, spec.bos]] = -np.inf  # a decoder never writes <pad> or <bos>
            chain.append(int(np.argmax(allowed)))
        chains.append(chain[:-1])
    want /= sum(len(t) for t in targets)
    assert any(list(c) != list(t[:-1]) for c, t in zip(chains, targets))  # the inputs really change

    # scheduled_inputs with ratio 0 are those inputs (rows by decreasing target length, as the objective's)
    tl = np.array([len(t) for t in targets])
    perm = np.argsort(-tl, kind="stable")
    encoded = encode(spec, p, batch.X[perm], batch.lengths[perm])
    forced = np.zeros((tl.max(), len(targets)), dtype=np.int64)
    for j, i in enumerate(perm):
        forced[:tl[i], j] = np.concatenate([[spec.bos], targets[i][:-1]])
    chosen = scheduled_inputs(spec, p, encoded, forced, tl[perm], 0.0, np.random.default_rng(0))
    for j, i in enumerate(perm):
        np.testing.assert_array_equal(chosen[:tl[i], j], [spec.bos] + chains[i])
    # ratio 1 keeps the true inputs whatever the generator draws
    kept = scheduled_inputs(spec, p, encoded, forced, tl[perm], 1.0, np.random.default_rng(0))
    np.testing.assert_array_equal(kept, forced)

    free = Seq2SeqObjective(spec, TrainOptions(), teacher_forcing_ratio=0.0)
    grad = np.zeros_like(flat)
    loss = free.pair_loss_and_grad(flat, grad, batch, sampling_seed=[3, 1])
    assert loss == pytest.approx(want, rel=1e-10)
    forced_loss = Seq2SeqObjective(spec, TrainOptions()).pair_loss_and_grad(flat, np.zeros_like(flat), batch)
    assert forced_loss == pytest.approx(_reference_loss(spec, flat, sources, targets), rel=1e-10)
    assert abs(loss - forced_loss) > 1e-3

    # no gradient flows through the choice: the gradient is that of the loss with the chosen inputs held fixed
    def fixed_inputs_loss(f):
        q = spec.views(f)
        total = 0.0
        for s, t, c in zip(sources, targets, chains):
            for k in range(len(t)):
                total -= _reference_next_log_probs(spec, q, s, c[:k])[t[k]]
        return total / sum(len(t) for t in targets)

    some = ("encoder.rnn.weight_ih_l0", "bridge.h_l0.weight", "decoder.rnn.weight_hh_l0",
            "attention.key.weight", "head.weight", "decoder.embedding.weight")
    coords = np.array([a + int(np.argmax(np.abs(grad[a:b])))
                       for name, _, a, b in spec.entries if name in some])
    assert coords.size == len(some)
    _check_finite_differences(fixed_inputs_loss, flat, grad, coords)


# --------------------------------------------------------------------------- batch independence
@settings(max_examples=25, deadline=None)
@given(config=st.sampled_from(CONFIGS), n_others=st.integers(0, 5), pad_source=st.integers(0, 3),
       pad_target=st.integers(0, 3), seed=st.integers(0, 2 ** 16))
def test_a_pairs_log_likelihood_does_not_depend_on_its_batch_or_padding(config, n_others, pad_source,
                                                                        pad_target, seed):
    rng = np.random.default_rng(seed)
    spec = _spec(*config)
    flat = _flat(spec, rng)
    n = n_others + 1
    sources, targets = _pairs(spec, rng, rng.integers(1, 6, n), rng.integers(1, 6, n))
    alone = _batch(spec, sources[:1], targets[:1])
    want, _ = log_likelihoods(spec, flat, alone.X, alone.lengths, alone.y)
    order = rng.permutation(n)
    shuffled = _batch(spec, [sources[i] for i in order], [targets[i] for i in order], pad_source, pad_target)
    got, counts = log_likelihoods(spec, flat, shuffled.X, shuffled.lengths, shuffled.y)
    at = int(np.flatnonzero(order == 0)[0])
    # bitwise: prediction's products (bridge, keys, attention, recurrences, head) run in a fixed order
    assert got[at] == want[0]
    assert counts[at] == len(targets[0])
    ref = sref.pair_log_likelihood(spec, spec.views(flat), sources[0], targets[0])
    assert want[0] == pytest.approx(ref, rel=1e-10)


# --------------------------------------------------------------------------- the attention kernel
def _naive_attention(q, keys, memory, n):
    """One row: softmax over the first ``n`` keys, float64."""
    s = keys[:n].astype(float) @ q.astype(float)
    a = np.exp(s - s.max())
    a /= a.sum()
    return a, a @ memory[:n].astype(float)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_attention_kernel_against_numpy_and_its_padding(dtype):
    from sklstm._kernels.attention import attention_context

    rng = np.random.default_rng(3)
    B, T, H, S, E = 5, 3, 4, 6, 7
    q = rng.normal(size=(B, T, H)).astype(dtype)
    keys = rng.normal(size=(B, S, H)).astype(dtype)
    memory = rng.normal(size=(B, S, E)).astype(dtype)
    lens = np.array([6, 1, 3, 6, 2], dtype=np.int64)
    w = np.full((B, T, S), np.nan, dtype=dtype)
    c = np.full((B, T, E), np.nan, dtype=dtype)
    attention_context(q, np.ascontiguousarray(keys.transpose(0, 2, 1)), memory, lens, w, c)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for b in range(B):
        for t in range(T):
            a, ctx = _naive_attention(q[b, t], keys[b], memory[b], lens[b])
            np.testing.assert_allclose(w[b, t, :lens[b]], a, rtol=tol, atol=tol)
            np.testing.assert_array_equal(w[b, t, lens[b]:], 0)
            np.testing.assert_allclose(c[b, t], ctx, rtol=tol, atol=tol)
    # a row alone, without the padding the batch gave it: the same bits
    b = 2
    w1 = np.empty((1, T, lens[b]), dtype=dtype)
    c1 = np.empty((1, T, E), dtype=dtype)
    attention_context(q[b:b + 1], np.ascontiguousarray(keys[b:b + 1, :lens[b]].transpose(0, 2, 1)),
                      np.ascontiguousarray(memory[b:b + 1, :lens[b]]), lens[b:b + 1], w1, c1)
    np.testing.assert_array_equal(w1[0], w[b, :, :lens[b]])
    np.testing.assert_array_equal(c1[0], c[b])


def test_l2_penalty_covers_every_weight_matrix_and_no_bias():
    spec = _spec("lstm", (3,), True, True, False)
    mask = spec.weight_mask()
    names = [e[0] for e in spec.entries]
    assert "encoder.rnn.weight_hh_l0_reverse" in names and "bridge.c_l0.bias" in names
    for name, _, a, b in spec.entries:
        weight = "bias" not in name  # every other entry is a weight matrix (embeddings included)
        assert mask[a:b].all() == weight and mask[a:b].any() == weight, name
