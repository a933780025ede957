"""Call internal kernel helpers (``jit(internal=True)``) from tests.

Those helpers are compiled without a Python entry point; :func:`from_python`
wraps one in a plain jitted function with the same parameters that forwards
the call (compiled on first use, not cached).
"""

import inspect

import numba

_FORWARDERS = {}


def from_python(dispatcher):
    """A jitted function forwarding its arguments to the internal ``dispatcher``.

    Parameters
    ----------
    dispatcher : numba dispatcher
        Made by ``sklstm._kernels._jit.jit(internal=True)``.

    Returns
    -------
    forwarder : numba dispatcher
        Callable from Python with ``dispatcher``'s parameters.
    """
    if dispatcher not in _FORWARDERS:
        names = ", ".join(inspect.signature(dispatcher.py_func).parameters)
        namespace = {"_target": dispatcher}
        exec(f"def forward({names}):\n    return _target({names})\n", namespace)
        _FORWARDERS[dispatcher] = numba.njit(namespace["forward"])
    return _FORWARDERS[dispatcher]
