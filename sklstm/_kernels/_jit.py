"""The one jit decorator used by every compiled kernel of sklstm.

``cache=True`` keeps compiled code on disk between sessions, ``nogil=True``
lets kernels run while other Python threads work, and
``error_model="numpy"`` removes the zero-division branch that numba's
default error model puts on every division (it blocks SIMD). fastmath is
off: results must not depend on reassociation.
"""

import numba

__all__ = ["jit"]


def jit(func):
    """Compile ``func`` with sklstm's fixed numba options.

    Parameters
    ----------
    func : callable
        A function made only of array arguments, scalars and loops.

    Returns
    -------
    dispatcher : numba.core.registry.CPUDispatcher
        The compiled (lazily, then cached on disk) function.
    """
    return numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=False)(func)
