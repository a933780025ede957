"""Helpers of the CUDA tests: skip when numba.cuda cannot run, keep the simulator fast."""

import sys

import pytest


def require_cuda():
    """Module-level skip marker: the tests need numba.cuda (simulator or GPU)."""
    from sklstm._kernels.cuda import status

    ok, reason = status()
    return pytest.mark.skipif(not ok, reason=reason)


@pytest.fixture(autouse=True, scope="module")
def fast_simulator():
    """The simulator runs each GPU thread as a Python thread; switch between them often."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(old)


def to_dev(*arrays):
    """Device copies of host arrays."""
    from numba import cuda

    return [cuda.to_device(a) for a in arrays]
