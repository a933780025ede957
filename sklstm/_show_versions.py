"""``sklstm.show_versions()``: what this installation runs on, for bug reports (as scikit-learn's)."""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

__all__ = ["show_versions"]

_PACKAGES = ("sklstm", "numpy", "numba", "llvmlite", "scikit-learn", "scipy", "tqdm", "threadpoolctl")
_OPTIONAL = ("numba-cuda", "onnx", "onnxruntime", "skl2onnx", "dask", "distributed", "torch", "matplotlib",
             "skops")
#: CPU features that decide which code sklstm's kernels run
_RELEVANT = ("sse4.2", "avx", "avx2", "fma", "fma4", "avx512f", "avx512vl", "neon", "sve", "vsx")


def _version(name):
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _cache_dir():
    """Where numba writes the kernels' compiled code."""
    from ._kernels import _jit

    override = os.environ.get("NUMBA_CACHE_DIR")
    if override:
        return os.path.abspath(override)
    try:
        return _jit.kernel_cache(_jit.sources_stamp)._cache_path
    except Exception as exc:  # pragma: no cover - numba's locator found no writable place
        return f"unavailable ({exc})"


def _info() -> dict:
    """The report as nested dicts of strings (what :func:`show_versions` prints)."""
    import numba
    from llvmlite import binding as llvm

    from ._kernels import _fpenv, _gemm
    from ._kernels._microkernel import _FEATURES, _HAS_FMA, VECTOR_BYTES

    system = {"python": sys.version.replace("\n", " "), "executable": sys.executable,
              "machine": platform.platform()}
    deps = {name: _version(name) or "not installed" for name in _PACKAGES}
    deps.update({name: v for name in _OPTIONAL if (v := _version(name))})
    features = [f for f in _RELEVANT if f in _FEATURES]
    cpu = {"name": llvm.get_host_cpu_name(),
           "features": " ".join(features) or "none of " + ", ".join(_RELEVANT),
           "fma": "yes" if _HAS_FMA else "no"}
    requested = _gemm.requested_kernel()
    if requested == "microkernel":
        product = f"micro-kernel, {VECTOR_BYTES * 8}-bit vectors, {'FMA' if _HAS_FMA else 'no FMA'}"
    else:
        product = "portable"
    loaded = ", ".join(f"{k}: {v}" for k, v in sorted(_gemm.KERNEL_IN_USE.items())) or "none loaded yet"
    flush = "MXCSR FTZ/DAZ" if _fpenv._X86 else "FPCR.FZ" if _fpenv._AARCH64 else "not available"
    kernels = {"matrix product": product, "loaded": loaded,
               "SKLSTM_GEMM": os.environ.get("SKLSTM_GEMM", "(unset: auto)"), "flush denormals": flush,
               "numba cache": _cache_dir()}
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        affinity = os.cpu_count()
    default = f"(unset: {numba.config.NUMBA_NUM_THREADS})"
    threads = {"numba threads": str(numba.get_num_threads()),
               "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS", default),
               "threading layer": str(numba.config.THREADING_LAYER), "CPUs usable": str(affinity),
               "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "(unset)")}
    return {"System": system, "Python dependencies": deps, "CPU": cpu, "Kernels": kernels, "Threads": threads}


def show_versions():
    """Print the versions, CPU, matrix-product kernel, numba cache and thread counts of this installation.

    Paste its output into bug reports. Prints Python's, numpy's, numba's,
    llvmlite's and scikit-learn's versions (and the optional packages that
    are installed), the CPU's name and the features that decide the kernels,
    which matrix product runs (the micro-kernel and its instruction set, or
    ``portable``), where numba caches the compiled kernels, and the thread
    counts.

    Examples
    --------
    >>> import sklstm
    >>> sklstm.show_versions()  # doctest: +ELLIPSIS
    <BLANKLINE>
    System:
    ...
    matrix product: ...
    ...
    """
    for section, values in _info().items():
        print(f"\n{section}:")
        width = max(len(k) for k in values)
        for key, value in values.items():
            print(f"{key:>{width}}: {value}")
