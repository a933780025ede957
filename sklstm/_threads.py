"""Which BLAS the compiled step loops use, and keeping it single-threaded while they run.

numba's ``np.dot`` calls the BLAS that scipy was built with (through
``scipy.linalg.cython_blas``), which is often a different library from the
one numpy's ``@`` uses. The per-timestep recurrent products are small, and a
multi-threaded BLAS spends more time waking threads than computing them
(measured: 8x slower with 2 threads at hidden 32). While a training step
runs, that one library is held at one thread; numpy's BLAS keeps its
threads for the large weight-gradient products. The previous setting is
restored afterwards.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

__all__ = ["step_blas_controllers", "single_threaded_step_blas", "pool", "cut_points", "run_blocks"]

_CACHE = {}
_POOLS = {}
_POOLS_LOCK = threading.Lock()


def _numba_blas_dir():
    """Folder of the BLAS bundled with scipy's wheel (what numba's np.dot calls), or None.

    Other layouts (conda, system packages) usually share one BLAS between
    numpy and scipy; it is then left alone.
    """
    try:
        import scipy

        folder = os.path.realpath(os.path.join(os.path.dirname(scipy.__file__), os.pardir, "scipy.libs"))
        return folder if os.path.isdir(folder) else None
    except Exception:  # noqa: BLE001 - any failure means: leave the BLAS alone
        return None


def step_blas_controllers():
    """threadpoolctl controllers of the BLAS used inside compiled kernels (possibly empty)."""
    if "controllers" not in _CACHE:
        controllers = []
        folder = _numba_blas_dir()
        if folder is not None:
            try:
                from threadpoolctl import ThreadpoolController

                import scipy.linalg  # noqa: F401 - make sure the library is loaded

                controllers = [c for c in ThreadpoolController().lib_controllers
                               if c.user_api == "blas"
                               and os.path.realpath(c.filepath).startswith(folder + os.sep)]
            except Exception:  # noqa: BLE001
                controllers = []
        _CACHE["controllers"] = controllers
    return _CACHE["controllers"]


def all_blas_controllers():
    """threadpoolctl controllers of every BLAS loaded in the process (possibly empty)."""
    if "all" not in _CACHE:
        try:
            from threadpoolctl import ThreadpoolController

            import scipy.linalg  # noqa: F401

            _CACHE["all"] = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
        except Exception:  # noqa: BLE001
            _CACHE["all"] = []
    return _CACHE["all"]


@contextmanager
def single_threaded_step_blas(every_blas=False):
    """Hold the kernels' BLAS (or, with ``every_blas``, every BLAS) at one thread, then restore it.

    ``every_blas`` is used while sklstm runs several batch chunks on its own
    threads: each chunk's products then stay on its thread.
    """
    saved = []
    for c in (all_blas_controllers() if every_blas else step_blas_controllers()):
        try:
            n = c.get_num_threads()
            if n != 1:
                c.set_num_threads(1)
                saved.append((c, n))
        except Exception:  # noqa: BLE001
            pass
    try:
        yield
    finally:
        for c, n in saved:
            c.set_num_threads(n)


def compute_threads() -> int:
    """Threads a training step may use: numba's setting (``numba.set_num_threads``)."""
    import numba

    return int(numba.get_num_threads())


def pool(n: int):
    """The process's pool of ``n`` worker threads (made on first use, then reused)."""
    with _POOLS_LOCK:
        if n not in _POOLS:
            from concurrent.futures import ThreadPoolExecutor

            _POOLS[n] = ThreadPoolExecutor(max_workers=n, thread_name_prefix="sklstm")
        return _POOLS[n]


def cut_points(n: int, k: int, align: int = 1) -> list:
    """``k + 1`` increasing cut points of ``range(n)``, the inner ones multiples of ``align`` where possible.

    Parameters
    ----------
    n, k : int
        Items and blocks (``k >= 1``; blocks may be empty).
    align : int, default=1

    Returns
    -------
    cuts : list of int
        ``cuts[0] == 0`` and ``cuts[k] == n``.
    """
    cuts = [0]
    for i in range(1, k):
        c = (n * i // k) // align * align
        cuts.append(min(max(c, cuts[-1]), n))
    cuts.append(n)
    return cuts


def run_blocks(task, k: int) -> None:
    """``task(i)`` for every ``i < k``: on the caller's thread when ``k == 1``, else on ``k`` pool threads.

    Each pool thread flushes denormals while it runs its block, as the caller
    does (the setting is per thread). Every block has finished when this
    returns or raises (the first block's exception, in block order), so no
    block still writes into the caller's buffers afterwards.
    """
    if k <= 1:
        task(0)
        return
    from concurrent.futures import wait

    from ._kernels._fpenv import flush_denormals

    def flushed(i):
        with flush_denormals():
            task(i)

    futures = [pool(k).submit(flushed, i) for i in range(k)]
    wait(futures)
    for f in futures:
        f.result()
