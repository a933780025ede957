"""SequenceScaler: ragged-aware statistics, output in the input's form, exact inverse."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from sklstm import LSTMRegressor
from sklstm.preprocessing import SequenceScaler


def test_statistics_ignore_padding(rng):
    X = [rng.normal(3, 2, size=(int(rng.integers(1, 9)), 3)) for _ in range(30)]
    steps = np.concatenate(X)
    sc = SequenceScaler().fit(X)
    np.testing.assert_allclose(sc.mean_, steps.mean(0))
    np.testing.assert_allclose(sc.scale_, steps.std(0))
    T = max(len(x) for x in X)
    P = np.full((30, T, 3), np.nan)
    for i, x in enumerate(X):
        P[i, :len(x)] = x
    sc3 = SequenceScaler().fit(P)
    np.testing.assert_allclose(sc3.mean_, sc.mean_)
    Pt = sc3.transform(P)
    assert np.isnan(Pt[np.isnan(P)]).all()
    Xt = sc.transform(X)
    assert isinstance(Xt, list)
    np.testing.assert_allclose(np.concatenate(Xt).mean(0), 0, atol=1e-12)
    for a, b in zip(sc.inverse_transform(Xt), X):
        np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(sc3.inverse_transform(Pt), P)


def test_2d_and_dtype_and_pipeline(rng):
    X2 = rng.normal(5, 3, size=(40, 2)).astype(np.float32)
    Xt = SequenceScaler().fit_transform(X2)
    assert Xt.dtype == np.float32 and Xt.shape == (40, 2)
    X = rng.normal(10, 5, size=(40, 6, 2))
    pipe = make_pipeline(SequenceScaler(), LSTMRegressor(hidden_layer_sizes=(4,), max_iter=2))
    with pytest.warns():
        pipe.fit(X, X[:, -1, 0])
    assert pipe.predict(X).shape == (40,)
    with pytest.raises(ValueError, match="features"):
        SequenceScaler().fit(X).transform(X[:, :, :1])
