"""timestep_importance and TimestepImportanceDisplay: |d output / d x_t| per step, exact and ragged-aware."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression

from sklstm import GRUClassifier, GRURegressor, LSTMClassifier, LSTMRegressor
from sklstm.datasets import make_adding_problem
from sklstm.inspection import TimestepImportanceDisplay, timestep_importance

EPS = 1e-6


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


def _ragged(rng, lengths, F=2):
    return [rng.normal(size=(L, F)) for L in lengths]


def _finite_differences(output, X):
    """|d output_i / d x_it| by central differences for the ragged list ``X`` (NaN-padded rows)."""
    out = np.full((len(X), max(len(x) for x in X)), np.nan)
    for i, x in enumerate(X):
        for t in range(len(x)):
            g = []
            for k in range(x.shape[1]):
                up, down = [a.copy() for a in X], [a.copy() for a in X]
                up[i][t, k] += EPS
                down[i][t, k] -= EPS
                g.append((output(up)[i] - output(down)[i]) / (2 * EPS))
            out[i, t] = np.linalg.norm(g)
    return out


@pytest.mark.parametrize("cell,bidirectional,layers", [("lstm", False, (3,)), ("gru", False, (3, 2)),
                                                       ("rnn", False, (3,)), ("lstm", True, (3, 2)),
                                                       ("lstm1997", False, (3,))])
def test_regressor_matches_finite_differences(cell, bidirectional, layers, rng):
    X = _ragged(rng, [5, 3, 4])
    y = np.array([x[:, 0].sum() for x in X])
    reg = _fit(LSTMRegressor(hidden_layer_sizes=layers, cell=cell, bidirectional=bidirectional, max_iter=2,
                             dtype="float64", random_state=0), X, y)
    imp = timestep_importance(reg, X, average=False)
    np.testing.assert_allclose(imp, _finite_differences(reg.predict, X), rtol=1e-5, atol=1e-9)


def test_several_outputs_norm_over_outputs_or_one_target(rng):
    X = _ragged(rng, [4, 2, 3])
    Y = np.array([[x[:, 0].sum(), x[:, 1].mean()] for x in X])
    reg = _fit(GRURegressor(hidden_layer_sizes=(3,), max_iter=2, dtype="float64", random_state=0), X, Y)
    for j in (0, 1):
        np.testing.assert_allclose(timestep_importance(reg, X, target=j, average=False),
                                   _finite_differences(lambda A: reg.predict(A)[:, j], X),
                                   rtol=1e-5, atol=1e-9)
    both = np.hypot(timestep_importance(reg, X, target=0, average=False),
                    timestep_importance(reg, X, target=1, average=False))
    np.testing.assert_allclose(timestep_importance(reg, X, average=False), both, rtol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_probability_matches_finite_differences(n_classes, rng):
    X = _ragged(rng, [5, 3, 4, 2, 5, 4])
    y = np.resize(["a", "b", "c"][:n_classes], 6)
    clf = _fit(LSTMClassifier(hidden_layer_sizes=(3,), max_iter=3, dtype="float64", random_state=0), X, y)
    predicted = clf.predict_proba(X).argmax(axis=1)
    fd = _finite_differences(lambda A: clf.predict_proba(A)[np.arange(6), predicted], X)
    np.testing.assert_allclose(timestep_importance(clf, X, average=False), fd,
                               rtol=1e-5, atol=1e-9)
    for j, label in enumerate(clf.classes_):
        np.testing.assert_allclose(timestep_importance(clf, X, target=label, average=False),
                                   _finite_differences(lambda A: clf.predict_proba(A)[:, j], X),
                                   rtol=1e-5, atol=1e-9)


def test_multilabel_per_label_and_norm_over_labels(rng):
    X = _ragged(rng, [4, 3, 4, 2])
    Y = np.array([[0, 1], [1, 1], [1, 0], [0, 0]])
    clf = _fit(GRUClassifier(hidden_layer_sizes=(3,), max_iter=2, dtype="float64", random_state=0), X, Y)
    per_label = [timestep_importance(clf, X, target=j, average=False) for j in (0, 1)]
    for j in (0, 1):
        np.testing.assert_allclose(per_label[j], _finite_differences(lambda A: clf.predict_proba(A)[:, j], X),
                                   rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(timestep_importance(clf, X, average=False), np.hypot(*per_label), rtol=1e-12)


def test_token_ids_gradient_with_respect_to_each_step_embedding(rng):
    seqs = [np.array([3, 5, 1, 7]), np.array([2, 6, 4])]  # distinct ids in a sequence: a row is one step
    reg = _fit(LSTMRegressor(hidden_layer_sizes=(3,), embedding_dim=2, vocab_size=8, max_iter=2,
                             dtype="float64", random_state=0), seqs, np.array([0.5, -0.5]))
    imp = timestep_importance(reg, seqs, average=False)
    emb = reg._spec.views(reg.coefs_flat_)["embedding.weight"]
    for i, ids in enumerate(seqs):
        for t, tok in enumerate(ids):
            g = []
            for k in range(2):
                emb[tok, k] += EPS
                up = reg.predict(seqs)[i]
                emb[tok, k] -= 2 * EPS
                down = reg.predict(seqs)[i]
                emb[tok, k] += EPS
                g.append((up - down) / (2 * EPS))
            assert imp[i, t] == pytest.approx(np.linalg.norm(g), rel=1e-5)


@pytest.mark.parametrize("cell,bidirectional", [("lstm", False), ("gru", True), ("rnn", False)])
def test_matches_torch_autograd(cell, bidirectional, rng):
    torch = pytest.importorskip("torch")
    X = _ragged(rng, [6, 3, 5], F=3)
    reg = _fit(LSTMRegressor(hidden_layer_sizes=(4, 4), cell=cell, bidirectional=bidirectional, max_iter=2,
                             dtype="float64", random_state=0), X, rng.normal(size=3))
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
    rnn = module(3, 4, num_layers=2, batch_first=True, bidirectional=bidirectional, dtype=torch.float64)
    head = torch.nn.Linear(4 * (1 + bidirectional), 1, dtype=torch.float64)
    state = {k: torch.tensor(v) for k, v in reg.state_dict().items()}
    rnn.load_state_dict({k[len("rnn."):]: v for k, v in state.items() if k.startswith("rnn.")})
    head.load_state_dict({"weight": state["head.weight"], "bias": state["head.bias"]})
    imp = timestep_importance(reg, X, average=False)
    for i, x in enumerate(X):
        xt = torch.tensor(x[None], requires_grad=True)
        out = rnn(xt)[0]
        feat = out[0, -1] if not bidirectional else torch.cat([out[0, -1, :4], out[0, 0, 4:]])
        head(feat).sum().backward()
        np.testing.assert_allclose(imp[i, :len(x)], xt.grad[0].norm(dim=1).numpy(), rtol=1e-9, atol=1e-12)
    assert np.isnan(imp[1, 3:]).all()


def test_ragged_list_and_nan_padded_array_agree_and_average_over_present_steps(rng):
    X = _ragged(rng, [6, 2, 4, 6])
    reg = _fit(LSTMRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0), X, rng.normal(size=4))
    padded = np.full((4, 7, 2), np.nan)  # one more all-NaN column than the longest sequence
    for i, x in enumerate(X):
        padded[i, :len(x)] = x
    per_seq = timestep_importance(reg, X, average=False)
    assert per_seq.shape == (4, 6) and per_seq.dtype == np.float64
    np.testing.assert_array_equal(np.isnan(per_seq), np.arange(6)[None, :] >= np.array([6, 2, 4, 6])[:, None])
    np.testing.assert_allclose(timestep_importance(reg, padded, average=False), per_seq, rtol=1e-6)
    for i, x in enumerate(X):  # a sequence's values do not depend on the others
        np.testing.assert_allclose(timestep_importance(reg, [x], average=False)[0], per_seq[i, :len(x)],
                                   rtol=1e-6)
    mean = timestep_importance(reg, X)
    assert mean.shape == (6,)
    np.testing.assert_allclose(mean[:2], per_seq[:, :2].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(mean[2:4], per_seq[[0, 2, 3], 2:4].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(mean[4:], per_seq[[0, 3], 4:].mean(axis=0), rtol=1e-12)


def test_errors(rng):
    X = _ragged(rng, [3, 4])
    with pytest.raises(NotFittedError):
        timestep_importance(LSTMRegressor(), X)
    with pytest.raises(TypeError, match="LinearRegression"):
        timestep_importance(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), X)
    reg = _fit(LSTMRegressor(hidden_layer_sizes=(2,), max_iter=1, random_state=0), X, [0.0, 1.0])
    for bad in (1, -1, 0.0, True, "a"):
        with pytest.raises(ValueError, match=r"output index in \[0, 1\)"):
            timestep_importance(reg, X, target=bad)
    with pytest.raises(TypeError, match="average"):
        timestep_importance(reg, X, average="yes")
    with pytest.raises(ValueError, match="features"):
        timestep_importance(reg, [np.ones((3, 5))])
    clf = _fit(LSTMClassifier(hidden_layer_sizes=(2,), max_iter=1, random_state=0), X, ["x", "y"])
    with pytest.raises(ValueError, match=r"one of the classes \['x', 'y'\]"):
        timestep_importance(clf, X, target="z")
    seq = _fit(LSTMRegressor(hidden_layer_sizes=(2,), max_iter=1, return_sequences=True, random_state=0),
               X, [np.zeros(3), np.ones(4)])
    with pytest.raises(ValueError, match="return_sequences=False"):
        timestep_importance(seq, X)
    with pytest.raises(ValueError, match="shape"):
        TimestepImportanceDisplay(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="1D array per sequence"):
        TimestepImportanceDisplay([np.ones((2, 2))])


def test_display_draws_mean_or_one_line_per_sequence_and_highlights(rng):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X = _ragged(rng, [5, 3])
    reg = _fit(LSTMRegressor(hidden_layer_sizes=(3,), max_iter=1, random_state=0), X, [0.0, 1.0])
    disp = TimestepImportanceDisplay.from_estimator(reg, X, highlight=[1, 4])
    np.testing.assert_allclose(disp.line_.get_ydata(), timestep_importance(reg, X))
    assert [line.get_xdata()[0] for line in disp.highlight_lines_] == [1, 4]
    assert disp.ax_.get_title() == "LSTMRegressor" and disp.figure_ is disp.ax_.figure
    fig, ax = plt.subplots()
    per = TimestepImportanceDisplay.from_estimator(reg, X, average=False, ax=ax, yscale="log", color="k")
    assert per.ax_ is ax and per.line_ is None and len(per.lines_) == 2 and ax.get_yscale() == "log"
    np.testing.assert_allclose(per.lines_[1].get_ydata()[:3],
                               timestep_importance(reg, X, average=False)[1, :3])
    assert per.lines_[0].get_color() == "k"
    labelled = TimestepImportanceDisplay.from_estimator(reg, X, label="LSTM")  # a label of the caller's wins
    assert labelled.line_.get_label() == "LSTM"
    ragged = TimestepImportanceDisplay([np.ones(2), np.ones(4)]).plot()
    assert ragged.importances.shape == (2, 4) and np.isnan(ragged.importances[0, 2:]).all()
    with pytest.raises(ValueError, match=r"highlight must be integer steps in \[0, 5\)"):
        disp.plot(highlight=[5])
    plt.close("all")


def test_lstm_looks_at_the_marked_steps_of_the_adding_problem():
    X, y = make_adding_problem(2000, 30, random_state=0)
    reg = _fit(LSTMRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, batch_size=32, max_iter=10,
                             random_state=0), X, y)
    Xt, yt = make_adding_problem(100, 30, random_state=1)
    assert np.mean((reg.predict(Xt) - yt) ** 2) < 0.02  # it solved the task
    imp = timestep_importance(reg, Xt, average=False)
    top2 = np.sort(np.argsort(-imp, axis=1)[:, :2], axis=1)
    marked = np.array([np.flatnonzero(x[:, 1]) for x in Xt])
    assert np.mean((top2 == marked).all(axis=1)) > 0.9
    ratio = imp[Xt[:, :, 1] == 1].mean() / imp[Xt[:, :, 1] == 0].mean()
    assert ratio > 5, ratio
