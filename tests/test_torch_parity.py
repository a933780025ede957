"""Parity with torch.nn.LSTM / nn.GRU / nn.RNN + nn.Linear.

The golden fixtures in tests/fixtures/ were generated from torch by
tests/make_torch_fixtures.py (weights, a ragged batch through
pack_padded_sequence, outputs, gradients, two SGD and two Adam steps); they
are compared on every run without torch. The same comparison runs live,
in float32 and float64, where torch is importable.
"""

import glob
import os
import warnings

import numpy as np
import pytest

import make_torch_fixtures as mk
from sklstm import GRURegressor, LSTMRegressor
from driver import forward, loss_and_grad
from sklstm._network import NetworkSpec
from sklstm._optimizers import AdamOptimizer, SGDOptimizer

FIXTURES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "fixtures", "torch_*.npz")))


def _load(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _vocab(fx):
    return int(fx["meta_vocab"]) if "meta_vocab" in fx else 0


def _spec(fx):
    layers = int(fx["meta_layers"])
    n_features = mk.N_FEATURES if _vocab(fx) else fx["x"].shape[2]
    return NetworkSpec(str(fx["meta_cell"]), n_features, (int(fx["meta_hidden"]),) * layers,
                       bool(fx["meta_bidirectional"]), fx["y"].shape[1], vocab_size=_vocab(fx))


def _inputs(fx, dtype):
    """The batch as the driver takes it: (n, T, F) floats, or token ids (n, T, 1) int64."""
    return fx["ids"][:, :, None] if _vocab(fx) else fx["x"].astype(dtype)


def _flat_from(spec, fx, prefix, dtype):
    flat = np.zeros(spec.n_params, dtype=dtype)
    for k, v in spec.views(flat).items():
        v[...] = fx[f"{prefix}/{k}"]
    return flat


def _check(fx, dtype, tol):
    spec = _spec(fx)
    x, lengths, y = _inputs(fx, dtype), fx["lengths"], fx["y"]
    flat = _flat_from(spec, fx, "w", dtype)
    np.testing.assert_allclose(forward(spec, flat, x, lengths), fx["out"], rtol=tol, atol=tol)
    grad = np.empty_like(flat)
    w = np.ones(len(lengths))
    loss = loss_and_grad(spec, flat, grad, x, lengths, y, w, "squared_error", clip_norm=None)
    np.testing.assert_allclose(loss, fx["loss"], rtol=tol)
    for k, g in spec.views(grad).items():
        np.testing.assert_allclose(g, fx[f"g/{k}"], rtol=tol, atol=tol, err_msg=k)
    for name in ("sgd", "adam"):
        p = flat.copy()
        if name == "sgd":
            opt = SGDOptimizer(p.size, dtype, mk.SGD["lr"], momentum=mk.SGD["momentum"], nesterov=True)
        else:
            opt = AdamOptimizer(p.size, dtype, mk.ADAM["lr"], *mk.ADAM["betas"], mk.ADAM["eps"])
        for _ in range(2):
            loss_and_grad(spec, p, grad, x, lengths, y, w, "squared_error", clip_norm=None)
            opt.update(p, grad)
        np.testing.assert_allclose(p, _flat_from(spec, fx, name, dtype), rtol=tol, atol=tol, err_msg=name)


def test_fixtures_present():
    assert len(FIXTURES) == len(mk.CONFIGS) + len(mk.EMBED_CONFIGS)
    assert sum(_vocab(_load(p)) > 0 for p in FIXTURES) == len(mk.EMBED_CONFIGS)


@pytest.mark.parametrize("path", FIXTURES, ids=os.path.basename)
def test_golden_fixture(path):
    _check(_load(path), np.float64, 1e-9)


@pytest.mark.parametrize("path", FIXTURES, ids=os.path.basename)
def test_golden_fixture_float32(path):
    _check(_load(path), np.float32, 2e-4)


@pytest.mark.parametrize("path", FIXTURES, ids=os.path.basename)
def test_estimator_loads_torch_weights(path):
    """Weights copied from torch give torch's predictions through the public API."""
    fx = _load(path)
    spec = _spec(fx)
    cls = GRURegressor if spec.cell == "gru" else LSTMRegressor
    tokens = dict(embedding_dim=mk.N_FEATURES, vocab_size=_vocab(fx)) if _vocab(fx) else {}
    est = cls(hidden_layer_sizes=spec.hidden, cell=spec.cell, bidirectional=spec.bidirectional,
              max_iter=1, dtype="float64", random_state=0, **tokens)
    x = fx["ids"] if _vocab(fx) else fx["x"]
    seqs = [x[i, :L] for i, L in enumerate(fx["lengths"])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(seqs, fx["y"])
    est.load_state_dict({k[2:]: v for k, v in fx.items() if k.startswith("w/")})
    np.testing.assert_allclose(est.predict(seqs), fx["out"], rtol=1e-9, atol=1e-9)
    sd = est.state_dict()
    for k, v in sd.items():
        np.testing.assert_array_equal(v, fx[f"w/{k}"])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("config",
                         [c + (0,) for c in mk.CONFIGS] + [c + (mk.VOCAB,) for c in mk.EMBED_CONFIGS],
                         ids=lambda c: c[0])
def test_live_torch(config, dtype):
    pytest.importorskip("torch")
    _, cell, layers, bidirectional, vocab = config
    fx = mk.generate(cell, layers, bidirectional, seed=7, dtype=dtype, vocab=vocab)
    _check(fx, np.dtype(dtype).type, 1e-9 if dtype == "float64" else 2e-4)
