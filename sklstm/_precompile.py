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
If a worker fails, this process warns and compiles whatever is missing
itself: the result is the same, only slower.

Every kernel has exactly one signature per dtype (inputs are converted to one
canonical form before they reach a kernel), listed in :data:`KERNELS`; a
test checks that the table matches what fit, predict and the other entry
points compile.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
import warnings

import numba
import numpy as np
from numba import types

__all__ = ["KERNELS", "precompile", "signature", "compile_here"]

#: (module, function, argument kinds, relative compile cost). Kinds: ``aN`` a C-contiguous array
#: of the dtype with N dimensions, ``l`` int64 lengths (1-D), ``t`` int64 token ids (2-D), ``b``
#: bool, ``f`` float64, ``s`` a scalar of the dtype, ``i`` int64. ``_gemm.prepare`` is the
#: matrix-product callback.
#: The costs (tenths of a second of compile time, measured) only balance the work between processes.
KERNELS = (
    ("lstm", "lstm_forward", "a3 a2 a1 l b b a2 a2 a3 a3 a3 a3 a3 a2 a2 a2 b i i", 21),
    ("lstm", "lstm_infer", "a2 a2 a1 a1 a2 l b b a2 a2 a3 a2 a2", 25),
    ("lstm", "lstm_backward", "a3 a3 a3 a3 a2 a2 l b b a3 a2 a2 b i i", 16),
    ("gru", "gru_forward", "a3 a2 a1 l b a2 a3 a3 a3 a3 a2 a2 b i i", 15),
    ("gru", "gru_backward", "a3 a3 a3 a3 a2 l b a3 a3 a2 b i i", 14),
    ("rnn", "rnn_forward", "a3 a2 a1 l b a2 a3 a3 a2 a2 b i i", 10),
    ("rnn", "rnn_backward", "a3 a3 a2 l b a3 a2 b i i", 7),
    ("_gemm", "prepare", "", 18),
    ("head", "linear_forward", "a2 a2 a1 a2 b", 3),
    ("head", "weight_grad_columns", "a2 a2 a2 a1 i i b", 4),
    ("_ops", "add_weight_grad", "a2 a2 a2", 4),
    ("_ops", "matmul", "a2 a2 a2 b", 4),
    ("optim", "adam_update", "a1 a1 a1 a1 f f f f i", 4),
    ("optim", "sgd_update", "a1 a1 a1 f f b b", 3),
    ("optim", "rmsprop_update", "a1 a1 a1 f f f", 2),
    ("scan", "scan_padded", "a3 l", 4),
    ("embed", "embedding_forward", "t l a2 a3", 2),
    ("embed", "embedding_backward", "t l a3 a2 i", 2),
    ("attention", "attention_context", "a3 a3 a3 l a3 a3", 2),
    ("head", "clip_by_value", "a1 s", 2),
    ("head", "global_norm", "a1", 1),
    ("head", "scale_inplace", "a1 s", 1),
    ("_fpenv", "_set_mxcsr", "i", 1),
    ("_fpenv", "_enable_ftz", "i", 1),
)

_DTYPES = {"float32": types.float32, "float64": types.float64}
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
#: seconds a worker may take before it is stopped (a cold compile takes 5-20 s)
_WORKER_TIMEOUT = 900

# A worker imports the kernels without running sklstm/__init__.py (which imports scikit-learn):
# the package is registered as a bare namespace over its own directory. Its import path is the
# caller's (argv[2]), not the current directory that ``-c`` would put first.
_WORKER = """
import json, sys, types
sys.path[:] = [p for p in json.loads(sys.argv[2]) if p]
package = types.ModuleType("sklstm")
package.__path__ = [sys.argv[1]]
sys.modules["sklstm"] = package
from sklstm._precompile import compile_here
compile_here(sys.argv[3], sys.argv[4:])
"""


def _applicable():
    """The :data:`KERNELS` entries this machine uses (the control-register kernels: x86-64 and AArch64)."""
    from ._kernels._fpenv import _SUPPORTED

    return [k for k in KERNELS if _SUPPORTED or k[0] != "_fpenv"]


