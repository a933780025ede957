"""The jit decorators used by every compiled kernel of sklstm.

``cache=True`` keeps compiled code on disk between sessions, ``nogil=True``
lets kernels run while other Python threads work, and
``error_model="numpy"`` removes the zero-division branch that numba's
default error model puts on every division (it blocks SIMD). fastmath is
off: results must not depend on reassociation.

The on-disk cache of every kernel is keyed on all of this package's kernel
sources (:func:`kernel_cache`), not only on the kernel's own file: numba
would otherwise keep a cached caller whose callee in another file changed
(stale code, or a symbol that no longer exists).

Helpers that only other kernels call are compiled with ``internal=True``:
without the Python and C entry points numba otherwise builds (and
optimizes, and caches) for every signature of every function. Those
wrappers were about a tenth of the package's cold compile time, and none of
them was ever called.
"""

import hashlib
import os

import numba
from numba import types
from numba.core import caching
from numba.core.registry import CPUDispatcher

__all__ = ["jit", "kernel_cache", "sources_stamp"]

_KERNEL_DIR = os.path.dirname(os.path.abspath(__file__))
_STAMP = []


def sources_stamp(directory: str = _KERNEL_DIR) -> tuple:
    """(name, mtime, size) of every ``.py`` file in ``directory``, sorted: changes when any of them does.

    Parameters
    ----------
    directory : str
        Defaults to the kernels' own directory (``sklstm/_kernels``).

    Returns
    -------
    stamp : tuple
        Empty where the directory cannot be listed (e.g. a zipped install).
    """
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".py"))
        return tuple((n, st.st_mtime_ns, st.st_size)
                     for n, st in ((n, os.stat(os.path.join(directory, n))) for n in names))
    except OSError:
        return ()


def _stamp() -> tuple:
    if not _STAMP:
        _STAMP.append(sources_stamp())
    return _STAMP[0]


def _with_kernel_stamp(locator_class):
    """``locator_class`` whose source stamp also covers every kernel source file."""

    def get_source_stamp(self):
        return (locator_class.get_source_stamp(self), _stamp())

    return type("Kernel" + locator_class.__name__, (locator_class,), {"get_source_stamp": get_source_stamp})


class _KernelCacheImpl(caching.CompileResultCacheImpl):
    _locator_classes = [_with_kernel_stamp(c) for c in caching.CompileResultCacheImpl._locator_classes]


class _KernelCacheFile(caching.IndexDataCacheFile):
    """numba's index + data files, with one data file name per key.

    numba numbers the data files of a function 1, 2, ... in the order its
    signatures are first saved, reading and rewriting the index without a
    lock. Two processes saving different signatures at once can then both
    pick number 1: the index keeps one process's key while the data file
    holds the other's code, which a later run loads for the wrong signature.
    Here the name is a hash of the key (with numba's version and the kernel
    sources' stamp), so a race can at worst lose an index entry (that
    signature is compiled again), never pair a key with another key's code.
    The data file is written before the index that names it.
    """

    def save(self, key, data):
        base = self._index_name[:-len(".nbi")]
        # the numba version and the kernels' source stamp are in the name too: a process running other
        # kernel sources (or another numba) writes other files, never code this index could pair
        digest = hashlib.sha256(repr((self._version, self._source_stamp, key)).encode()).hexdigest()
        name = f"{base}.{digest[:20]}.nbc"
        self._save_data(name, data)  # data first: an index entry never names a missing file
        overloads = self._load_index()
        if overloads.get(key) != name:
            overloads[key] = name
            self._save_index(overloads)


class _KernelFunctionCache(caching.FunctionCache):
    _impl_class = _KernelCacheImpl

    def __init__(self, py_func):
        super().__init__(py_func)
        self._cache_file = _KernelCacheFile(cache_path=self._cache_path,
                                            filename_base=self._impl.filename_base,
                                            source_stamp=self._impl.locator.get_source_stamp())


def kernel_cache(py_func):
    """numba's on-disk function cache for ``py_func``, invalidated when any kernel source changes.

    Parameters
    ----------
    py_func : function
        The Python function of a dispatcher or ``cfunc``.

    Returns
    -------
    cache : numba.core.caching.FunctionCache
        Assign it to the dispatcher's ``_cache`` (what ``cache=True`` does
        with numba's own, per-file cache).
    """
    return _KernelFunctionCache(py_func)


_OPTIONS = {"nopython": True, "nogil": True, "error_model": "numpy", "fastmath": False}


class _InternalDispatcher(CPUDispatcher):
    """A kernel helper compiled without a Python entry point: callable from kernels only.

    It is compiled once per combination of argument *types*: a constant
    argument (``gemm(a, False, b, c, True)``) is typed as a plain ``bool`` or
    ``int64``, not as a literal, which numba would compile a signature for
    per value.
    """

    def get_call_template(self, args, kws):
        return super().get_call_template(tuple(types.unliteral(a) for a in args),
                                         {k: types.unliteral(v) for k, v in kws.items()})

    def __call__(self, *args, **kwargs):
        # the compiled code has no Python wrapper: calling it from Python would crash
        raise TypeError(f"{self.py_func.__module__}.{self.py_func.__name__} is compiled for calls from "
                        "other kernels only (jit(internal=True)); call it from a jitted function")


def jit(func=None, *, internal=False):
    """Compile ``func`` with sklstm's fixed numba options.

    Parameters
    ----------
    func : callable
        A function made only of array arguments, scalars and loops.
    internal : bool, default=False
        Compile no Python or C entry point: the function can only be called
        from other compiled functions (calling it from Python raises
        ``TypeError``). Used as ``@jit(internal=True)``.

    Returns
    -------
    dispatcher : numba.core.registry.CPUDispatcher
        The compiled (lazily, then cached on disk) function.
    """
    if func is None:
        return lambda f: jit(f, internal=internal)
    if internal:
        options = dict(_OPTIONS, no_cpython_wrapper=True, no_cfunc_wrapper=True)
        dispatcher = _InternalDispatcher(py_func=func, locals={}, targetoptions=options)
    else:
        dispatcher = numba.njit(**{k: v for k, v in _OPTIONS.items() if k != "nopython"})(func)
    dispatcher._cache = kernel_cache(func)
    return dispatcher
