"""sklstm.show_versions() and ``python -m sklstm versions``: what a bug report needs."""

import subprocess
import sys
from importlib.metadata import version

import numba
import numpy as np

import sklstm


def test_show_versions_names_versions_cpu_kernel_cache_and_threads(capsys, monkeypatch):
    monkeypatch.setenv("SKLSTM_GEMM", "portable")
    sklstm.show_versions()
    out = capsys.readouterr().out
    for package in ("numpy", "numba", "llvmlite", "scikit-learn"):
        assert f"{package}: {version(package)}" in out
    assert f"numba threads: {numba.get_num_threads()}" in out
    assert "matrix product: portable" in out
    for key in ("python:", "name:", "features:", "numba cache:", "flush denormals:", "CPUs usable:"):
        assert key in out
    monkeypatch.setenv("SKLSTM_GEMM", "microkernel")
    sklstm.show_versions()
    assert "matrix product: micro-kernel, " in capsys.readouterr().out


def test_loaded_products_are_reported(capsys):
    from sklstm._kernels import _gemm

    _gemm.prepare(np.float32)
    sklstm.show_versions()
    assert f"float32: {_gemm.KERNEL_IN_USE['float32']}" in capsys.readouterr().out


def test_command_line():
    out = subprocess.run([sys.executable, "-m", "sklstm", "versions"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert f"sklstm: {sklstm.__version__}" in out.stdout and "matrix product:" in out.stdout
