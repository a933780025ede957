"""LSTMSeq2Seq's weights interoperate with a plain torch encoder-decoder module (issue 18 point 4).

The golden fixtures tests/fixtures/seq2seq_*.npz were generated from torch
by tests/make_seq2seq_fixtures.py: random weights of a torch module named
as :meth:`LSTMSeq2Seq.state_dict` names them, ragged pairs, and torch's
float64 teacher-forced log-likelihoods. They are compared on every run
without torch: an estimator fitted for one epoch on the pairs (for its
architecture) loads the torch weights and must give torch's
log-likelihoods through ``score_pairs``. Where torch is importable the
weights also travel the other way (sklstm -> ``load_state_dict(strict=True)``).
"""

import glob
import os
import warnings

import numpy as np
import pytest

import make_seq2seq_fixtures as mk
import seq2seq_reference as s2s_ref
from sklstm import LSTMSeq2Seq

FIXTURES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "fixtures", "seq2seq_*.npz")))


def _load(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _ragged(values, lengths):
    return [a.copy() for a in np.split(values, np.cumsum(lengths)[:-1])]


def _pairs(fx):
    xs = fx["x_features"] if "x_features" in fx else _ragged(fx["x_values"], fx["x_lengths"])
    return xs, _ragged(fx["y_values"], fx["y_lengths"])


def _weights(fx):
    return {k[2:]: v for k, v in fx.items() if k.startswith("w/")}


def _fitted(cell, layers, bidirectional, attention, xs, ys, dtype, max_iter=1, hidden=mk.HIDDEN,
            embedding_dim=mk.EMBED):
    est = LSTMSeq2Seq(hidden_layer_sizes=(hidden,) * layers, cell=cell, bidirectional=bidirectional,
                      attention=attention, embedding_dim=embedding_dim, max_iter=max_iter, batch_size=4,
                      learning_rate_init=0.05, dtype=dtype, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(xs, ys)


def _fitted_on(fx, dtype):
    xs, ys = _pairs(fx)
    return _fitted(str(fx["meta_cell"]), int(fx["meta_layers"]), bool(fx["meta_bidirectional"]),
                   bool(fx["meta_attention"]), xs, ys, dtype)


def test_fixtures_present():
    assert [os.path.basename(p) for p in FIXTURES] == sorted(f"seq2seq_{c[0]}.npz" for c in mk.CONFIGS)
    kinds = set()
    for p in FIXTURES:
        fx = _load(p)
        kinds.add((str(fx["meta_source"]), bool(fx["meta_attention"]), "w/bridge.h_l0.weight" in fx,
                   "w/attention.key.weight" in fx))
    # ids without bridge or attention; bidirectional with bridge, key and attention; features with bridge
    assert {("ids", False, False, False), ("ids", True, True, True),
            ("features", False, True, False)} <= kinds


@pytest.mark.parametrize("path", FIXTURES, ids=os.path.basename)
def test_state_dict_keys_and_shapes_match_torch(path):
    fx = _load(path)
    est = _fitted_on(fx, "float64")
    w, sd = _weights(fx), est.state_dict()
    assert set(sd) == set(w)
    for k in w:
        assert sd[k].shape == w[k].shape, k
    spec = est._spec
    assert (spec.source_vocab, spec.target_vocab, spec.bos, spec.eos) == \
        (int(fx["meta_source_vocab"]), int(fx["meta_target_vocab"]), int(fx["meta_bos"]), int(fx["meta_eos"]))


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-5), ("float32", 1e-4)])
@pytest.mark.parametrize("path", FIXTURES, ids=os.path.basename)
def test_score_pairs_equals_torch(path, dtype, tol):
    """torch's weights loaded into the estimator give torch's per-pair log-likelihoods."""
    fx = _load(path)
    xs, ys = _pairs(fx)
    est = _fitted_on(fx, dtype).load_state_dict(_weights(fx))
    ll = est.score_pairs(xs, ys)
    assert ll.dtype == np.float64 and ll.shape == fx["loglik"].shape
    np.testing.assert_allclose(ll, fx["loglik"], rtol=tol, atol=tol)
    if dtype == "float64":  # the weights went in unchanged
        for k, v in est.state_dict().items():
            np.testing.assert_array_equal(v, fx[f"w/{k}"], err_msg=k)


