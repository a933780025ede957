"""The CUDA tests' own simulator fix: one shared array per block, however the threads interleave."""

import threading

import numpy as np
import pytest
from cuda_support import _thread_safe_shared_array, fast_simulator  # noqa: F401 - fixture

from numba import config


needs_simulator = pytest.mark.skipif(not config.ENABLE_CUDASIM, reason="runs under NUMBA_ENABLE_CUDASIM=1")


class _Block:
    """What ``FakeCUDAShared.array`` reads from its instance: the block's allocations."""

    def __init__(self):
        self._allocations = {}


def _allocate_concurrently(array_fn, monkeypatch, n_threads=8):
    """Call ``array_fn`` from one source line in ``n_threads`` threads that all start together.

    ``np.empty`` is slowed down, so every thread reaches the lookup before the
    first allocation is stored: an allocation that is not atomic hands out
    several arrays.
    """
    real_empty = np.empty
    gate = threading.Event()

    def slow_empty(*args, **kwargs):
        gate.wait(0.05)
        return real_empty(*args, **kwargs)

    monkeypatch.setattr(np, "empty", slow_empty)
    block, got = _Block(), []
    barrier = threading.Barrier(n_threads)

    def thread():
        barrier.wait()
        got.append(array_fn(block, 16, np.float32))  # one line: one key for every thread

    threads = [threading.Thread(target=thread) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return got, block


def test_shared_array_is_one_array_per_block_under_concurrent_first_use(monkeypatch):
    got, block = _allocate_concurrently(_thread_safe_shared_array, monkeypatch)
    assert len(got) == 8
    assert len({id(a) for a in got}) == 1
    assert len(block._allocations) == 1
    assert got[0].shape == (16,) and got[0].dtype == np.float32


@needs_simulator
def test_the_simulators_own_allocation_races(monkeypatch):
    import cuda_support

    original = cuda_support._ORIGINAL_SHARED_ARRAY  # the simulator's own method, kept by the fixture
    assert original is not None and original is not _thread_safe_shared_array
    got, _ = _allocate_concurrently(original, monkeypatch)
    assert len({id(a) for a in got}) > 1, "the simulator's allocation is atomic now: the fixture can go"


@needs_simulator
def test_fast_simulator_installs_the_atomic_allocation():
    from numba.cuda.simulator import kernelapi

    assert kernelapi.FakeCUDAShared.array is _thread_safe_shared_array
