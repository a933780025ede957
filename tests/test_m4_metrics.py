"""benchmarks/m4_metrics.py: the M4 measures and benchmarks against numbers worked out by hand."""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))

import m4_metrics as mm  # noqa: E402

#: a level of 10 times the seasonal pattern of period 4 (indices averaging to 1), six years
PATTERN = np.array([0.5, 1.5, 0.8, 1.2])
PERIODIC = 10.0 * np.tile(PATTERN, 6)


def test_smape_by_hand():
    # 200 * 10 / 210 and 200 * 50 / 350
    assert mm.smape([100.0, 200.0], [110.0, 150.0]) == pytest.approx((2000 / 210 + 10000 / 350) / 2)
    assert mm.smape([100.0, 200.0], [110.0, 150.0]) == pytest.approx(19.047619047619)
    assert mm.smape([5.0], [5.0]) == 0.0
    assert mm.smape([0.0, 1.0], [0.0, 1.0]) == 0.0  # 0/0 counts as 0
    assert mm.smape([1.0], [-1.0]) == 200.0  # the upper end
    with pytest.raises(ValueError):
        mm.smape([1.0, 2.0], [1.0])


def test_mase_by_hand():
    x = [1.0, 3.0, 2.0, 6.0, 3.0]
    # seasonal naive errors at m=2: |2-1|, |6-3|, |3-2| -> scale 5/3
    assert mm.mase_scale(x, 2) == pytest.approx(5 / 3)
    # naive (m=1): |3-1|, |2-3|, |6-2|, |3-6| -> 10/4
    assert mm.mase_scale(x, 1) == pytest.approx(2.5)
    # forecast errors 1 and 2 -> 1.5 / (5/3) = 0.9
    assert mm.mase(x, [4.0, 4.0], [5.0, 2.0], m=2) == pytest.approx(0.9)
    with pytest.raises(ValueError):
        mm.mase_scale([1.0, 2.0], 2)


def test_owa_by_hand():
    assert mm.owa(12.0, 0.9, 15.0, 1.2) == pytest.approx(0.5 * (0.8 + 0.75))
    assert mm.owa(15.0, 1.2, 15.0, 1.2) == 1.0  # Naive2 itself


def test_msis_and_coverage_by_hand():
    x = [1.0, 3.0, 2.0, 6.0, 3.0]  # scale 5/3 at m=2
    y, lo, up = [4.0, 4.0], [3.0, 5.0], [6.0, 7.0]
    # widths 3 and 2; the second misses by 1 below: + 2/0.1 * 1 -> scores 3 and 22, mean 12.5
    assert mm.msis(x, y, lo, up, m=2, alpha=0.1) == pytest.approx(12.5 / (5 / 3))
    assert mm.interval_coverage(y, lo, up) == 0.5
    assert mm.interval_coverage([3.0, 7.0], lo, up) == 1.0  # the bounds are inside
    assert mm.interval_coverage([2.9, 7.1], lo, up) == 0.0


def test_acf_by_hand():
    # 1..4: deviations -1.5, -0.5, 0.5, 1.5; variance sum 5; lag 1: 0.75 - 0.25 + 0.75 = 1.25
    assert mm.acf([1.0, 2.0, 3.0, 4.0], 1) == pytest.approx(0.25)
    # lag 2: (-1.5)(0.5) + (-0.5)(1.5) = -1.5
    assert mm.acf([1.0, 2.0, 3.0, 4.0], 2) == pytest.approx(-0.3)
    assert mm.acf([1.0, 2.0, 3.0, 4.0], 0) == pytest.approx(1.0)


def test_seasonality_test():
    # 24 values: r_4 = 20/24 against a limit of 1.645 sqrt((1 + 2 (r_1^2 + r_2^2 + r_3^2)) / 24)
    assert mm.seasonality_test(PERIODIC, 4)
    # 12 values: r_4 = 8/12 = 0.67, below its limit (about 0.89) at so few values
    assert not mm.seasonality_test(PERIODIC[:12], 4)
    assert not mm.seasonality_test(PERIODIC[:11], 4)  # fewer than 3 m values
    assert not mm.seasonality_test(PERIODIC, 1)
    # the limit, written out: |r_m| > 1.645 sqrt((1 + 2 sum_{k<m} r_k^2) / n)
    x = np.array([3.0, 5.0, 4.0, 6.0, 2.0, 7.0, 5.0, 4.0, 6.0, 3.0, 5.0, 8.0, 4.0, 6.0, 3.0])
    n = x.size
    r = [sum((x[t] - x.mean()) * (x[t + k] - x.mean()) for t in range(n - k)) / ((x - x.mean()) ** 2).sum()
         for k in range(1, 5)]
    limit = 1.645 * np.sqrt((1 + 2 * (r[0] ** 2 + r[1] ** 2 + r[2] ** 2)) / n)
    assert mm.seasonality_test(x, 4) == (abs(r[3]) > limit)
    # with a lower critical value the answer can only turn to True
    assert mm.seasonality_test(x, 4, tcrit=abs(r[3]) * 0.999 / limit * 1.645)


