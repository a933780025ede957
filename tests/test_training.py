"""Training features: solvers, schedules, early stopping, warm start, partial_fit, weights, verbose."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklstm import LSTMClassifier, LSTMRegressor
from sklstm._training import LoopConfig, TrainingLoop

from conftest import TINY, sign_of_sum

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(rng, n=80, T=6, F=2):
    return sign_of_sum(rng, n, T, F, dtype=np.float32)


@pytest.mark.parametrize("solver,lr", [("adam", 0.02), ("sgd", 0.1), ("rmsprop", 0.01)])
def test_every_solver_reduces_the_loss(solver, lr, rng):
    X, y = _data(rng)
    clf = LSTMClassifier(hidden_layer_sizes=(6,), solver=solver, learning_rate_init=lr, max_iter=25,
                         random_state=0).fit(X, y)
    assert clf.loss_curve_[-1] < 0.8 * clf.loss_curve_[0]


def test_invscaling_and_adaptive_schedules(rng):
    X, y = _data(rng)
    inv = LSTMClassifier(hidden_layer_sizes=(4,), solver="sgd", learning_rate="invscaling",
                         learning_rate_init=0.1, power_t=0.5, max_iter=3, random_state=0).fit(X, y)
    assert inv._optimizer.learning_rate == pytest.approx(0.1 / (inv.t_ + 1) ** 0.5)
    ad = LSTMClassifier(hidden_layer_sizes=(4,), solver="sgd", learning_rate="adaptive",
                        learning_rate_init=0.1, tol=10.0, n_iter_no_change=1, max_iter=6,
                        random_state=0).fit(X, y)
    assert ad._optimizer.learning_rate < 0.1


def test_stopping_on_training_loss_plateau(rng):
    X, y = _data(rng)
    clf = LSTMClassifier(hidden_layer_sizes=(4,), tol=10.0, n_iter_no_change=2, max_iter=50,
                         random_state=0).fit(X, y)
    assert clf.n_iter_ == 4  # as MLPClassifier: the first epoch sets best_loss_, then 3 > n_iter_no_change


def test_early_stopping_restores_best_weights(rng):
    X, y = _data(rng, n=100)
    clf = LSTMClassifier(hidden_layer_sizes=(6,), early_stopping=True, validation_fraction=0.2,
                         n_iter_no_change=3, learning_rate_init=0.05, max_iter=40, random_state=0).fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    # the restored weights reproduce the best validation score on the same split
    from sklearn.model_selection import train_test_split

    _, Xv, _, yv = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    assert clf.score(Xv, yv) == pytest.approx(clf.best_validation_score_)


def test_warm_start_continues(rng):
    X, y = _data(rng)
    a = LSTMClassifier(hidden_layer_sizes=(4,), max_iter=4, random_state=0, shuffle=False).fit(X, y)
    b = LSTMClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0, shuffle=False,
                       warm_start=True).fit(X, y)
    b.fit(X, y)
    np.testing.assert_allclose(a.coefs_flat_, b.coefs_flat_, rtol=1e-6, atol=1e-7)
    assert b.n_iter_ == 4


def test_partial_fit(rng):
    X, y = _data(rng)
    clf = LSTMClassifier(hidden_layer_sizes=(4,), random_state=0)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:40], y[:40], classes=[0, 1])
    clf.partial_fit(X[40:], y[40:])
    assert clf.n_iter_ == 2 and list(clf.classes_) == [0, 1]
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="not seen"):
        clf.partial_fit(X[:4], np.array([0, 1, 2, 1]))
    reg = LSTMRegressor(hidden_layer_sizes=(4,), random_state=0)
    reg.partial_fit(X, y.astype(float)).partial_fit(X, y.astype(float))
    assert reg.n_iter_ == 2


def test_sample_weight_and_class_weight(rng):
    X, y = _data(rng)
    base = dict(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    a = LSTMClassifier(**base).fit(X, y)
    b = LSTMClassifier(**base).fit(X, y, sample_weight=np.full(len(y), 3.0))
    np.testing.assert_array_equal(a.coefs_flat_, b.coefs_flat_)  # rescaled to mean 1
    c = LSTMClassifier(**base).fit(X, y, sample_weight=np.where(y == 1, 5.0, 1.0))
    d = LSTMClassifier(class_weight={1: 5.0}, **base).fit(X, y)
    np.testing.assert_allclose(c.coefs_flat_, d.coefs_flat_, rtol=1e-6)
    e = LSTMClassifier(class_weight="balanced", **base).fit(X, y)
    assert not np.array_equal(a.coefs_flat_, e.coefs_flat_)
    with pytest.raises(ValueError, match="class_weight"):
        LSTMClassifier(class_weight={7: 1.0}, **base).fit(X, y)
    with pytest.raises(ValueError, match="non-negative"):
        LSTMClassifier(**base).fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="zero"):
        LSTMClassifier(**base).fit(X, y, sample_weight=np.zeros(len(y)))


def test_multilabel_indicator(rng):
    X = rng.normal(size=(80, 5, 2))
    Y = np.stack([X[:, :, 0].sum(1) > 0, X[:, :, 1].sum(1) > 0], axis=1).astype(int)
    clf = LSTMClassifier(hidden_layer_sizes=(8,), max_iter=60, learning_rate_init=0.03,
                         random_state=0).fit(X, Y)
    assert clf.predict(X).shape == (80, 2)
    assert clf.predict_proba(X).shape == (80, 2)
    assert clf.score(X, Y) > 0.6


def test_verbose_shows_a_progress_bar(rng, capsys):
    X, y = _data(rng, n=20)
    LSTMClassifier(hidden_layer_sizes=(3,), max_iter=2, verbose=True).fit(X, y)
    err = capsys.readouterr().err
    assert "LSTMClassifier" in err and "loss=" in err and "2/2" in err


def test_convergence_warning_only_when_max_iter_ends_training(rng):
    X, y = _data(rng, n=20)
    with pytest.warns(ConvergenceWarning):
        LSTMClassifier(hidden_layer_sizes=(3,), max_iter=2).fit(X, y)


def test_length_bucketing_covers_every_sequence_once(rng):
    X = [rng.normal(size=(int(rng.integers(1, 60)), 2)) for _ in range(500)]
    lengths = np.array([len(x) for x in X])
    loop = TrainingLoop(LoopConfig(batch_size=10), None, None, None, np.random.default_rng(0))
    batches = loop.batches(lengths)
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(500))
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    assert spread < 0.2 * np.ptp(lengths)  # batches hold sequences of similar lengths
    first = [b.copy() for b in loop.batches(lengths)]
    assert not all(np.array_equal(a, b) for a, b in zip(first, loop.batches(lengths)))  # reshuffled


def test_more_input_and_training_paths(rng, capsys):
    X, y = sign_of_sum(rng, 30, 5)
    small = dict(TINY, max_iter=2)
    # numeric object-dtype 3D arrays are converted
    a = LSTMClassifier(**small).fit(X.astype(object), y)
    b = LSTMClassifier(**small).fit(X, y)
    np.testing.assert_array_equal(a.coefs_flat_, b.coefs_flat_)
    # float64 compute end to end
    r = LSTMRegressor(dtype="float64", **small).fit(X, X[:, 0, 0])
    assert r.coefs_flat_.dtype == np.float64 and r.predict(X).dtype == np.float64
    # regressor early stopping, verbose shows the validation score
    r = LSTMRegressor(hidden_layer_sizes=(4,), max_iter=3, early_stopping=True, verbose=True,
                      random_state=0).fit(X, X[:, 0, 0])
    assert len(r.validation_scores_) == 3 and "val_score=" in capsys.readouterr().err
    # sample_weight in partial_fit
    p1 = LSTMClassifier(**small).partial_fit(X, y, classes=[0, 1],
                                             sample_weight=np.r_[np.ones(15), np.zeros(15)])
    p2 = LSTMClassifier(**small).partial_fit(X[:15], y[:15], classes=[0, 1])
    unweighted = LSTMClassifier(**small).partial_fit(X, y, classes=[0, 1])
    assert not np.array_equal(p1.coefs_flat_, unweighted.coefs_flat_)
    assert p2.n_iter_ == 1
    # target forms must stay the same across partial_fit calls
    r = LSTMRegressor(**small).partial_fit(X, X[:, 0, :2])
    with pytest.raises(ValueError, match="target"):
        r.partial_fit(X, X[:, 0, 0])
    m = LSTMClassifier(**small).fit(X, np.stack([y, 1 - y], 1))
    with pytest.raises(ValueError, match="multilabel"):
        m.partial_fit(X, y)
    with pytest.raises(ValueError, match="empty"):
        LSTMClassifier(**small).fit([], [])
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        LSTMClassifier(hidden_layer_sizes=(2.5,)).fit(X, y)


def test_warnings_point_at_the_users_line(rng):
    """Warnings raised deep in the loop or the validation name the caller's file, not sklstm's."""
    X, y = _data(rng, n=20)
    with pytest.warns(ConvergenceWarning) as record:
        LSTMClassifier(hidden_layer_sizes=(2,), max_iter=1, random_state=0).fit(X, y)
    assert record[0].filename == __file__
    with pytest.warns(UserWarning, match="transpose") as record:
        LSTMRegressor(hidden_layer_sizes=(2,), max_iter=1, random_state=0).fit(
            rng.normal(size=(6, 2, 12)), np.zeros(6))
    assert [r.filename for r in record if "transpose" in str(r.message)] == [__file__]
