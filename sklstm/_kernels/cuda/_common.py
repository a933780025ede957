"""Launch sizes and device functions shared by the CUDA kernels.

Under the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, used by the tests on
machines without a GPU) every simulated thread is a Python thread, so the
blocks are kept small there; the kernels loop with a stride over whatever
block size they get, so both sizes run the same code paths.
"""

import math

import numpy as np
from numba import config, cuda

__all__ = ["SIM", "TILE", "block_size", "blocks", "sigmoid", "one_of", "zero_of", "kernel"]

#: True under the CUDA simulator
SIM = bool(config.ENABLE_CUDASIM)
#: side of the square tiles of the matrix-product kernel
TILE = 4 if SIM else 16
#: most threads a block walking one sequence uses
MAX_BLOCK = 8 if SIM else 256
#: threads of the one-block reductions
RED = 8 if SIM else 256
#: threads per block of elementwise kernels
ELEM = 32 if SIM else 256
#: reduction length per part of a split matrix product (long sums, e.g. weight gradients over T * B)
SPLIT_K = 8 if SIM else 512


def kernel(func):
    """``cuda.jit`` with sklstm's options (compiled code cached on disk)."""
    return cuda.jit(cache=True)(func)


def device(func):
    """An inlined device function."""
    return cuda.jit(device=True, inline=True, cache=True)(func)


def block_size(width: int) -> int:
    """Threads for a block that strides over ``width`` units: a multiple of 32, at most MAX_BLOCK."""
    if SIM:
        return max(1, min(MAX_BLOCK, int(width)))
    return int(min(MAX_BLOCK, max(32, -(-int(width) // 32) * 32)))


def blocks(n: int, per_block: int = ELEM) -> int:
    """Blocks of ``per_block`` threads covering ``n`` items (at least 1)."""
    return max(1, -(-int(n) // per_block))


def one_of(arr):
    """1 in the dtype of ``arr`` (kernels take it as an argument so float32 math stays float32)."""
    return np.dtype(arr.dtype).type(1.0)


def zero_of(arr):
    """0 in the dtype of ``arr``."""
    return np.dtype(arr.dtype).type(0.0)


@device
def sigmoid(x, one):
    """Logistic function in the dtype of ``one`` (the CPU's float64 formula).

    Below -700 the result is 0: exp would overflow (to inf on a GPU, to an
    OverflowError in the simulator, which runs Python's math module).
    """
    if x < -700.0:
        return one - one
    return one / (one + math.exp(-x))
