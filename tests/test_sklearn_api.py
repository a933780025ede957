"""scikit-learn's own estimator checks, and the sklearn workflows users rely on."""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklstm import GRUClassifier, GRURegressor, LSTMClassifier, LSTMRegressor, RecurrentFeatures
from sklstm.preprocessing import SequenceScaler

from conftest import LEARNS, sign_of_sum

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _expected_failures(est):
    return {
        "check_sample_weight_equivalence_on_dense_data":
            "shuffled mini-batch training: weighting a sample is not the same as repeating it "
            "(as sklearn marks it for SGDClassifier)",
    }


@parametrize_with_checks(
    [LSTMClassifier(**LEARNS), LSTMRegressor(**LEARNS), GRUClassifier(**LEARNS), GRURegressor(**LEARNS),
     RecurrentFeatures(LSTMRegressor(**LEARNS))],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _seq_data(rng, n=60, T=8, F=2, ragged=False):
    if ragged:
        X = [rng.normal(size=(int(rng.integers(2, T + 1)), F)) for _ in range(n)]
        y = np.array([int(x[:, 0].sum() > 0) for x in X])
    else:
        X, y = sign_of_sum(rng, n, T, F)
    return X, y


@pytest.mark.parametrize("ragged", [False, True])
def test_sequence_input_mirrors_common_checks(ragged, rng):
    X, y = _seq_data(rng, ragged=ragged)
    clf = LSTMClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0)
    a = clf.fit(X, y).predict_proba(X)
    # fit idempotence
    np.testing.assert_array_equal(clf.fit(X, y).predict_proba(X), a)
    # pickling and joblib
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(X), a)
    # sample order invariance and subset invariance at predict (bitwise)
    perm = rng.permutation(len(y))
    Xp = [X[i] for i in perm] if ragged else X[perm]
    np.testing.assert_array_equal(clf.predict_proba(Xp), a[perm])
    sub = [X[i] for i in range(5)] if ragged else X[:5]
    np.testing.assert_array_equal(clf.predict_proba(sub), a[:5])
    one = [X[3]] if ragged else X[3:4]
    np.testing.assert_array_equal(clf.predict_proba(one), a[3:4])
    # dtypes: float32/float64/int inputs give the same result
    if not ragged:
        for dt in (np.float32, np.float64):
            np.testing.assert_array_equal(clf.predict_proba(X.astype(dt)),
                                          clf.predict_proba(X.astype(np.float32)))
        Xi = np.round(X * 3).astype(np.int64)
        clf.fit(Xi, y)
        assert clf.predict(Xi).shape == (len(y),)
        # F order and read-only memory
        Xf = np.asfortranarray(X)
        Xr = X.copy()
        Xr.setflags(write=False)
        clf.fit(X, y)
        np.testing.assert_array_equal(clf.predict_proba(Xf), clf.predict_proba(Xr))


def test_feature_count_mismatch_for_sequences(rng):
    X, y = _seq_data(rng, ragged=True)
    clf = LSTMClassifier(hidden_layer_sizes=(4,), max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but LSTMClassifier is expecting 2"):
        clf.predict([np.zeros((4, 3))])


def test_trailing_nan_padding_equals_ragged(rng):
    X, y = _seq_data(rng, ragged=True)
    T = max(len(x) for x in X)
    P = np.full((len(X), T, 2), np.nan)
    for i, x in enumerate(X):
        P[i, :len(x)] = x
    a = LSTMClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    b = LSTMClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(P, y)
    np.testing.assert_array_equal(a.coefs_flat_, b.coefs_flat_)
    np.testing.assert_array_equal(a.predict_proba(P), b.predict_proba(X))


def test_aeon_layout_warns_but_fits(rng):
    X = rng.normal(size=(20, 2, 40))  # (n, channels, T) read as 40 features over 2 steps
    y = np.arange(20) % 2
    with pytest.warns(UserWarning, match=r"transpose\(0, 2, 1\)"):
        LSTMClassifier(hidden_layer_sizes=(4,), max_iter=1).fit(X, y)


def test_dataframe_feature_names(rng):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(rng.normal(size=(30, 3)), columns=["a", "b", "c"])
    y = (df["a"] > 0).astype(int)
    clf = LSTMClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(df, y)
    assert list(clf.feature_names_in_) == ["a", "b", "c"] and clf.n_features_in_ == 3
    clf.fit(rng.normal(size=(30, 5, 3)), y)
    assert not hasattr(clf, "feature_names_in_")


def test_clone_params_pipeline_grid_search_cv(rng):
    X, y = _seq_data(rng, n=80)
    est = LSTMClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    c = clone(est).set_params(cell="gru", hidden_layer_sizes=(5,))
    assert c.get_params()["cell"] == "gru" and est.get_params()["cell"] == "lstm"
    pipe = make_pipeline(SequenceScaler(), est)
    gs = GridSearchCV(pipe, {"lstmclassifier__cell": ["lstm", "gru"],
                             "lstmclassifier__hidden_layer_sizes": [(4,), (6,)]}, cv=2, n_jobs=2)
    gs.fit(X, y)
    assert set(gs.best_params_) == {"lstmclassifier__cell", "lstmclassifier__hidden_layer_sizes"}
    scores = cross_val_score(make_pipeline(SequenceScaler(), LSTMRegressor(hidden_layer_sizes=(4,),
                                                                           max_iter=5)),
                             X, X[:, :, 1].mean(axis=1), cv=3)
    assert scores.shape == (3,) and np.isfinite(scores).all()


def test_pickle_and_joblib_round_trip(tmp_path, rng):
    X, y = _seq_data(rng)
    reg = GRURegressor(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y.astype(float))
    p = tmp_path / "m.joblib"
    joblib.dump(reg, p)
    np.testing.assert_array_equal(joblib.load(p).predict(X), reg.predict(X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(reg)).predict(X), reg.predict(X))


def test_invalid_parameters_name_the_parameter(rng):
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = _seq_data(rng, n=10)
    for bad in [dict(cell="lstm2"), dict(solver="lbfgs"), dict(dropout=1.0), dict(learning_rate_init=-1),
                dict(bptt_steps=0), dict(batch_size=0)]:
        name = next(iter(bad))
        with pytest.raises(InvalidParameterError, match=name):
            LSTMClassifier(**bad).fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        LSTMClassifier(hidden_layer_sizes=(0,)).fit(X, y)
