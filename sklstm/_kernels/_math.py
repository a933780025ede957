"""Vectorizable exponential and gate activations.

``math.exp`` / ``math.tanh`` compile to scalar libm calls that LLVM cannot
turn into SIMD, and they dominated the step loops. Here ``exp`` is computed
with the Cephes range reduction ``x = n ln2 + r`` and a polynomial (float32)
or rational (float64) approximation of ``exp(r)``, accurate to about 1 ulp;
``2**n`` is built from its exponent bits in an integer workspace viewed as
floats. Every pass is a plain loop ``for i in range(n)`` over a 1-D array:
numba adds a negative-index wraparound select to any index it cannot prove
non-negative (``x[lo + i]``), and that select stops LLVM from vectorizing,
so callers pass slices rather than offsets.

Activations of a block of rows of width G use three per-column vectors:
``x = alpha / (1 + exp(scale * x)) + beta``; ``scale=-1, alpha=1, beta=0``
is the sigmoid and ``scale=-2, alpha=2, beta=-1`` is tanh.
"""

import numpy as np
from numba import types
from numba.extending import overload

__all__ = ["exp_range", "act_range", "tanh_range", "gate_vectors", "unit"]

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

_OPTS = {"error_model": "numpy", "nogil": True}


def _stub(name):
    def f(*args):  # pragma: no cover - replaced by an overload inside jitted code
        raise NotImplementedError(f"{name} is only available inside numba-compiled code")
    f.__name__ = name
    return f


exp_range = _stub("exp_range")
exp_range.__doc__ = """``x[:] = exp(x)`` for a contiguous 1-D float array (a slice).

``bits`` is an integer workspace of at least ``len(x)`` items: int32 for
float32 ``x``, int64 for float64.
"""
act_range = _stub("act_range")
act_range.__doc__ = """``x[:] = alpha / (1 + exp(scale * x)) + beta``, rows of width ``len(scale)``."""
tanh_range = _stub("tanh_range")
tanh_range.__doc__ = """``out[:] = tanh(x)`` (absolute error about 1 ulp of 1); ``out`` may be ``x``."""
gate_vectors = _stub("gate_vectors")
gate_vectors.__doc__ = """``(scale, alpha, beta)`` of width ``n_gates * H``; ``tanh_gate`` is the tanh block (-1: none)."""


def _exp32(x, bits):
    n = x.shape[0]
    for i in range(n):
        v = min(max(x[i], LO32), HI32)
        fx = np.floor(v * LOG2E32 + HALF32)
        r = v - fx * C1_32 - fx * C2_32
        z = r * r
        x[i] = (((((P0_32 * r + P1_32) * r + P2_32) * r + P3_32) * r + P4_32) * r + P5_32) * z + r + ONE32
        bits[i] = (np.int32(fx) + np.int32(127)) << np.int32(23)
    scale = bits.view(np.float32)
    for i in range(n):
        x[i] *= scale[i]


def _exp64(x, bits):
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


@overload(exp_range, jit_options=_OPTS)
def _exp_range_ol(x, bits):
    return _exp32 if x.dtype == types.float32 else _exp64


def _make(ftype):
    one, two, mtwo, mone, zero = ftype(1), ftype(2), ftype(-2), ftype(-1), ftype(0)

    def act(x, scale, alpha, beta, bits):
        g = scale.shape[0]
        rows = x.shape[0] // g
        for r in range(rows):
            row = x[r * g:(r + 1) * g]
            for j in range(g):
                row[j] *= scale[j]
        exp_range(x, bits)
        for r in range(rows):
            row = x[r * g:(r + 1) * g]
            for j in range(g):
                row[j] = alpha[j] / (one + row[j]) + beta[j]

    def tanh(x, out, bits):
        n = x.shape[0]
        for i in range(n):
            out[i] = mtwo * x[i]
        exp_range(out, bits)
        for i in range(n):
            out[i] = two / (one + out[i]) - one

    def vectors(template, n_gates, h, tanh_gate):
        g = n_gates * h
        scale = np.empty(g, dtype=template.dtype)
        alpha = np.empty(g, dtype=template.dtype)
        beta = np.empty(g, dtype=template.dtype)
        for j in range(g):
            if j // h == tanh_gate:
                scale[j], alpha[j], beta[j] = mtwo, two, mone
            else:
                scale[j], alpha[j], beta[j] = mone, one, zero
        return scale, alpha, beta

    return act, tanh, vectors


_IMPL = {32: _make(np.float32), 64: _make(np.float64)}


def _pick(arr):
    return _IMPL[32] if arr.dtype == types.float32 else _IMPL[64]


@overload(act_range, jit_options=_OPTS)
def _act_range_ol(x, scale, alpha, beta, bits):
    return _pick(x)[0]


@overload(tanh_range, jit_options=_OPTS)
def _tanh_range_ol(x, out, bits):
    return _pick(x)[1]


@overload(gate_vectors, jit_options=_OPTS)
def _gate_vectors_ol(template, n_gates, h, tanh_gate):
    return _pick(template)[2]


unit = _stub("unit")
unit.__doc__ = """The number 1 in the dtype of ``template`` (keeps float32 arithmetic in float32)."""


@overload(unit, jit_options=_OPTS)
def _unit_ol(template):
    if template.dtype == types.float32:
        return lambda template: ONE32
    return lambda template: 1.0
