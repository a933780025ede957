"""The single-sequence prediction path: validated input to head output in the fewest Python steps.

Serving one sequence at a time (an API answering requests) spends most of a
``predict`` call outside the kernels: input checks, batching, sorting and
padding built for many sequences. :func:`single_sequence` recognises the
common case (one C-contiguous, writable ``(1, T, F)`` array of the model's
dtype, no padding, finite) with one compiled scan, and :func:`forward_one`
runs the network on it through the same driver calls as the batched
:func:`sklstm._objectives.forward`, so the result is bitwise the same
(tested); anything else goes the general way.
"""

from __future__ import annotations

import numpy as np

from . import _network as net
from ._kernels._fpenv import flush_denormals
from ._kernels.head import linear_forward
from ._kernels.scan import scan_padded
from ._sequences import writable

__all__ = ["single_sequence", "forward_one"]


def single_sequence(est, X):
    """``(X, lengths)`` when X is one clean, unpadded sequence the fast path takes, else None.

    None also for every input the general path must look at (lists, other
    dtypes, read-only or strided arrays, padding, NaN, wrong widths, token
    models, DataFrames, a GPU device): it validates them and raises its
    errors.
    """
    if type(X) is not np.ndarray or X.ndim != 3 or X.shape[0] != 1 or est.device != "cpu":
        return None
    spec = est._spec
    if (X.dtype != est.coefs_flat_.dtype or spec.vocab_size or not X.flags.c_contiguous
            or not X.flags.writeable or X.shape[1] == 0 or X.shape[2] != spec.n_features
            or hasattr(est, "feature_names_in_")):
        return None
    lengths = np.empty(1, dtype=np.int64)
    if scan_padded(X, lengths) >= 0 or lengths[0] != X.shape[1]:
        return None
    return X, lengths


def forward_one(spec, flat, X, sequences):
    """Head output for one unpadded sequence ``X`` of shape (1, T, F): ``(1, k)``, or ``(1, T, k)``.

    The same kernels, arguments and order as :func:`sklstm._objectives.forward`
    on a batch of one (so the same bits).
    """
    T = X.shape[1]
    flat = writable(flat)  # a memory-mapped model's read-only weights: a copy, as the batched path makes
    v = spec.views(flat)
    lens = np.full(1, T, dtype=np.int64)
    with flush_denormals():
        top, _, _ = net.stack_forward(net.Pass(spec, v, lens, use_blas=False), X.reshape(T, 1, X.shape[2]),
                                      net.zero_states(spec, 1, flat.dtype))
        if sequences:
            feat = np.ascontiguousarray(top[:, 0])
        else:
            feat = np.ascontiguousarray(net.gather_last(spec, top, np.zeros(1, dtype=np.intp), lens - 1))
        out = np.empty((feat.shape[0], spec.n_outputs), dtype=flat.dtype)
        linear_forward(feat, net.transposed(v["head.weight"]), v["head.bias"], out, False)
    return out[None] if sequences else out
