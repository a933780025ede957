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


def test_forecast_display_draws_history_forecast_band_and_truth():
    pytest.importorskip("matplotlib")
    import matplotlib
    import warnings

    from sklstm.forecasting import LSTMForecaster
    from sklstm.inspection import ForecastDisplay

    matplotlib.use("Agg")
    y = 10 + np.sin(np.arange(60) / 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = LSTMForecaster(horizon=6, hidden_layer_sizes=8, max_iter=5, random_state=0).fit(y[:-6])
    disp = ForecastDisplay.from_estimator(f, y_true=y[-6:])
    np.testing.assert_allclose(disp.line_history_.get_ydata(), y[:-6])
    np.testing.assert_allclose(disp.line_forecast_.get_ydata()[1:], f.predict())
    assert disp.line_forecast_.get_xdata()[0] == 53  # joins the last observation
    np.testing.assert_allclose(disp.line_true_.get_ydata(), y[-6:])
    band = disp.band_.get_paths()[0].vertices
    iv = f.predict_interval(coverage=0.9)
    assert band[:, 1].min() == pytest.approx(iv[:, 0].min())
    assert band[:, 1].max() == pytest.approx(iv[:, 1].max())
    assert "90% interval" in [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    no_band = ForecastDisplay.from_estimator(f, fh=9, coverage=0.9)  # beyond the horizon: no interval
    assert no_band.band_ is None and no_band.line_true_ is None
    with pytest.raises(ValueError, match="y_true"):
        ForecastDisplay(y, np.ones(3), y_true=np.ones(2))
