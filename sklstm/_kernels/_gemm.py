"""Matrix products with a register-blocked SIMD micro-kernel.

numba cannot keep a tile of accumulators in registers by itself: the
auto-vectorized loop of :func:`sklstm._kernels._ops.matmul` used to load and
store a row of the output for every few products, and ran at about a third
of BLAS. Here the innermost kernel is written directly in LLVM IR (a numba
``@intrinsic``): a tile of ``MR`` rows times ``NV`` SIMD vectors of the
output stays in vector registers while the inner dimension is walked, with
one vector load per vector of ``B``, one broadcast per row of ``A`` and one
fused multiply-add (``llvm.fma``) per accumulator. LLVM compiles the vector
type for the CPU numba targets: 512-bit registers with AVX-512, two 256-bit
halves with AVX2, and so on; the tile shape below is chosen so that the
accumulators fit the register file.

Every output element is ``fma(a[i, K-1], b[K-1, j], ... fma(a[i, 0], b[0,
j], 0))`` - one chain in the order of the inner index, the same whichever
kernel variant (tile, single row, edge panel) computes it. So a row of the
result never depends on how many other rows are in the product: the predict
path relies on this (a sequence's prediction does not depend on its batch).
Very long inner dimensions are cut into blocks of ``KC`` (a function of
``K`` only) whose partial sums are added in order.

The product itself (``_core``) is compiled once per dtype, when the dtype is
first used, as a C callback, and called through a function pointer from
:func:`gemm` and :func:`gemm_packed`, which only compute strides and
allocate scratch (and from :func:`pack_panels`, whose copy runs in it too). Linked in the usual way, its
unrolled tiles were re-optimized inside every kernel that multiplies
matrices, which doubled the cold compile time of the package.

The micro-kernel is built on x86-64. Elsewhere, with ``SKLSTM_GEMM=portable``,
or when its IR fails to compile (a RuntimeWarning), the slot points at
:func:`sklstm._kernels._portable._portable` instead: plain loops with the same per-element arithmetic,
bitwise equal results (tested), slower. ``KERNEL_IN_USE`` records which one
each dtype runs.
"""

import ctypes
import os
import threading
import warnings

import llvmlite.binding as llvm_binding
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core.ccallback import CFunc
from numba.core.sigutils import normalize_signature
from numba.extending import intrinsic

from ._jit import jit, kernel_cache
# the product's constants and IR helpers (re-exported: callers import them from here)
from ._microkernel import (  # noqa: F401
    KC, MR, NV, MC, PACK_ROWS, ROW_GROUP, ROW_KERNEL_MAX, VECTOR_BYTES, X86_64 as _X86, _FEATURES, _HAS_FMA,
    emit_madd, _tile_kernel, _row_kernel, _addr, _ptr, _itemsize, load)

__all__ = ["gemm", "gemm_packed", "packed", "pack_panels", "panel_width", "prepare", "VECTOR_BYTES", "MR"]


@jit(internal=True)
def panel_width(c):
    """Columns per panel (NV SIMD vectors) for ``c``'s element type (``c`` an array or a scalar)."""
    return NV * VECTOR_BYTES // _itemsize(c)