@pytest.mark.parametrize("path", FIXTURES, ids=os.path.basename)
def test_numpy_reference_equals_torch(path):
    """The plain-NumPy reference of the pair log-likelihood agrees with torch too."""
    fx = _load(path)
    xs, ys = _pairs(fx)
    spec = _fitted_on(fx, "float64")._spec
    eos = int(fx["meta_eos"])
    ref = [s2s_ref.pair_log_likelihood(spec, _weights(fx), xs[i], np.append(ys[i], eos))
           for i in range(len(ys))]
    np.testing.assert_allclose(ref, fx["loglik"], rtol=1e-9, atol=1e-9)


def _torch_log_likelihoods(torch, mod, config, xs, ys, marks=None):
    _, cell, layers, bidirectional, attention, _ = config
    with torch.no_grad():
        return mk.log_likelihoods(torch, mod, cell, layers, bidirectional, attention, xs, ys, marks).numpy()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("config", mk.CONFIGS, ids=lambda c: c[0])
def test_live_torch_roundtrip(config, dtype):
    """sklstm -> torch (strict) gives score_pairs; torch tensors -> sklstm gives torch's numbers."""
    torch = pytest.importorskip("torch")
    name, cell, layers, bidirectional, attention, source = config
    xs, ys = mk.pairs(source, seed=3)
    est = _fitted(cell, layers, bidirectional, attention, xs, ys, dtype, max_iter=3)
    tdt = getattr(torch, dtype)
    tol = 1e-9 if dtype == "float64" else 2e-4
    mod = mk.build(torch, cell, layers, bidirectional, attention, source, seed=11, dtype=tdt)
    mod.load_state_dict({k: torch.from_numpy(v) for k, v in est.state_dict().items()}, strict=True)
    np.testing.assert_allclose(_torch_log_likelihoods(torch, mod, config, xs, ys), est.score_pairs(xs, ys),
                               rtol=tol, atol=tol)
    other = mk.build(torch, cell, layers, bidirectional, attention, source, seed=12, dtype=tdt)
    est.load_state_dict(other.state_dict())  # torch tensors as they come
    np.testing.assert_allclose(est.score_pairs(xs, ys), _torch_log_likelihoods(torch, other, config, xs, ys),
                               rtol=tol, atol=tol)


def test_live_torch_text_pairs():
    """Character-level text pairs: the estimator's ids (``<bos>`` 2, ``<eos>`` 3) through the torch module."""
    torch = pytest.importorskip("torch")
    X = ["kitten", "ab", "sitting", "x", "abcab", "tea"]
    y = ["nettik", "ba", "gnittis", "x", "bacba", "aet"]
    config = ("text", "gru", 2, True, True, "ids")
    est = _fitted(*config[1:5], X, y, "float64", max_iter=2)
    spec = est._spec
    assert (spec.bos, spec.eos) == (2, 3)
    xs = est.source_vectorizer_.transform(X)
    ys = [t[1:-1] for t in est.target_vectorizer_.transform(y)]  # without <bos> and <eos>
    mod = mk.build(torch, *config[1:], dtype=torch.float64, vocab=(spec.source_vocab, spec.target_vocab))
    mod.load_state_dict({k: torch.from_numpy(v) for k, v in est.state_dict().items()}, strict=True)
    np.testing.assert_allclose(_torch_log_likelihoods(torch, mod, config, xs, ys, (spec.bos, spec.eos)),
                               est.score_pairs(X, y), rtol=1e-9, atol=1e-9)
