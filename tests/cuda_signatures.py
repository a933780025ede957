"""Type-check every CUDA kernel launch with the real compiler, without a GPU.

The CUDA simulator runs kernels as Python, so it cannot catch a typing or
layout error that the real compiler would reject. This script closes that
gap in two steps, each in its own process:

``python tests/cuda_signatures.py record FILE``
    Under the simulator, runs GPU fits and predictions that cover every cell,
    direction, dtype, loss and option, and records the argument types of
    every kernel launch (as numba types) into FILE. The kernels are not
    executed (types depend only on the host code), so this takes seconds;
    the simulator tests check what they compute.
``python tests/cuda_signatures.py compile FILE``
    Without the simulator, compiles each recorded (kernel, signature) to PTX
    with NVVM (only the CUDA compiler library is needed, not a GPU or a
    driver) and reports failures.

``tests/test_cuda_compile.py`` runs both when NVVM is installed.
"""

import importlib
import os
import pickle
import sys
import warnings

from sklstm._spec import CELL_GATES


def record(path):
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
    sys.setswitchinterval(1e-4)
    import numba
    import numpy as np
    from numba.cuda.simulator import kernel as simkernel
    from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray

    seen = set()
    original = simkernel.FakeCUDAKernel.__call__

    def typed(arg):
        if isinstance(arg, FakeCUDAArray):
            arg = arg._ary
        return numba.typeof(arg)

    def spy(self, *args):
        if self._device or simkernel._kernel_context:
            return original(self, *args)
        seen.add((self.fn.__module__, self.fn.__name__, tuple(typed(a) for a in args)))

    simkernel.FakeCUDAKernel.__call__ = spy
    from sklstm import LSTMClassifier, LSTMRegressor
    from sklstm._backend import CudaBackend

    step = CudaBackend.device_step
    # nothing is computed, so report every step as a good one and let the fit run all its launches
    CudaBackend.device_step = lambda self, batch, key=0: (step(self, batch, key), (0.0, "ok"))[1]

    def predict(est, X):
        Xp, lengths = est._validate_X(X, reset=False)
        est._raw_output(Xp, lengths)
        est._forward(Xp, lengths, head=False)

    rng = np.random.default_rng(0)
    X = [rng.standard_normal((L, 2)) for L in (3, 2, 4, 1, 4, 2)]
    ycls = np.array([0, 1, 2, 0, 1, 2])
    ybin = np.array([0, 1, 1, 0, 1, 0])
    ymulti = rng.integers(0, 2, (6, 2))
    yreg = rng.standard_normal(6)
    yseq = [np.cumsum(x[:, :1], axis=0) for x in X]
    common = dict(max_iter=1, batch_size=3, random_state=0, device="cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for dtype in ("float32", "float64"):
            for cell in CELL_GATES:
                for extra in (dict(hidden_layer_sizes=(3,), solver="sgd", alpha=0.1, clip_value=0.5),
                              dict(hidden_layer_sizes=(3, 2), bidirectional=True, dropout=0.2,
                                   solver="rmsprop")):
                    predict(LSTMClassifier(cell=cell, dtype=dtype, **common, **extra).fit(X, ycls), X)
            predict(LSTMClassifier(dtype=dtype, **common).fit(X, ybin), X)
            predict(LSTMClassifier(dtype=dtype, **common).fit(X, ymulti), X)
            LSTMRegressor(dtype=dtype, early_stopping=True, validation_fraction=0.34, **common).fit(X, yreg)
            predict(LSTMRegressor(dtype=dtype, return_sequences=True, bptt_steps=2, **common).fit(X, yseq), X)
    with open(path, "wb") as fh:
        pickle.dump(sorted(seen, key=repr), fh)
    print(f"recorded {len(seen)} kernel signatures")


def compile_all(path):
    os.environ.pop("NUMBA_ENABLE_CUDASIM", None)
    from numba import cuda

    with open(path, "rb") as fh:
        seen = pickle.load(fh)
    failures = []
    for module, name, sig in seen:
        func = getattr(importlib.import_module(module), name).py_func
        try:
            cuda.compile_ptx(func, sig, cc=(8, 0))
        except Exception as exc:  # noqa: BLE001 - report them all
            failures.append(f"{module}.{name}{sig}: {type(exc).__name__}: {str(exc)[:2000]}")
    print(f"compiled {len(seen) - len(failures)} of {len(seen)} kernel signatures")
    for f in failures:
        print("FAILED", f)
    return 1 if failures else 0


if __name__ == "__main__":
    mode, path = sys.argv[1], sys.argv[2]
    sys.exit(record(path) if mode == "record" else compile_all(path))