def _dtype_name(dtype) -> str:
    try:
        name = None if dtype is None else np.dtype(dtype).name
    except TypeError:
        name = None
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
    fixed = {"l": types.Array(types.int64, 1, "C"), "t": types.Array(types.int64, 2, "C"), "b": types.boolean,
             "f": types.float64,
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
        ``"module.function"`` entries of :data:`KERNELS`, compiled in this
        order; all of this machine's entries by default.
    """
    name = _dtype_name(dtype)
    table = {f"{m}.{f}": (m, f, kinds) for m, f, kinds, _ in _applicable()}
    for entry in table if names is None else names:
        module, function, kinds = table[entry]
        kernel = _kernel(module, function)
        if function == "prepare":
            kernel(np.dtype(name))
        else:
            kernel.compile(signature(kinds, name))


_CELLS = ("lstm", "gru", "rnn")
#: the kernel that uses the most shared helpers, and their cost: the first group compiles them
_FIRST = "lstm_forward"
_HELPERS = 12
#: a worker's start (imports) and end (saving its last kernel, exit), in the same units
_STARTUP = 10


def _share(jobs: int) -> list:
    """The kernels split into at most ``jobs`` groups of about equal cost, in each group's order.

    The first group (this process) starts with ``lstm_forward``: compiling
    it compiles most of the shared helpers and saves them to the cache. The
    rest go largest first onto the lightest group; the other groups start
    with the kernels that need none of those helpers, so that by the time
    they reach a cell kernel they load the helpers instead of compiling
    them again. There are never more groups than kernels.
    """
    entries = sorted(_applicable(), key=lambda k: -k[3])
    first = next(k for k in entries if k[1] == _FIRST)
    groups = [[first[3] + _HELPERS, [first]]] + [[_STARTUP, []] for _ in range(max(1, jobs) - 1)]
    for entry in entries:
        if entry is not first:
            lightest = min(groups, key=lambda g: g[0])
            lightest[0] += entry[3]
            lightest[1].append(entry)

    def order(i, share):
        rest = sorted(share[1 if i == 0 else 0:], key=lambda k: (k[0] in _CELLS, k[3]), reverse=i == 0)
        return ([first] if i == 0 else []) + rest

    return [[f"{k[0]}.{k[1]}" for k in order(i, share)] for i, (_, share) in enumerate(groups) if share]


def _n_processes(n_jobs) -> int:
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)):
        raise TypeError(f"n_jobs must be an int or None, got {n_jobs!r}")
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning: use a positive count, or -1 for every CPU")
    from joblib import cpu_count  # scikit-learn's dependency; counts the CPUs this process may use

    return int(n_jobs) if n_jobs > 0 else max(1, cpu_count() + 1 + int(n_jobs))


def _worker_env() -> dict:
    """The environment of a worker: numba settings changed in this process carry over."""
    env = dict(os.environ)
    for var, value in (("NUMBA_CACHE_DIR", numba.config.CACHE_DIR), ("NUMBA_CPU_NAME", numba.config.CPU_NAME),
                       ("NUMBA_CPU_FEATURES", numba.config.CPU_FEATURES)):
        if value:
            env[var] = str(value)
    return env


def _import_path() -> str:
    """This process's ``sys.path`` for a worker (JSON; entries that are not paths are left out)."""
    return json.dumps([os.fspath(p) for p in sys.path if isinstance(p, (str, os.PathLike))])


def _can_start_workers() -> bool:
    # a frozen application, or a host program embedding Python (uwsgi, a plug-in host), is not an
    # interpreter that takes -c
    exe = os.path.basename(sys.executable or "").lower()
    return not getattr(sys, "frozen", False) and exe.startswith(("python", "pypy"))


def precompile(dtype="float32", n_jobs=-1) -> None:
    """Compile every CPU kernel for ``dtype`` now, using several processes.

    The kernels are otherwise compiled one by one on their first use (the
    first ``fit`` and ``predict`` on a new machine, or after an upgrade) and
    then loaded from numba's on-disk cache. Call this once, for example
    before timing code or as a set-up step, to pay that cost on all cores at
    once. ``python -m sklstm compile`` does the same from a shell. The CUDA
    kernels (``device="cuda"``) are not included.

    Parameters
    ----------
    dtype : {"float32", "float64"} or numpy dtype, default="float32"
        The ``dtype`` parameter of the estimators that will be used.
    n_jobs : int or None, default=-1
        Number of processes, this one included, as in joblib: ``-1`` uses
        every CPU this process may run on, ``-2`` all but one, and so on;
        ``None`` or ``1`` compiles here only. At most one process per kernel
        (about 20) is used.

    Returns
    -------
    None

    Raises
    ------
    ValueError
        If ``dtype`` is not float32 or float64, or ``n_jobs`` is 0.
    TypeError
        If ``n_jobs`` is not an int or None.

    Warns
    -----
    RuntimeWarning
        When a worker process fails (its exit status and last error lines
        are in the message); this process then compiles its share itself.

    See Also
    --------
    LSTMRegressor, LSTMClassifier : their ``dtype`` parameter.

    Notes
    -----
    Workers use this process's interpreter, import path and numba settings
    (``NUMBA_CACHE_DIR``, ``NUMBA_CPU_NAME``) and write into the same cache.
    numba's cache is keyed by the CPU model and is found next to the package,
    or in a user cache directory where that is read-only, or in
    ``NUMBA_CACHE_DIR``: run it as the user, and on the kind of machine,
    that will fit the models.

    Examples
    --------
    >>> import sklstm
    >>> sklstm.precompile("float32", n_jobs=2)  # doctest: +SKIP
    """
    name = _dtype_name(dtype)
    jobs = _n_processes(n_jobs)
    if numba.config.DISABLE_JIT:  # nothing is compiled with NUMBA_DISABLE_JIT=1
        return
    groups = _share(jobs)
    workers = []  # (process, stderr file)
    command, env = [sys.executable, "-c", _WORKER, _PACKAGE_DIR, _import_path(), name], _worker_env()
    try:
        for names in groups[1:] if _can_start_workers() else ():
            err = tempfile.TemporaryFile()
            try:
                workers.append((subprocess.Popen([*command, *names], stdin=subprocess.DEVNULL,
                                                 stdout=subprocess.DEVNULL, stderr=err, env=env), err))
            except OSError:  # the interpreter cannot be started: compile here
                err.close()
                break
        compile_here(name, groups[0])
        for w, err in workers:
            try:
                w.wait(timeout=_WORKER_TIMEOUT)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait()
            if w.returncode != 0:
                err.seek(0)
                tail = err.read()[-2000:].decode(errors="replace").strip()
                warnings.warn(f"sklstm.precompile: a worker process failed (exit status {w.returncode}); "
                              f"compiling its kernels here instead. {tail}", RuntimeWarning, stacklevel=2)
    finally:  # an error or Ctrl-C (here or while waiting) must not leave workers compiling
        for w, err in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
            err.close()
    compile_here(name)  # loads what the workers compiled; compiles anything they did not
