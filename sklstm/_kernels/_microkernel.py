"""The matrix-product micro-kernel in LLVM IR, and the target's tile shape (see :mod:`._gemm`).

``_make_ukernel`` builds the numba ``@intrinsic`` that keeps a tile of
``MR`` rows times ``NV`` SIMD vectors of the output in vector registers
while the inner dimension is walked (one fused multiply-add per
accumulator, :func:`emit_madd`); the small intrinsics below give the
addresses, typed pointers and item sizes the product loops of
:mod:`._gemm` pass to it.
"""

import inspect
import platform

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def _target_features() -> set:
    """CPU features numba compiles for (its ``NUMBA_CPU_FEATURES`` override, else the host's)."""
    override = numba.config.CPU_FEATURES
    if override:
        return {f[1:] for f in override.split(",") if f.startswith("+")}
    import llvmlite.binding as llvm

    return {name for name, on in llvm.get_host_cpu_features().items() if on}


_FEATURES = _target_features()
#: bytes per SIMD register the micro-kernel is shaped for
VECTOR_BYTES = 64 if "avx512f" in _FEATURES else 32 if "avx" in _FEATURES else 16
#: rows of the output tile (MR x NV accumulators + NV loads + 1 broadcast fit the registers)
MR = {64: 8, 32: 6, 16: 4}[VECTOR_BYTES]
#: SIMD vectors per row of the output tile (the panel width is NV vectors)
NV = 2
#: panels a single-row product covers at once (enough independent FMA chains)
ROW_GROUP = 4
#: rows at or below which a row block is computed row by row with the wide kernel
ROW_KERNEL_MAX = 2
#: inner-dimension block of :func:`gemm` (keeps a panel block in L1)
KC = 256
#: rows of A per block of :func:`gemm` (MC x KC stays in L2)
MC = 16 * MR
#: rows from which :func:`gemm` copies B into contiguous panels before the product
PACK_ROWS = 4 * MR


#: names ``platform.machine()`` gives x86 CPUs
_X86_NAMES = ("x86_64", "amd64", "i386", "i686", "x86")
#: this machine is x86-64 (where the micro-kernel is built and MXCSR holds the denormal flags)
X86_64 = platform.machine().lower() in ("x86_64", "amd64")


def has_fma(machine: str, features: set) -> bool:
    """Whether the target has fused multiply-add instructions.

    x86 names them in its feature list (``fma``, AMD's ``fma4``); AArch64
    (Apple silicon, Graviton, ...), POWER (VSX) and z/Architecture always
    have them, and LLVM lists no feature for it there.
    """
    machine = machine.lower()
    if machine in _X86_NAMES:
        return "fma" in features or "fma4" in features
    return machine.startswith(("aarch64", "arm64", "ppc64", "s390x")) or "fma" in features


_HAS_FMA = has_fma(platform.machine(), _FEATURES)


_OPAQUE_READY = "source_etype" in inspect.signature(ir.IRBuilder.gep).parameters  # llvmlite >= 0.44


def gep(builder, ptr, indices, etype):
    """``getelementptr`` with its element type stated (needed once pointers are opaque; older llvmlite
    versions, which have typed pointers only, take it from the pointer)."""
    if _OPAQUE_READY:
        return builder.gep(ptr, indices, source_etype=etype)
    return builder.gep(ptr, indices)


def load(builder, ptr, etype):
    """``load`` with its type stated (see :func:`gep`)."""
    if _OPAQUE_READY:
        return builder.load(ptr, typ=etype)
    return builder.load(ptr)


def emit_madd(builder, x, y, z):
    """LLVM IR for ``x * y + z`` (scalars or vectors of one float type).

    One ``llvm.fma`` (a single rounding) where the CPU has FMA, else a
    multiplication then an addition (``llvm.fma`` would be a slow library call
    there). The micro-kernel's products and the gate polynomials
    (:func:`sklstm._kernels._math.madd`) both go through it, so every path that
    must give the micro-kernel's bits (the one-row product loop) does.
    """
    if _HAS_FMA:
        t = x.type
        scalar = t.element if isinstance(t, ir.VectorType) else t
        suffix = "f32" if isinstance(scalar, ir.FloatType) else "f64"
        if isinstance(t, ir.VectorType):
            suffix = f"v{t.count}{suffix}"
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(t, [t] * 3), f"llvm.fma.{suffix}")
        return builder.call(fn, [x, y, z])
    return builder.fadd(builder.fmul(x, y), z)