@jit(internal=True)
def _pack(b, ldb, K, j0, N, out, pstride, z):
    """Copy columns ``j0:N`` of B (K rows at address ``b``, row stride ``ldb``) into
    zero-padded panels of width NR at address ``out``, ``pstride`` elements apart."""
    nr = panel_width(z)
    src = _ptr(b, z)
    dst = _ptr(out, z)
    for p in range((N - j0 + nr - 1) // nr):
        c0 = j0 + p * nr
        w = min(nr, N - c0)
        for k in range(K):
            o = p * pstride + k * nr
            r = k * ldb + c0
            for j in range(w):
                dst[o + j] = src[r + j]
            for j in range(w, nr):
                dst[o + j] = 0


@jit(internal=True)
def pack_panels(b, out):
    """Copy ``b`` (K, N) into column panels ``out`` (P, K, NR), zero-padding the last one.

    The copy runs inside the compiled product (its ``PACK_ONLY`` mode), so
    the kernels that pack weights do not each carry, and re-optimize, a copy
    of the packing loops.

    Parameters
    ----------
    b : ndarray of shape (K, N)
        Rows must be contiguous (any row stride).
    out : ndarray of shape (ceil(N / NR), K, NR)
        C-contiguous; NR is :func:`panel_width`.
    """
    K, N = b.shape
    it = b.itemsize
    _call(out, 0, 0, 0, 0, K, _addr(b), b.strides[0] // it, PACK_ONLY, N, _addr(out), K * out.shape[2], False)


@jit(internal=True)
def _panels(K, a, sa_i, sa_k, M, b, ldb, pstride, n_panels, c, ldc, accumulate, z):
    """``C[:, :n_panels*NR] (+)= A @ B`` over whole panels; ``a``, ``b``, ``c`` are addresses."""
    it = _itemsize(z)
    nr = panel_width(z)
    for m0 in range(0, M, MC):  # a block of MC rows of A stays in L2 while the panels pass
        m1 = min(M, m0 + MC)
        for p in range(n_panels):
            for i0 in range(m0, m1, MR):
                mr = min(MR, m1 - i0)
                if mr > ROW_KERNEL_MAX:
                    _tile_kernel(K, a + i0 * sa_i * it, sa_i, sa_k, b + p * pstride * it, ldb, pstride,
                                 c + (i0 * ldc + p * nr) * it, ldc, nr, mr, accumulate, z)
    # the rows of a last block of at most ROW_KERNEL_MAX rows, one at a time, ROW_GROUP panels
    # per call; a remaining panel is computed by every group of the call (strides 0)
    first = M - M % MR if M % MR <= ROW_KERNEL_MAX else M
    for i in range(first, M):
        p = 0
        while p < n_panels:
            whole = p + ROW_GROUP <= n_panels
            _row_kernel(K, a + i * sa_i * it, sa_i, sa_k, b + p * pstride * it, ldb, pstride if whole else 0,
                        c + (i * ldc + p * nr) * it, ldc, nr if whole else 0, 1, accumulate, z)
            p += ROW_GROUP if whole else 1


@jit(internal=True)
def _core(a, sa_i, sa_k, M, K, b, ldb, mode, N, c, ldc, accumulate, work, z):
    """The whole product on addresses (compiled once per dtype as a C callback, see ``_call``).

    ``C (M, N) (+)= A (M, K) @ B (K, N)`` with ``A[i, k]`` at ``a + (i*sa_i + k*sa_k)``
    elements, B's rows ``ldb`` apart (``mode`` 0), or B already in panels (``mode`` 1, as
    :func:`pack_panels` lays them out), C's rows ``ldc`` apart. ``work`` holds
    :func:`_work_size` elements. Every path goes through the one call of
    :func:`_panels` below, so the micro-kernels are compiled once. With ``mode``
    ``PACK_ONLY`` it only packs B's columns from ``a`` on into panels at C, ``ldc``
    elements apart (:func:`pack_panels`).
    """
    if mode == PACK_ONLY:
        _pack(b, ldb, K, a, N, c, ldc, z)
        return
    packed_b = mode != 0
    it = _itemsize(z)
    nr = panel_width(z)
    full = N // nr
    j0 = full * nr
    w = N - j0
    # the last, partial panel of columns is computed into M x NR scratch rows, then copied
    tile = work
    buf = work + (M * nr * it if w else 0)
    # With many row blocks each block of B is read M / MR times: copy it into contiguous
    # panels first (row strides of B that are multiples of 4 KiB would otherwise alias in
    # the caches). With few rows only the edge panel is copied (its zero padding).
    pack_all = M >= PACK_ROWS and not packed_b
    kb = K if packed_b else KC
    ps = min(K, KC) * nr
    pc = _ptr(c, z)
    pt = _ptr(tile, z)
    for k0 in range(0, K, kb):
        kc = min(kb, K - k0)
        acc = accumulate or k0 > 0
        bk = b + k0 * ldb * it
        if packed_b:
            src, ld, pst = b, nr, K * nr
        else:
            if pack_all or w:
                _pack(bk, ldb, kc, 0 if pack_all else j0, N, buf, ps, z)
            src, ld, pst = (buf, nr, ps) if pack_all else (bk, ldb, nr)
        for part in range(2 if w else 1):
            if part == 0:  # the whole panels, straight into C
                pb, pld, n, pcc, pldc, pacc = src, ld, full, c, ldc, acc
            else:          # the last panel (zero-padded copy) into the scratch rows
                pb = src + full * pst * it if (packed_b or pack_all) else buf
                pld, n, pcc, pldc, pacc = nr, 1, tile, nr, False
            _panels(kc, a + k0 * sa_k * it, sa_i, sa_k, M, pb, pld, pst, n, pcc, pldc, pacc, z)
        if w:
            for i in range(M):
                r = i * ldc + j0
                t = i * nr
                if acc:
                    for j in range(w):
                        pc[r + j] += pt[t + j]
                else:
                    for j in range(w):
                        pc[r + j] = pt[t + j]


_CORE_SIG = types.void(*([types.int64] * 13))


#: ``mode`` of a call of the product that only packs B into panels at C (``ldc`` apart),
#: starting at column ``a`` (see :func:`pack_panels`)
PACK_ONLY = 2


def _core_f32(a, sa_i, sa_k, M, K, b, ldb, mode, N, c, ldc, accumulate, work):
    _core(a, sa_i, sa_k, M, K, b, ldb, mode, N, c, ldc, accumulate != 0, work, np.float32(0))


def _core_f64(a, sa_i, sa_k, M, K, b, ldb, mode, N, c, ldc, accumulate, work):
    _core(a, sa_i, sa_k, M, K, b, ldb, mode, N, c, ldc, accumulate != 0, work, np.float64(0))


# The kernels call the product through a function pointer, not by linking its code: numba
# re-optimizes every linked callee inside each caller, and the micro-kernel's unrolled tiles
# made every function that multiplies matrices slow to compile. A cached caller refers to the
# pointer's slot by symbol name (registered here, at import, before any caller is loaded) and
# loads the address from it at each call. The product for a dtype is compiled (or loaded from
# the cache) only when that dtype is first used: by :func:`prepare`, or failing that by the
# first call itself, through a trampoline the slot points to until then.
_DTYPES = (types.float32, types.float64)
_PY_CORES = (_core_f32, _core_f64)
_SLOT_SYMBOLS = {types.float32: "sklstm_gemm_core_slot_f32", types.float64: "sklstm_gemm_core_slot_f64"}
_SLOTS = np.zeros(len(_DTYPES), dtype=np.int64)
_COMPILED = {}
_PROTOTYPE = ctypes.CFUNCTYPE(None, *([ctypes.c_int64] * 13))


#: the product each dtype's slot points at once loaded: "microkernel" or "portable"
KERNEL_IN_USE = {}
_BUILT = {}


def requested_kernel() -> str:
    """The product asked for: ``SKLSTM_GEMM`` (``portable``, ``microkernel``), else by the CPU.

    The micro-kernel is built on x86-64 only (where benchmarks show it earns
    its place); elsewhere the portable loops run.
    """
    want = os.environ.get("SKLSTM_GEMM", "").strip().lower()
    if want in ("portable", "microkernel"):
        return want
    if want not in ("", "auto"):
        warnings.warn(f"SKLSTM_GEMM={want!r} is not one of 'auto', 'microkernel', 'portable'; using 'auto'.",
                      RuntimeWarning, stacklevel=2)
    return "microkernel" if _X86 else "portable"


def _compile_core(i: int, kind: str):
    """The compiled C callback of ``kind`` ("microkernel" or "portable") for ``_DTYPES[i]`` (cached)."""
    if (i, kind) not in _BUILT:
        from ._portable import PORTABLE_CORES  # imported here: it reads this module's packing helpers

        fn = (_PY_CORES if kind == "microkernel" else PORTABLE_CORES)[i]
        compiled = CFunc(fn, normalize_signature(_CORE_SIG), locals={},
                         options={"nopython": True, "error_model": "numpy"})
        compiled._cache = kernel_cache(fn)  # what cache=True does, keyed on every kernel file
        compiled.compile()
        _BUILT[i, kind] = compiled
    return _BUILT[i, kind]


def _load(i: int) -> int:
    """Compile (or load from the cache) the product for ``_DTYPES[i]``, point its slot at it.

    A micro-kernel that fails to compile (an LLVM or llvmlite it does not
    know) is a RuntimeWarning and the portable product, which gives the same
    results more slowly.
    """
    with _LOCK:
        if i not in _COMPILED:
            kind = requested_kernel()
            try:
                compiled = _compile_core(i, kind)
            except Exception as exc:
                if kind == "portable":
                    raise
                warnings.warn("sklstm: the matrix-product micro-kernel did not compile "
                              f"({type(exc).__name__}: {exc}); using the portable product (the same "
                              "results, slower). Set SKLSTM_GEMM=portable to skip the attempt, and "
                              "please report it with sklstm.show_versions().", RuntimeWarning, stacklevel=2)
                kind = "portable"
                compiled = _compile_core(i, kind)
            _SLOTS[i] = compiled.address
            _COMPILED[i] = compiled
            KERNEL_IN_USE[_DTYPES[i].name] = kind
    return _COMPILED[i].address


def _poison(i, args):
    """Fill the output of a product that could not run with NaN (never leave it unwritten)."""
    a, _, _, M, K, _, _, mode, N, c, ldc = args[:11]
    itemsize = 4 if i == 0 else 8
    nr = NV * VECTOR_BYTES // itemsize
    rows, width = (((N - a + nr - 1) // nr) if mode == PACK_ONLY else M,
                   ldc if mode == PACK_ONLY else N)
    nan = np.full(max(width, 0), np.nan, dtype=np.float32 if i == 0 else np.float64)
    step = ldc * itemsize
    for r in range(max(rows, 0)):
        ctypes.memmove(c + r * step, nan.ctypes.data, nan.nbytes)


def _trampoline(i: int):
    """C callback that compiles the product on its first use (a kernel called before :func:`prepare`).

    A C callback cannot raise: if no product compiles, the output is filled
    with NaN and a RuntimeWarning says why (:func:`prepare` raises the error).
    """

    def first_call(*args):
        _TRAMPOLINE_CALLS[i] += 1
        try:
            address = _load(i)
        except Exception as exc:
            _poison(i, args)
            warnings.warn(f"sklstm: the matrix product could not be compiled ({type(exc).__name__}: {exc}); "
                          "its output is NaN. sklstm.show_versions() describes this installation.",
                          RuntimeWarning, stacklevel=1)
            return
        _PROTOTYPE(address)(*args)

    return _PROTOTYPE(first_call)


_LOCK = threading.RLock()
_TRAMPOLINE_CALLS = [0] * len(_DTYPES)  # calls that had to compile: none from sklstm's own paths (tested)
_TRAMPOLINES = tuple(_trampoline(i) for i in range(len(_DTYPES)))
for _i, _dt in enumerate(_DTYPES):
    _SLOTS[_i] = ctypes.cast(_TRAMPOLINES[_i], ctypes.c_void_p).value
    llvm_binding.add_symbol(_SLOT_SYMBOLS[_dt], _SLOTS.ctypes.data + _i * _SLOTS.itemsize)
del _i, _dt


def prepare(dtype) -> None:
    """Compile (or load from the cache) the matrix product for ``dtype`` now.

    The kernels would do it on their first product anyway; calling this first
    keeps compilation (and any error in it) in ordinary Python code, out of a
    C callback.

    Parameters
    ----------
    dtype : numpy dtype
        ``float32`` or ``float64``; other dtypes are ignored (no kernel takes them).
    """
    i = _INDEX.get(dtype)
    if i is None:
        i = _INDEX.get(np.dtype(dtype))
    if i is not None and i not in _COMPILED:
        _load(i)


_INDEX = {np.dtype(numba.np.numpy_support.as_dtype(t)): i for i, t in enumerate(_DTYPES)}


@intrinsic
def _call(typingctx, work, a, sa_i, sa_k, M, K, b, ldb, packed_b, N, c, ldc, accumulate):
    """Call the compiled product for ``work``'s dtype through its slot (``work`` is the
    scratch array, passed as an array so that it stays alive through the call; any array
    of the dtype when ``packed_b`` is ``PACK_ONLY``)."""
    if not isinstance(work, types.Array) or work.dtype not in _SLOT_SYMBOLS:
        return None
    name = _SLOT_SYMBOLS[work.dtype]
    sig = types.void(work, a, sa_i, sa_k, M, K, b, ldb, packed_b, N, c, ldc, accumulate)

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        fnty = ir.FunctionType(ir.VoidType(), [i64] * 13)
        slot = builder.module.globals.get(name)
        if slot is None:
            slot = ir.GlobalVariable(builder.module, i64, name)  # external: resolved to _SLOTS
        fn = builder.inttoptr(load(builder, slot, i64), fnty.as_pointer())
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        vals = [context.cast(builder, v, t, types.int64) for v, t in zip(args[1:], signature.args[1:])]
        builder.call(fn, vals + [builder.ptrtoint(data, i64)])
        return context.get_dummy_value()

    return sig, codegen


@jit(internal=True)
def _work_size(M, K, N, nr, packed_b):
    """Scratch elements ``_core`` needs: rows for the last partial panel, and the copied panels of B."""
    rows = M * nr if N % nr else 0
    if packed_b:
        return rows
    panels = N // nr + 1 if M >= PACK_ROWS else 1 if N % nr else 0
    return rows + panels * min(K, KC) * nr


@jit(internal=True)
def gemm(a, trans_a, b, c, accumulate):
    """``c = op(a) @ b`` (or ``c += ...`` with ``accumulate``) in a fixed order.

    Parameters
    ----------
    a : ndarray of shape (M, K), or (K, M) when ``trans_a``
        Rows must be contiguous (any row stride).
    trans_a : bool
        Use ``a.T``.
    b : ndarray of shape (K, N)
        Rows must be contiguous (any row stride).
    c : ndarray of shape (M, N)
        Rows must be contiguous (any row stride).
    accumulate : bool
        Add to ``c`` instead of overwriting it.
    """
    M, N = c.shape
    K = b.shape[0]
    if M == 0 or N == 0:
        return
    if K == 0:
        if not accumulate:
            for i in range(M):
                for j in range(N):
                    c[i, j] = 0
        return
    it = c.itemsize
    lda = a.strides[0] // it
    sa_i, sa_k = (1, lda) if trans_a else (lda, 1)
    work = np.empty(_work_size(M, K, N, panel_width(c), False), dtype=c.dtype)
    _call(work, _addr(a), sa_i, sa_k, M, K, _addr(b), b.strides[0] // it, False, N, _addr(c),
          c.strides[0] // it, accumulate)


@jit(internal=True)
def packed(b):
    """``b`` (K, N) packed into new panels by :func:`pack_panels`."""
    K, N = b.shape
    nr = panel_width(b)
    out = np.empty(((N + nr - 1) // nr, K, nr), dtype=b.dtype)
    pack_panels(b, out)
    return out


@jit(internal=True)
def gemm_packed(a, bp, c, accumulate):
    """``c = a @ B`` (or ``c += ...``) with B packed once by :func:`packed` (products repeated every step).

    Parameters
    ----------
    a : ndarray of shape (M, K)
        Rows must be contiguous (any row stride).
    bp : ndarray of shape (P, K, NR)
        ``B`` (K, N) as packed by :func:`pack_panels`.
    c : ndarray of shape (M, N)
        Rows must be contiguous (any row stride).
    accumulate : bool
        Add to ``c`` instead of overwriting it.
    """
    M, N = c.shape
    K = bp.shape[1]
    if M == 0 or N == 0:
        return
    if K == 0:
        if not accumulate:
            for i in range(M):
                for j in range(N):
                    c[i, j] = 0
        return
    it = c.itemsize
    work = np.empty(_work_size(M, K, N, bp.shape[2], True), dtype=c.dtype)
    _call(work, _addr(a), a.strides[0] // it, 1, M, K, _addr(bp), bp.shape[2], True, N, _addr(c),
          c.strides[0] // it, accumulate)
