"""Every CUDA kernel launch the estimators make compiles with the real CUDA compiler (NVVM).

The simulator tests check what the kernels compute; this checks that the
real compiler accepts each kernel with the exact argument types the driver
passes (dtypes, dimensions, contiguity). It needs NVVM (``pip install
"numba-cuda[cu13]"`` or a CUDA toolkit), not a GPU, and is skipped without it.
"""

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(__file__)


def _env(simulator):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    if simulator:
        env["NUMBA_ENABLE_CUDASIM"] = "1"
    return env


def _missing_compiler():
    """Why the real CUDA compiler cannot run here (None when it can).

    numba's own, older CUDA target compiles a toy kernel without numba-cuda
    but then needs a CUDA driver for the real ones, so the probe needs the
    numba-cuda package first, then NVVM: a kernel with a shared array (as
    the matrix products use) must compile to PTX.
    """
    import importlib.util

    if importlib.util.find_spec("numba_cuda") is None:
        return "numba-cuda is not installed (pip install \"numba-cuda[cu13]\")"
    code = ("from numba import cuda, float32\n"
            "def f(a):\n    s = cuda.shared.array(4, float32)\n    s[0] = a[0]\n    a[0] = s[0]\n"
            "cuda.compile_ptx(f, (float32[:],), cc=(8, 0))\n")
    done = subprocess.run([sys.executable, "-c", code], env=_env(False), capture_output=True)
    return None if done.returncode == 0 else "NVVM (the CUDA compiler library) is not installed"


_MISSING = _missing_compiler()


@pytest.mark.skipif(_MISSING is not None, reason=str(_MISSING))
def test_every_kernel_signature_compiles_to_ptx(tmp_path):
    path = str(tmp_path / "signatures.pkl")
    script = os.path.join(HERE, "cuda_signatures.py")
    rec = subprocess.run([sys.executable, script, "record", path], env=_env(True), capture_output=True,
                         text=True)
    assert rec.returncode == 0, rec.stdout + rec.stderr
    assert "recorded" in rec.stdout and int(rec.stdout.split()[1]) > 50
    done = subprocess.run([sys.executable, script, "compile", path], env=_env(False), capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
