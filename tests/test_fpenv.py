"""Denormals are flushed to zero while the kernels run, and only then."""

import numba
import numpy as np
import pytest

from conftest import make_batch, make_params
from driver import forward, loss_and_grad
from sklstm import _network
from sklstm._kernels import _fpenv
from sklstm._network import NetworkSpec
from sklstm._objectives import RecurrentObjective, batch_parts

pytestmark = pytest.mark.skipif(not _fpenv._X86, reason="MXCSR exists on x86-64 only")

_mul = numba.njit(lambda a, b: a * b)
# the control bits of MXCSR (the low six are sticky exception flags any float operation may set)
_mxcsr = numba.njit(lambda: _fpenv._mxcsr_get() & ~0x3F)
TINY = np.float32(1e-38)


def test_flush_inside_the_block_and_restored_after():
    before = _mxcsr()
    assert _mul(TINY, np.float32(0.01)) > 0  # denormal result kept outside
    with _fpenv.flush_denormals():
        assert _mxcsr() & _fpenv._FTZ_DAZ == _fpenv._FTZ_DAZ
        assert _mul(TINY, np.float32(0.01)) == 0
        assert _mul(np.float32(1e-39), np.float32(1e30)) == 0  # denormal input read as zero
    assert _mxcsr() == before
    assert _mul(TINY, np.float32(0.01)) > 0


def test_restored_after_an_exception():
    before = _mxcsr()
    with pytest.raises(RuntimeError):
        with _fpenv.flush_denormals():
            raise RuntimeError("boom")
    assert _mxcsr() == before


@pytest.mark.parametrize("n_threads", [1, 2])
def test_training_and_prediction_kernels_run_flushed(monkeypatch, n_threads, rng):
    seen = []
    real_train, real_stack = RecurrentObjective._part_loss_and_grad, _network.stack_forward

    def spy_train(*args, **kw):
        seen.append(_mxcsr() & _fpenv._FTZ_DAZ)
        return real_train(*args, **kw)

    def spy_stack(*args, **kw):
        seen.append(_mxcsr() & _fpenv._FTZ_DAZ)
        return real_stack(*args, **kw)

    monkeypatch.setattr(RecurrentObjective, "_part_loss_and_grad", spy_train)
    spec = NetworkSpec("lstm", 3, (4,), False, 1)
    flat = make_params(spec, rng, np.float32)
    X, L, _ = make_batch(rng, [5] * 64, 3, np.float32)  # two parts (batch_parts)
    before = _mxcsr()
    loss_and_grad(spec, flat, np.empty_like(flat), X, L, np.zeros((64, 1)), np.ones(64), "squared_error",
                  n_threads=n_threads)
    monkeypatch.setattr(_network, "stack_forward", spy_stack)
    forward(spec, flat, X, L, batch_size=16, n_threads=n_threads)
    assert len(seen) == len(batch_parts(L)) + 4 == 6 and all(s == _fpenv._FTZ_DAZ for s in seen)
    assert _mxcsr() == before


def test_aarch64_fpcr_code_assembles():
    """The AArch64 branch (FPCR.FZ) builds valid code: its IR compiled for an AArch64 target."""
    import llvmlite.binding as llvm
    from llvmlite import ir

    try:
        llvm.initialize_all_targets()
        llvm.initialize_all_asmprinters()
        machine = llvm.Target.from_triple("aarch64-unknown-linux-gnu").create_target_machine()
    except RuntimeError as exc:
        pytest.skip(f"this llvmlite has no AArch64 target: {exc}")
    module = ir.Module("fpcr")
    module.triple = "aarch64-unknown-linux-gnu"
    fn = ir.Function(module, ir.FunctionType(ir.IntType(64), [ir.IntType(64)]), "enable")
    builder = ir.IRBuilder(fn.append_basic_block())
    old = _fpenv.emit_control_get(builder, True)
    _fpenv.emit_control_set(builder, builder.or_(old, fn.args[0]), True)
    builder.ret(old)
    asm = machine.emit_assembly(llvm.parse_assembly(str(module)))
    assert "mrs" in asm and "msr" in asm and "FPCR" in asm.upper()
    assert _fpenv._FPCR_FZ == 1 << 24