def _make_ukernel(rows: int, groups: int):
    """Build the micro-kernel intrinsic for a tile of ``rows`` rows and ``groups`` panels.

    ``ukernel(K, a, sa_i, sa_k, b, ldb, pstride, c, ldc, cstride, mr, accumulate, like)``:
    ``a``, ``b``, ``c`` are addresses (int64) of the first element of A, B and C;
    strides are in elements. Vector ``v`` of a row reads B at ``(v // NV) * pstride +
    (v % NV) * VL`` and writes C at ``(v // NV) * cstride + (v % NV) * VL``. Rows
    ``>= mr`` read row ``mr - 1`` of A and are not stored. ``like`` is an array or a
    scalar of the element type. Addresses instead of arrays keep one compiled driver per dtype.
    """

    @intrinsic
    def ukernel(typingctx, K, a, sa_i, sa_k, b, ldb, pstride, c, ldc, cstride, mr, accumulate, like):
        sig = types.void(K, a, sa_i, sa_k, b, ldb, pstride, c, ldc, cstride, mr, accumulate, like)
        dtype = _element(like)

        def codegen(context, builder, signature, args):
            (K, a, sa_i, sa_k, b, ldb, pstride, c, ldc, cstride, mr, accumulate, _) = args
            fty = context.get_value_type(dtype)
            bits = 32 if dtype == types.float32 else 64
            vl = VECTOR_BYTES * 8 // bits
            vty = ir.VectorType(fty, vl)
            i64 = ir.IntType(64)
            align = bits // 8
            a0, b0, c0 = (builder.inttoptr(x, fty.as_pointer()) for x in (a, b, c))
            # rows past mr read the last valid row (never out of bounds) and are not stored
            last = builder.sub(mr, i64(1))
            row_of = [builder.select(builder.icmp_signed("<", i64(i), mr), i64(i), last) for i in range(rows)]
            arow = [gep(builder, a0, [builder.mul(r, sa_i)], fty) for r in row_of]
            nvec = NV * groups
            boff = [builder.add(builder.mul(i64(v // NV), pstride), i64(v % NV * vl)) for v in range(nvec)]
            coff = [builder.add(builder.mul(i64(v // NV), cstride), i64(v % NV * vl)) for v in range(nvec)]

            zero = ir.Constant(vty, None)
            undef = ir.Constant(vty, ir.Undefined)
            splat = ir.Constant(ir.VectorType(ir.IntType(32), vl), [0] * vl)
            entry = builder.block
            loop = builder.append_basic_block("uk.loop")
            done = builder.append_basic_block("uk.done")
            builder.cbranch(builder.icmp_signed(">", K, i64(0)), loop, done)

            builder.position_at_end(loop)
            k = builder.phi(i64)
            k.add_incoming(i64(0), entry)
            acc = []
            for _ in range(rows * nvec):
                p = builder.phi(vty)
                p.add_incoming(zero, entry)
                acc.append(p)
            bk = gep(builder, b0, [builder.mul(k, ldb)], fty)
            bv = []
            for v in range(nvec):
                addr = builder.bitcast(gep(builder, bk, [boff[v]], fty), vty.as_pointer())
                ld = load(builder, addr, vty)
                ld.align = align
                bv.append(ld)
            koff = builder.mul(k, sa_k)
            new = []
            for i in range(rows):
                s = load(builder, gep(builder, arow[i], [koff], fty), fty)
                sv = builder.shuffle_vector(builder.insert_element(undef, s, ir.Constant(ir.IntType(32), 0)),
                                            undef, splat)
                for v in range(nvec):
                    new.append(emit_madd(builder, sv, bv[v], acc[i * nvec + v]))
            k1 = builder.add(k, i64(1))
            end = builder.block
            k.add_incoming(k1, end)
            for p, x in zip(acc, new):
                p.add_incoming(x, end)
            builder.cbranch(builder.icmp_signed("<", k1, K), loop, done)

            builder.position_at_end(done)
            out = []
            for x in new:
                p = builder.phi(vty)
                p.add_incoming(zero, entry)
                p.add_incoming(x, end)
                out.append(p)
            for i in range(rows):
                with builder.if_then(builder.icmp_signed("<", i64(i), mr)):
                    crow = gep(builder, c0, [builder.mul(i64(i), ldc)], fty)
                    ptrs = [builder.bitcast(gep(builder, crow, [coff[v]], fty), vty.as_pointer())
                            for v in range(nvec)]
                    olds = [load(builder, ptr, vty) for ptr in ptrs]  # all loads before any store:
                    for ld in olds:  # vectors given the same place (strides 0) then store the same value
                        ld.align = align
                    for v in range(nvec):
                        val = out[i * nvec + v]
                        val = builder.select(accumulate, builder.fadd(olds[v], val), val)
                        builder.store(val, ptrs[v]).align = align
            return context.get_dummy_value()

        return sig, codegen

    return ukernel


_tile_kernel = _make_ukernel(MR, 1)
_row_kernel = _make_ukernel(1, ROW_GROUP)


def _element(like):
    """numba element type of ``like`` (an array or a scalar type)."""
    return like.dtype if isinstance(like, types.Array) else like


@intrinsic
def _addr(typingctx, x):
    """Address of the first element of array ``x`` as an int64."""

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        return builder.ptrtoint(data, ir.IntType(64))

    return types.int64(x), codegen


@intrinsic
def _ptr(typingctx, addr, like):
    """Typed pointer (indexable, element type of ``like``) at address ``addr``."""
    dtype = _element(like)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(dtype).as_pointer())

    return types.CPointer(dtype)(addr, like), codegen


@intrinsic
def _itemsize(typingctx, like):
    """Bytes per element of ``like``'s element type (a compile-time constant)."""
    dtype = _element(like)

    def codegen(context, builder, signature, args):
        return ir.Constant(ir.IntType(64), context.get_abi_sizeof(context.get_value_type(dtype)))

    return types.int64(like), codegen
