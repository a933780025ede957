"""Malformed input gets a clear ValueError/TypeError, never a numba error, crash or silent NaN."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from sklstm import LSTMClassifier, LSTMRegressor

CLEAR = (ValueError, TypeError)


@st.composite
def malformed_X(draw):
    kind = draw(st.sampled_from(["ndarray", "ragged", "scalar", "nested", "weird"]))
    if kind == "ndarray":
        ndim = draw(st.integers(0, 5))
        shape = tuple(draw(st.integers(0, 4)) for _ in range(ndim))
        dtype = draw(st.sampled_from([np.float32, np.float64, np.int8, np.complex64, object, "U3", bool]))
        a = np.zeros(shape, dtype=dtype)
        if a.size and dtype in (np.float32, np.float64):
            a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 1.0]))
        if a.size and dtype is object:
            a.flat[0] = draw(st.sampled_from(["x", None, 1.5, b"b", [1]]))
        return a
    if kind == "ragged":
        n = draw(st.integers(0, 3))
        seqs = []
        for _ in range(n):
            T = draw(st.integers(0, 3))
            F = draw(st.integers(0, 3))
            nd = draw(st.sampled_from([1, 2, 3]))
            shape = (T,) if nd == 1 else (T, F) if nd == 2 else (T, F, 2)
            s = np.ones(shape)
            if s.size and draw(st.booleans()):
                s.flat[0] = np.nan
            seqs.append(s)
        return seqs
    if kind == "scalar":
        return draw(st.sampled_from([3, 3.5, "abc", None, b"x"]))
    if kind == "nested":
        floats = st.floats(allow_nan=True, allow_infinity=True)
        return draw(st.lists(st.lists(floats, max_size=3), max_size=3))
    return draw(st.sampled_from([{"a": 1}, {1, 2}, object(), [None, None], [[1, "a"], [2, "b"]]]))


def _check(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = fn()
        except CLEAR as exc:
            assert str(exc), "error without a message"
            return None
    return out


SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(malformed_X(), st.integers(0, 3))
def test_fit_on_malformed_X(X, ny):
    y = np.arange(ny) % 2
    est = _check(lambda: LSTMClassifier(hidden_layer_sizes=(2,), max_iter=1).fit(X, y))
    if est is not None:
        proba = _check(lambda: est.predict_proba(X))
        assert proba is None or np.isfinite(proba).all()


@SETTINGS
@given(malformed_X())
def test_predict_on_malformed_X(X):
    rng = np.random.default_rng(0)
    est = LSTMRegressor(hidden_layer_sizes=(2,), max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(rng.normal(size=(6, 3, 2)), rng.normal(size=6))
    out = _check(lambda: est.predict(X))
    if out is not None:
        assert np.isfinite(np.concatenate([np.ravel(o) for o in out]) if isinstance(out, list) else out).all()


@SETTINGS
@given(st.lists(st.sampled_from([0.0, 1.0, np.nan, np.inf, -1.0, 2.0]), min_size=0, max_size=6),
       st.sampled_from(["reg", "clf"]))
def test_bad_targets(y, which):
    X = np.random.default_rng(0).normal(size=(4, 3, 2))
    est = LSTMRegressor(max_iter=1, hidden_layer_sizes=(2,)) if which == "reg" else \
        LSTMClassifier(max_iter=1, hidden_layer_sizes=(2,))
    res = _check(lambda: est.fit(X, np.array(y)))
    if res is not None:
        assert len(y) == 4 and np.isfinite(y).all()


def test_listed_bad_inputs_have_clear_messages(rng):
    X = rng.normal(size=(6, 3, 2))
    y = np.array([0, 1, 0, 1, 0, 1])
    clf = LSTMClassifier(hidden_layer_sizes=(2,), max_iter=1)
    cases = [
        (lambda: clf.fit(np.float64(3.0), y), "scalar"),
        (lambda: clf.fit(np.zeros((6, 3, 2, 1)), y), "dim 4.*3D array"),
        (lambda: clf.fit(np.zeros((0, 3, 2)), y[:0]), "at least one"),
        (lambda: clf.fit([np.zeros((0, 2))] * 6, y), "length 0"),
        (lambda: clf.fit([np.zeros((2, 2)), np.zeros((2, 3))] * 3, y), "same number of features"),
        (lambda: clf.fit(np.full((6, 3, 2), "a"), y), "numeric"),
        (lambda: clf.fit(X.astype(complex), y), "Complex"),
        (lambda: clf.fit(np.where(np.arange(36).reshape(6, 3, 2) == 7, np.nan, X), y), "NaN"),
        (lambda: clf.fit(np.where(np.arange(36).reshape(6, 3, 2) == 7, np.inf, X), y), "infinity"),
        (lambda: clf.fit(X, y[:5]), "6"),
        (lambda: LSTMRegressor(max_iter=1).fit(X, np.where(y == 0, np.nan, 1.0)), "NaN"),
        (lambda: clf.fit(X, np.zeros(6)), "one class"),
        (lambda: clf.fit(X, y, sample_weight=np.ones(5)), "sample_weight"),
        (lambda: clf.fit(X, y, sample_weight=-np.ones(6)), "non-negative"),
        (lambda: clf.fit(X, y, sample_weight=np.zeros(6)), "zero"),
        (lambda: LSTMClassifier(class_weight={5: 2.0}, max_iter=1).fit(X, y), "class_weight"),
    ]
    for fn, match in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(CLEAR, match=match):
                fn()
    with pytest.raises(NotFittedError):
        LSTMClassifier().predict(X)
    clf.fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :, :1])


@pytest.mark.parametrize("X,bad", [
    ([np.ones((3, 2)), None], r"X\[1\] is None"),
    ([None, np.ones((3, 2))], r"X\[0\] is None"),
    (np.array([np.ones((3, 2)), None], dtype=object), r"X\[1\] is None"),
    ((np.ones((3, 2)), [[1.0, 2.0]]), r"X\[1\] is of type list"),
    ([np.ones((2, 3)), [1.0, None]], r"X\[1\] is of type list"),
    ([np.ones(4), 5], r"X\[1\] is of type int"),
])
def test_a_list_of_sequences_with_a_non_array_item_names_the_item(X, bad):
    """Not numpy's "inhomogeneous shape" message: the bad item's index, and the accepted forms."""
    from sklstm.preprocessing import SequenceScaler

    fitted = LSTMRegressor(hidden_layer_sizes=(2,), max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted.fit([np.ones((3, 2)), np.ones((2, 2))], [1.0, 2.0])
    for call in (lambda: LSTMRegressor(max_iter=1).fit(X, [1.0, 2.0]), lambda: fitted.predict(X),
                 lambda: SequenceScaler().fit(X)):
        with pytest.raises(TypeError, match=bad) as info:
            call()
        assert "inhomogeneous" not in str(info.value)
        assert "a list of 2D arrays (n_timesteps_i, n_features)" in str(info.value)  # the accepted forms


def test_lists_that_numpy_stacks_keep_working(rng):
    """A list mixing arrays and nested lists of equal shape is still one block (3D, or 2D rows)."""
    X3 = [np.ones((3, 2)), np.zeros((3, 2)).tolist()]
    reg = LSTMRegressor(hidden_layer_sizes=(2,), max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.fit(X3, [1.0, 2.0])
        assert reg.n_features_in_ == 2 and reg.predict(X3).shape == (2,)
        rows = [np.array([1.0, 2.0]), [3.0, 4.0]]
        assert reg.fit(rows, [1.0, 2.0]).n_features_in_ == 2
