"""LossCurveDisplay draws training loss and validation score per epoch."""

import numpy as np
import pytest

from sklstm import LSTMClassifier
from sklstm.inspection import LossCurveDisplay

from conftest import sign_of_sum


def test_loss_curve_display(rng):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    X, y = sign_of_sum(rng, 40, 4)
    clf = LSTMClassifier(hidden_layer_sizes=(3,), early_stopping=True, max_iter=4,
                         n_iter_no_change=50, random_state=0)
    with pytest.warns():
        clf.fit(X, y)
    disp = LossCurveDisplay.from_estimator(clf)
    np.testing.assert_allclose(disp.line_.get_ydata(), clf.loss_curve_)
    np.testing.assert_allclose(disp.line_score_.get_ydata(), clf.validation_scores_)
    assert disp.ax_.get_xlabel() == "epoch"
