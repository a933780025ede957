"""Compile every CPU kernel for a dtype ahead of its first use, in parallel processes.

numba compiles a kernel on its first call and keeps the machine code in its
on-disk cache; later processes load it in milliseconds. The first fit on a
new machine (or after an upgrade) therefore pays the whole compilation, one
kernel after the other, on one core: numba compiles under a process-wide
lock, so threads cannot share the work.

:func:`precompile` splits the kernels between this process and worker
processes that compile into the same cache; this process then loads what
the workers left there. The workers import only :mod:`sklstm._kernels`
(numpy and numba, not scikit-learn), so they start in about half a second.
If a worker fails, or the cache cannot be written, this process compiles
whatever is missing itself: the result is the same, only slower.

Every kernel has exactly one signature per dtype (inputs are converted to one
canonical form before they reach a kernel), listed in :data:`KERNELS`; a
test checks that the table matches what fit, predict and the other entry
points compile.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import numpy as np
from numba import types

__all__ = ["KERNELS", "precompile", "signature", "compile_here"]

#: (module, function, argument kinds, relative compile cost). Kinds: ``aN`` a C-contiguous array
#: of the dtype with N dimensions, ``l`` int64 lengths (1-D), ``b`` bool, ``f`` float64,
#: ``s`` a scalar of the dtype, ``i`` int64. ``_gemm.prepare`` is the matrix-product callback.
#: The costs (tenths of a second of compile time, measured) only balance the work between processes.
KERNELS = (
    ("lstm", "lstm_forward", "a3 a2 a1 l b b a2 a2 a3 a3 a3 a3 a3 a2 a2 a2 b", 21),
    ("lstm", "lstm_infer", "a2 a2 a1 a1 a2 l b b a2 a2 a3 a2 a2", 25),
    ("lstm", "lstm_backward", "a3 a3 a3 a3 a2 a2 l b b a3 a2 a2 b", 16),
    ("gru", "gru_forward", "a3 a2 a1 l b a2 a3 a3 a3 a3 a2 a2 b", 15),
    ("gru", "gru_backward", "a3 a3 a3 a3 a2 l b a3 a3 a2 b", 14),
    ("rnn", "rnn_forward", "a3 a2 a1 l b a2 a3 a3 a2 a2 b", 10),
    ("rnn", "rnn_backward", "a3 a3 a2 l b a3 a2 b", 7),
    ("_gemm", "prepare", "", 18),
    ("head", "linear_forward", "a2 a2 a1 a2 b", 3),
    ("_ops", "add_weight_grad", "a2 a2 a2", 4),
    ("_ops", "matmul", "a2 a2 a2 b", 4),
    ("optim", "adam_update", "a1 a1 a1 a1 f f f f i", 4),
    ("optim", "sgd_update", "a1 a1 a1 f f b b", 3),
    ("optim", "rmsprop_update", "a1 a1 a1 f f f", 2),
    ("scan", "scan_padded", "a3 l", 4),
    ("head", "clip_by_value", "a1 s", 2),
    ("head", "global_norm", "a1", 1),
    ("head", "scale_inplace", "a1 s", 1),
    ("_fpenv", "_set_mxcsr", "i", 1),
    ("_fpenv", "_enable_ftz", "i", 1),
)

_DTYPES = {"float32": types.float32, "float64": types.float64}
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

# A worker imports the kernels without running sklstm/__init__.py (which imports scikit-learn):
# the package is registered as a bare namespace over its own directory.
_WORKER = """
import sys, types
package = types.ModuleType("sklstm")
package.__path__ = [sys.argv[1]]
sys.modules["sklstm"] = package
from sklstm._precompile import compile_here
compile_here(sys.argv[2], sys.argv[3:])
"""


def _dtype_name(dtype) -> str:
    name = np.dtype(dtype).name
    if name not in _DTYPES:
        raise ValueError(f"dtype must be float32 or float64 (the kernels' dtypes), got {dtype!r}")
    return name


def signature(kinds: str, dtype) -> tuple:
    """The numba argument types that ``kinds`` (a :data:`KERNELS` entry) stand for.

    Parameters
    ----------
    kinds : str
        Space-separated argument kinds, as in :data:`KERNELS`.
    dtype : str or numpy dtype
        ``float32`` or ``float64``.

    Returns
    -------
    argtypes : tuple of numba types
    """
    scalar = _DTYPES[_dtype_name(dtype)]
    fixed = {"l": types.Array(types.int64, 1, "C"), "b": types.boolean, "f": types.float64,
             "s": scalar, "i": types.int64}
    return tuple(types.Array(scalar, int(k[1]), "C") if k[0] == "a" else fixed[k] for k in kinds.split())


def _kernel(module: str, name: str):
    return getattr(importlib.import_module(f"sklstm._kernels.{module}"), name)


def compile_here(dtype, names=None) -> None:
    """Compile (or load from the cache) kernels for ``dtype`` in this process.

    Parameters
    ----------
    dtype : str or numpy dtype
        ``float32`` or ``float64``.
    names : list of str, optional
        ``"module.function"`` entries of :data:`KERNELS`; all of them by default.
    """
    name = _dtype_name(dtype)
    table = {f"{m}.{f}": (m, f, kinds) for m, f, kinds, _ in KERNELS}
    for entry in table if names is None else names:
        module, function, kinds = table[entry]
        kernel = _kernel(module, function)
        if function == "prepare":
            kernel(np.dtype(name))
        elif hasattr(kernel, "compile"):  # not with NUMBA_DISABLE_JIT=1 (plain Python functions)
            kernel.compile(signature(kinds, name))


def _share(jobs: int) -> list:
    """The kernels split into ``jobs`` groups of about equal cost, in the order each group compiles them.

    Largest first onto the lightest group. The first group (this process)
    starts with the cell kernels, which compile most of the shared helpers
    and save them to the cache; the others start with the kernels that need
    none of those helpers, so that by the time they reach a cell kernel they
    load the helpers instead of compiling them a second time.
    """
    groups = [[_HELPERS if i == 0 else 0, []] for i in range(jobs)]
    for module, function, _, cost in sorted(KERNELS, key=lambda k: -k[3]):
        lightest = min(groups, key=lambda g: g[0])
        lightest[0] += cost
        lightest[1].append((module in _CELLS, cost, f"{module}.{function}"))
    shares = [sorted(entries, reverse=i == 0) for i, (_, entries) in enumerate(groups) if entries]
    return [[entry for _, _, entry in share] for share in shares]


_CELLS = ("lstm", "gru", "rnn")
#: the cost of the helpers the first cell kernel compiles (in the first group)
_HELPERS = 12


def precompile(dtype="float32", n_jobs=-1) -> None:
    """Compile every CPU kernel for ``dtype`` now, using several processes.

    The kernels are otherwise compiled one by one on their first use (the
    first ``fit`` and ``predict`` on a new machine, or after an upgrade) and
    then loaded from numba's on-disk cache. Call this once, for example while
    building a container image or before timing code, to pay that cost on all
    cores at once. ``python -m sklstm compile`` does the same from a shell.

    Parameters
    ----------
    dtype : {"float32", "float64"} or numpy dtype, default="float32"
        The ``dtype`` parameter of the estimators that will be used.
    n_jobs : int, default=-1
        Number of processes, this one included; ``-1`` uses every CPU this
        process may run on. ``1`` compiles here only.

    Raises
    ------
    ValueError
        If ``dtype`` is not float32 or float64, or ``n_jobs`` is 0 or below -1.

    Notes
    -----
    Worker processes write into the same numba cache directory as this
    process (``NUMBA_CACHE_DIR`` where it is set). If they cannot, or fail,
    this process compiles the missing kernels itself.
    """
    name = _dtype_name(dtype)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive int or -1, got {n_jobs!r}")
    if n_jobs == -1:
        n_jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    groups = _share(int(n_jobs))
    workers = []
    # a frozen application's executable is not an interpreter that takes -c: compile here only
    for names in groups[1:] if sys.executable and not getattr(sys, "frozen", False) else ():
        try:
            workers.append(subprocess.Popen([sys.executable, "-c", _WORKER, _PACKAGE_DIR, name, *names],
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL))
        except OSError:  # no interpreter to start (e.g. an embedded Python): compile here
            break
    try:
        compile_here(name, groups[0])
    except BaseException:  # an error or Ctrl-C here: do not leave the workers compiling
        for w in workers:
            w.kill()
        raise
    finally:
        for w in workers:
            w.wait()
    compile_here(name)  # loads what the workers compiled; compiles anything they did not
