"""Fits are bitwise those recorded in tests/fixtures/golden_fits.npz (see tests/golden_fits.py)."""

import numba
import numpy as np
import pytest

from golden_fits import PATH, configs, cpu_id, fit_one

GOLDEN = np.load(PATH)
SAME_CPU = str(GOLDEN["cpu"]) == cpu_id()


@pytest.fixture
def one_thread():
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


@pytest.mark.parametrize("name", sorted(configs()))
def test_fit_equals_the_recorded_fit(name, one_thread):
    weights, pred = fit_one(name)
    want_w, want_p = GOLDEN[name + "/weights"], GOLDEN[name + "/predictions"]
    assert weights.dtype == want_w.dtype and weights.shape == want_w.shape
    if SAME_CPU:  # bit for bit
        np.testing.assert_array_equal(weights, want_w)
        np.testing.assert_array_equal(pred, want_p)
    else:  # another instruction set rounds differently
        np.testing.assert_allclose(weights, want_w, rtol=2e-3, atol=2e-4)
        np.testing.assert_allclose(pred, want_p, rtol=2e-3, atol=2e-4)
