"""numba.cuda kernels: the GPU twins of :mod:`sklstm._kernels`.

Nothing here is imported by ``import sklstm``: the estimators import these
modules only when ``device`` asks for a GPU, so numba.cuda (the
``numba-cuda`` package, ``pip install "sklstm[cuda]"``) stays optional.
:func:`status` says whether a usable GPU is present without raising.

Layout of the package (each module mirrors its CPU twin's signatures):

- ``_common``: launch sizes and the device-side activation functions;
- ``lstm``, ``gru``, ``rnn``: forward and BPTT of one layer and direction,
  one thread block per sequence walking the whole sequence (the recurrence
  of a sequence never leaves its block, ragged lengths cost nothing);
- ``blas``: tiled matrix products (input projections, weight gradients,
  the head), column sums and transposes, all in a fixed summation order;
- ``head``: gathers/scatters between the recurrent output and the head,
  losses, dropout masks from a counter-based RNG (Philox-2x32-10),
  deterministic reductions, clipping and the L2 penalty;
- ``optim``: Adam, SGD (Nesterov) and RMSprop updates.

No kernel uses floating-point atomics: every reduction has a fixed order,
so a fit is reproducible for a given ``random_state``.
"""

from __future__ import annotations

__all__ = ["status"]


def status() -> tuple:
    """Whether numba.cuda can run kernels here, and if not, why.

    Returns
    -------
    available : bool
    reason : str
        Empty when available; otherwise what is missing, in words a user
        can act on.
    """
    try:
        from numba import cuda
    except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
        return False, (f"numba.cuda could not be imported ({exc}); install the CUDA extra with "
                       "pip install 'sklstm[cuda]' (it brings numba-cuda).")
    try:
        if cuda.is_available():
            return True, ""
    except Exception as exc:  # noqa: BLE001
        return False, f"numba.cuda found no usable GPU: {exc}"
    reason = "no NVIDIA GPU or CUDA driver was found"
    try:
        cuda.current_context()
    except Exception as exc:  # noqa: BLE001 - the driver's own explanation, when it has one
        text = " ".join(str(exc).split())
        if text:
            reason = text
    return False, (f"numba.cuda cannot use a GPU on this machine ({reason}). Use device='cpu', or "
                   "device='auto' to fall back to the CPU.")