def test_seasonal_indices_by_hand():
    # a constant level: the centred moving average is exactly 10, the ratios are the pattern
    np.testing.assert_allclose(mm.seasonal_indices(PERIODIC, 4), PATTERN)
    # m = 2 (weights 1/4, 1/2, 1/4) on 2 4 3 5 2 6 3 5: centred averages at t = 1..6 are
    # 3.25 3.75 3.75 3.75 4.25 4.25, ratios 4/3.25 3/3.75 5/3.75 2/3.75 6/4.25 3/4.25
    x = [2.0, 4.0, 3.0, 5.0, 2.0, 6.0, 3.0, 5.0]
    even = (4 / 5 + 8 / 15 + 12 / 17) / 3
    odd = (16 / 13 + 4 / 3 + 24 / 17) / 3
    want = np.array([even, odd]) / ((even + odd) / 2)
    np.testing.assert_allclose(mm.seasonal_indices(x, 2), want)
    with pytest.raises(ValueError):
        mm.seasonal_indices(x[:3], 2)


def test_deseasonalize_positions_follow_the_series_start():
    xd, si_in, si_out = mm.deseasonalize(PERIODIC[:11], 4, h=5)  # 11 values: fails the 3 m rule
    np.testing.assert_array_equal(si_out, np.ones(5))
    np.testing.assert_array_equal(xd, PERIODIC[:11])
    xd, si_in, si_out = mm.deseasonalize(PERIODIC[:23], 4, h=5)  # 23 values: the next is position 3
    np.testing.assert_allclose(si_out, PATTERN[[3, 0, 1, 2, 3]])
    np.testing.assert_allclose(si_in, PATTERN[np.arange(23) % 4])
    np.testing.assert_allclose(xd, 10.0)
    # test=False decomposes without the test
    np.testing.assert_allclose(mm.deseasonalize(PERIODIC[:12], 4, h=2, test=False)[2], PATTERN[:2])


def test_naive_benchmarks_by_hand():
    x = np.arange(1.0, 9.0)
    np.testing.assert_array_equal(mm.naive(x, 3), [8.0, 8.0, 8.0])
    np.testing.assert_array_equal(mm.seasonal_naive(x, 6, 4), [5.0, 6.0, 7.0, 8.0, 5.0, 6.0])
    # Naive2 of level 10 times the pattern: the deseasonalised series is 10, then the pattern again
    np.testing.assert_allclose(mm.naive2(PERIODIC, 6, 4), 10.0 * PATTERN[[0, 1, 2, 3, 0, 1]])
    np.testing.assert_allclose(mm.M4Baselines(PERIODIC, 6, 4).naive2(), 10.0 * PATTERN[[0, 1, 2, 3, 0, 1]])
    # a series failing the test: Naive2 is the naive forecast
    np.testing.assert_array_equal(mm.naive2(x, 3, 4), [8.0, 8.0, 8.0])


def test_ses_is_the_least_squares_fit():
    rng = np.random.default_rng(0)
    x = 50 + np.cumsum(rng.normal(size=40)) + rng.normal(size=40)
    alpha, l0, level, sse = mm.ses(x)
    # the recursion from the returned initial level gives the returned final level and SSE
    lv, s = l0, 0.0
    for v in x:
        s += (v - lv) ** 2
        lv = alpha * v + (1 - alpha) * lv
    assert level == pytest.approx(lv) and sse == pytest.approx(s)
    # no (alpha, initial level) of a grid does better
    for a in np.linspace(1e-4, 0.9999, 41):
        for start in np.linspace(l0 - 3, l0 + 3, 13):
            lv, s = start, 0.0
            for v in x:
                s += (v - lv) ** 2
                lv = a * v + (1 - a) * lv
            assert s >= sse * (1 - 1e-9)
    a, l0, level, sse = mm.ses(np.full(10, 7.0))
    assert level == pytest.approx(7.0) and sse == pytest.approx(0.0, abs=1e-18)


def test_theta_drifts_at_half_the_slope_of_a_line():
    x = 3.0 + 2.0 * np.arange(30)
    # theta line 2 is the line itself; SES follows it (alpha at its bound 0.9999), so the forecast
    # is the last value plus half the slope per step
    np.testing.assert_allclose(mm.theta_classic(x, 4), x[-1] + 1.0 * np.arange(1, 5), atol=1e-3)
    np.testing.assert_allclose(mm.theta_classic(np.full(20, 4.0), 3), [4.0, 4.0, 4.0])
    # M4's Theta of the periodic series: the level 10 times the pattern
    np.testing.assert_allclose(mm.M4Baselines(PERIODIC, 4, 4).theta(), 10.0 * PATTERN, rtol=1e-9)
    np.testing.assert_allclose(mm.M4Baselines(PERIODIC, 4, 4).ses(), 10.0 * PATTERN, rtol=1e-9)


def test_seasonal_indices_match_statsmodels_decompose():
    seasonal = pytest.importorskip("statsmodels.tsa.seasonal")
    rng = np.random.default_rng(1)
    t = np.arange(60)
    x = (100 + t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12)) * np.exp(rng.normal(0, 0.02, t.size))
    res = seasonal.seasonal_decompose(x, model="multiplicative", period=12)
    np.testing.assert_allclose(mm.seasonal_indices(x, 12), res.seasonal[:12], rtol=1e-10)
