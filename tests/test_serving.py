"""The single-sequence prediction path gives the bits of the batched path, and steps aside for the rest."""

import warnings

import numpy as np
import pytest

from sklstm import LSTMClassifier, LSTMRegressor
from sklstm import _serving


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


def _general(est, X):
    """The batched path's activation, bypassing the short one."""
    from sklstm._losses import output_activation

    Xp, lengths = est._validate_X(X, reset=False)
    return output_activation(est._loss, est._raw_output(Xp, lengths))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "lstm1997"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_sequence_is_bitwise_the_batched_result(cell, bidirectional, dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 9, 3)).astype(dtype)
    est = _fit(LSTMRegressor(hidden_layer_sizes=(5, 7), cell=cell, bidirectional=bidirectional, dtype=dtype,
                             max_iter=1, random_state=0), X, np.stack([X.sum((1, 2)), X[:, 0, 0]], 1))
    for i in range(3):
        one = X[i:i + 1]
        assert _serving.single_sequence(est, one) is not None  # the short path is taken
        np.testing.assert_array_equal(est.predict(one), _general(est, one))
        np.testing.assert_array_equal(est.predict(one)[0], est.predict(X)[i])  # alone = in a batch


def test_per_step_outputs_and_classifiers():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(10, 6, 2)).astype(np.float32)
    seq = _fit(LSTMRegressor(hidden_layer_sizes=(4,), return_sequences=True, max_iter=1, random_state=0),
               X, X.cumsum(1)[:, :, 0])
    np.testing.assert_array_equal(seq.predict(X[:1]), _general(seq, X[:1])[..., 0])
    assert seq.predict(X[:1]).shape == (1, 6)
    clf = _fit(LSTMClassifier(hidden_layer_sizes=(4,), max_iter=1, random_state=0), X,
               np.array(list("abc") * 3 + ["a"]))
    np.testing.assert_array_equal(clf.predict_proba(X[:1]), _general(clf, X[:1]))
    assert clf.predict(X[:1])[0] == clf.predict(X)[0]


def test_other_inputs_take_the_general_path_and_keep_its_errors():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(8, 5, 2)).astype(np.float32)
    est = _fit(LSTMRegressor(hidden_layer_sizes=(3,), max_iter=1, random_state=0), X, X.sum((1, 2)))
    padded = X[:1].copy()
    padded[0, 3:] = np.nan
    readonly = X[:1].copy()
    readonly.flags.writeable = False
    for other in (X[:1].astype(np.float64), np.asfortranarray(X[:1]), X[:1, :, ::-1].copy()[:, :, ::-1],
                  padded, readonly, [X[0]], X[:2]):
        assert _serving.single_sequence(est, other) is None
    np.testing.assert_array_equal(est.predict(padded), est.predict([X[0, :3]]))
    np.testing.assert_array_equal(est.predict(readonly), est.predict(X[:1]))
    bad = X[:1].copy()
    bad[0, 1, 0] = np.inf
    with pytest.raises(ValueError, match="contains infinity"):
        est.predict(bad)
    with pytest.raises(ValueError, match="features"):
        est.predict(rng.normal(size=(1, 5, 3)).astype(np.float32))


def test_a_stream_follows_weights_changed_after_it_was_made():
    """load_state_dict and partial_fit change the weights in place: an open stream sees the new head too."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20, 6, 2)).astype(np.float32)
    Y = np.stack([X[:, -1, 0], X[:, 0, 1]], 1)  # two outputs: the head's transpose is a copy
    reg = _fit(LSTMRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0), X, Y)
    stream = reg.stream()
    stream.step(X[0, 0])
    state = reg.state_dict()
    state["head.weight"] = state["head.weight"] * 3
    reg.load_state_dict(state)
    stream.reset()
    np.testing.assert_array_equal([stream.step(x) for x in X[0]][-1], reg.predict(X[:1])[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.partial_fit(X, Y * 5)
    stream.reset()
    np.testing.assert_array_equal([stream.step(x) for x in X[0]][-1], reg.predict(X[:1])[0])
