"""Helpers of the CUDA tests: skip when numba.cuda cannot run, keep the simulator fast."""

import sys
import threading

import pytest


def cuda_status():
    """``(available, reason)`` for the CUDA tests.

    They need numba.cuda able to run kernels (the simulator or a GPU) and,
    under the simulator, numba-cuda: GPU support is the optional ``cuda``
    extra, and the numba.cuda that numba itself still ships is not what its
    users run. A bare install (``.ci/run``'s first stage) skips them; its
    second stage installs numba-cuda and runs them.
    """
    import importlib.util

    from numba import config

    if config.ENABLE_CUDASIM and importlib.util.find_spec("numba_cuda") is None:
        return False, ('the CUDA tests need numba-cuda (pip install "sklstm[cuda13]"); .ci/run installs it '
                       "in its second stage")
    from sklstm._kernels.cuda import status

    return status()


def require_cuda():
    """Module-level skip marker: the tests need numba.cuda (simulator or GPU) through numba-cuda."""
    ok, reason = cuda_status()
    return pytest.mark.skipif(not ok, reason=reason)


_SHARED_LOCK = threading.Lock()


def _thread_safe_shared_array(self, shape, dtype, alignment=None):
    """``cuda.shared.array`` of the simulator, with its allocation made atomic.

    The simulator's own version looks the block's array up by the calling
    line and creates it when missing, without a lock: two threads of a block
    that both miss get different "shared" arrays, and the kernel computes
    garbage now and then (most often with the short switch interval below).
    Same key (the caller's file and line) and same arrays otherwise.
    """
    import numpy as np
    from numba.core import types
    from numba.np import numpy_support

    if alignment is not None:
        raise RuntimeError("Array alignment is not supported in cudasim")
    if shape == 0:  # dynamic shared memory: one buffer, no lookup
        return _ORIGINAL_SHARED_ARRAY(self, shape, dtype)
    if isinstance(dtype, types.Type):
        dtype = numpy_support.as_dtype(dtype)
    frame = sys._getframe(1)
    caller = (frame.f_code.co_filename, frame.f_lineno)
    with _SHARED_LOCK:
        res = self._allocations.get(caller)
        if res is None:
            res = self._allocations[caller] = np.empty(shape, dtype)
    return res


_ORIGINAL_SHARED_ARRAY = None


@pytest.fixture(autouse=True, scope="module")
def fast_simulator():
    """The simulator runs each GPU thread as a Python thread; switch between them often.

    Also makes the simulator's shared-array allocation thread-safe (see
    :func:`_thread_safe_shared_array`) for the module's tests.
    """
    global _ORIGINAL_SHARED_ARRAY
    from numba import config

    shared = None
    if config.ENABLE_CUDASIM:
        from numba.cuda.simulator import kernelapi

        shared = kernelapi.FakeCUDAShared
        if shared.array is not _thread_safe_shared_array:  # never save the patch as the original
            _ORIGINAL_SHARED_ARRAY = shared.array
        shared.array = _thread_safe_shared_array
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(old)
    if shared is not None:
        shared.array = _ORIGINAL_SHARED_ARRAY


def to_dev(*arrays):
    """Device copies of host arrays."""
    from numba import cuda

    return [cuda.to_device(a) for a in arrays]
