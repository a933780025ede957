"""Vectorizable exponential for the gate nonlinearities.

``math.exp`` / ``math.tanh`` compile to scalar libm calls (~10-40 ns each)
that LLVM cannot turn into SIMD, and they dominated the step loops. Here
``exp`` is computed with the Cephes range reduction ``x = n ln2 + r`` and a
polynomial (float32) or rational (float64) approximation of ``exp(r)``
accurate to about 1 ulp; ``2**n`` is built from its exponent bits in an
integer workspace viewed as floats. Both passes are plain 1-D loops that
LLVM vectorizes. ``sigmoid(x) = 1 / (1 + exp(-x))`` and
``tanh(x) = 2 / (1 + exp(-2x)) - 1`` follow.
"""

import numpy as np
from numba import types
from numba.extending import overload

__all__ = ["exp_inplace", "sigmoid_inplace", "tanh_inplace"]

_F32 = np.float32
LO32, HI32 = _F32(-87.0), _F32(88.0)
LOG2E32, HALF32, ONE32 = _F32(1.44269504088896341), _F32(0.5), _F32(1.0)
C1_32, C2_32 = _F32(0.693359375), _F32(-2.12194440e-4)
P0_32, P1_32, P2_32 = _F32(1.9875691500e-4), _F32(1.3981999507e-3), _F32(8.3334519073e-3)
P3_32, P4_32, P5_32 = _F32(4.1665795894e-2), _F32(1.6666665459e-1), _F32(5.0000001201e-1)

LO64, HI64 = -708.0, 709.0
LOG2E64 = 1.4426950408889634073599
C1_64, C2_64 = 6.93145751953125e-1, 1.42860682030941723212e-6
P0_64, P1_64, P2_64 = 1.26177193074810590878e-4, 3.02994407707441961300e-2, 9.99999999999999999910e-1
Q0_64, Q1_64 = 3.00198505138664455042e-6, 2.52448340349684104192e-3
Q2_64, Q3_64 = 2.27265548208155028766e-1, 2.00000000000000000009e0


def exp_inplace(x, bits):  # pragma: no cover - replaced by the overload inside jitted code
    """``x[:] = exp(x)`` for a contiguous 1-D float array.

    ``bits`` is an integer workspace of the same length: int32 for float32
    ``x``, int64 for float64. Callable from jitted code only.
    """
    raise NotImplementedError("exp_inplace is only available inside numba-compiled code")


@overload(exp_inplace, jit_options={"error_model": "numpy", "nogil": True})
def _exp_inplace_overload(x, bits):
    if x.dtype == types.float32:
        def impl32(x, bits):
            n = x.shape[0]
            for i in range(n):
                v = min(max(x[i], LO32), HI32)
                fx = np.floor(v * LOG2E32 + HALF32)
                r = v - fx * C1_32 - fx * C2_32
                z = r * r
                y = (((((P0_32 * r + P1_32) * r + P2_32) * r + P3_32) * r + P4_32) * r + P5_32) * z + r + ONE32
                x[i] = y
                bits[i] = (np.int32(fx) + np.int32(127)) << np.int32(23)
            scale = bits.view(np.float32)
            for i in range(n):
                x[i] *= scale[i]
        return impl32

    def impl64(x, bits):
        n = x.shape[0]
        for i in range(n):
            v = min(max(x[i], LO64), HI64)
            fx = np.floor(v * LOG2E64 + 0.5)
            r = v - fx * C1_64 - fx * C2_64
            rr = r * r
            px = r * ((P0_64 * rr + P1_64) * rr + P2_64)
            q = ((Q0_64 * rr + Q1_64) * rr + Q2_64) * rr + Q3_64
            x[i] = 1.0 + 2.0 * (px / (q - px))
            bits[i] = (np.int64(fx) + np.int64(1023)) << np.int64(52)
        scale = bits.view(np.float64)
        for i in range(n):
            x[i] *= scale[i]
    return impl64


def _activations(ftype):
    one, two, mtwo = ftype(1.0), ftype(2.0), ftype(-2.0)

    def sigmoid_impl(x, bits):
        n = x.shape[0]
        for i in range(n):
            x[i] = -x[i]
        exp_inplace(x, bits)
        for i in range(n):
            x[i] = one / (one + x[i])

    def tanh_impl(x, bits):
        n = x.shape[0]
        for i in range(n):
            x[i] = mtwo * x[i]
        exp_inplace(x, bits)
        for i in range(n):
            x[i] = two / (one + x[i]) - one

    return sigmoid_impl, tanh_impl


_ACT32 = _activations(np.float32)
_ACT64 = _activations(np.float64)


def sigmoid_inplace(x, bits):  # pragma: no cover - replaced by the overload inside jitted code
    """``x[:] = 1 / (1 + exp(-x))`` (contiguous 1-D; ``bits`` as in :func:`exp_inplace`)."""
    raise NotImplementedError("sigmoid_inplace is only available inside numba-compiled code")


def tanh_inplace(x, bits):  # pragma: no cover - replaced by the overload inside jitted code
    """``x[:] = tanh(x)`` as ``2 / (1 + exp(-2x)) - 1`` (absolute error ~1 ulp of 1)."""
    raise NotImplementedError("tanh_inplace is only available inside numba-compiled code")


@overload(sigmoid_inplace, jit_options={"error_model": "numpy", "nogil": True})
def _sigmoid_overload(x, bits):
    return _ACT32[0] if x.dtype == types.float32 else _ACT64[0]


@overload(tanh_inplace, jit_options={"error_model": "numpy", "nogil": True})
def _tanh_overload(x, bits):
    return _ACT32[1] if x.dtype == types.float32 else _ACT64[1]
