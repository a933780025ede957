"""Flush denormal floats to zero while sklstm's kernels run.

Values below about 1e-38 (float32) are "denormal"; x86 CPUs handle them
in microcode, tens of times slower than normal numbers. They appear
naturally in recurrent networks: gradients decaying through hundreds of
time steps, Adam's second moments of tiny gradients, cell states that a
closed forget gate shrinks step after step. A 1000-step BPTT measured 7x
slower with them than without (``benchmarks/bench_scaling.py``).

:func:`flush_denormals` sets the FTZ (flush to zero) and DAZ (denormals are
zero) bits of the calling thread's MXCSR register for the duration of a
``with`` block and restores the previous value afterwards; the compiled
kernels, which run between the two calls, then treat denormals as zero.
On AArch64 (Apple silicon, Graviton) it sets the FZ bit (24) of the FPCR
register the same way (ARMv8's FZ flushes denormal inputs and results).
Results change only where a value would have been below the smallest
normal number. On other CPUs it does nothing.
"""

import platform

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ._jit import jit
from ._microkernel import X86_64, load

__all__ = ["flush_denormals"]

_X86 = X86_64
_AARCH64 = platform.machine().lower() in ("aarch64", "arm64")
#: whether this CPU's floating-point control register is handled
_SUPPORTED = _X86 or _AARCH64
#: MXCSR bits: flush to zero (15) and denormals are zero (6)
_FTZ_DAZ = (1 << 15) | (1 << 6)
#: FPCR bit: flush to zero (24)
_FPCR_FZ = 1 << 24
#: the bits :func:`flush_denormals` sets on this CPU
_FLUSH_BITS = _FTZ_DAZ if _X86 else _FPCR_FZ


def _mxcsr_call(builder, name, slot):
    i8p = ir.IntType(8).as_pointer()
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p]), name)
    builder.call(fn, [builder.bitcast(slot, i8p)])


def emit_control_get(builder, aarch64):
    """IR reading the floating-point control register (MXCSR, or AArch64's FPCR) as an int64."""
    i64 = ir.IntType(64)
    if aarch64:
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i64, []), "llvm.aarch64.get.fpcr")
        return builder.call(fn, [])
    slot = cgutils.alloca_once(builder, ir.IntType(32))
    _mxcsr_call(builder, "llvm.x86.sse.stmxcsr", slot)
    return builder.zext(load(builder, slot, ir.IntType(32)), i64)


def emit_control_set(builder, value, aarch64):
    """IR writing the int64 ``value`` into the floating-point control register."""
    if aarch64:
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [ir.IntType(64)]),
                                            "llvm.aarch64.set.fpcr")
        builder.call(fn, [value])
        return
    slot = cgutils.alloca_once(builder, ir.IntType(32))
    builder.store(builder.trunc(value, ir.IntType(32)), slot)
    _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)


@intrinsic
def _mxcsr_get(typingctx):
    """The calling thread's floating-point control register (MXCSR on x86, FPCR on AArch64)."""

    def codegen(context, builder, signature, args):
        return emit_control_get(builder, _AARCH64)

    return types.int64(), codegen


@intrinsic
def _mxcsr_set(typingctx, value):
    """Load ``value`` into the calling thread's floating-point control register."""

    def codegen(context, builder, signature, args):
        emit_control_set(builder, args[0], _AARCH64)
        return context.get_dummy_value()

    return types.void(types.int64), codegen


@jit
def _set_mxcsr(value):
    _mxcsr_set(value)


@jit
def _enable_ftz(bits):
    old = _mxcsr_get()
    _mxcsr_set(old | bits)
    return old


class flush_denormals:
    """Context manager: denormal floats are flushed to zero in the calling thread.

    Kernels must run in the same thread as the ``with`` block (worker
    threads enter their own block). A class rather than a generator: entering
    and leaving costs two compiled calls (~1 us), which matters on the
    single-sequence prediction path.
    """

    __slots__ = ("_old",)

    def __enter__(self):
        self._old = _enable_ftz(_FLUSH_BITS) if _SUPPORTED else None
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            _set_mxcsr(self._old)
        return False
