"""The jit decorators used by every compiled kernel of sklstm.

``cache=True`` keeps compiled code on disk between sessions, ``nogil=True``
lets kernels run while other Python threads work, and
``error_model="numpy"`` removes the zero-division branch that numba's
default error model puts on every division (it blocks SIMD). fastmath is
off: results must not depend on reassociation.

Helpers that only other kernels call are compiled with ``internal=True``:
without the Python and C entry points numba otherwise builds (and
optimizes, and caches) for every signature of every function. Those
wrappers were about a tenth of the package's cold compile time, and none of
them was ever called.
"""

import numba
from numba.core.registry import CPUDispatcher

__all__ = ["jit"]

_OPTIONS = {"nopython": True, "nogil": True, "error_model": "numpy", "fastmath": False}


class _InternalDispatcher(CPUDispatcher):
    """A kernel helper compiled without a Python entry point: callable from kernels only."""

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
    if not internal:
        return numba.njit(cache=True, **{k: v for k, v in _OPTIONS.items() if k != "nopython"})(func)
    options = dict(_OPTIONS, no_cpython_wrapper=True, no_cfunc_wrapper=True)
    dispatcher = _InternalDispatcher(py_func=func, locals={}, targetoptions=options)
    dispatcher.enable_caching()
    return dispatcher
