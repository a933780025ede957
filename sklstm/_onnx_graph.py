"""ONNX graphs of sklstm networks, emitted into a skl2onnx container (see :mod:`sklstm.onnx`).

The recurrent stack uses ONNX's own ``LSTM`` / ``GRU`` / ``RNN`` operators,
one node per layer, time-major (``layout=0``: onnxruntime's CPU kernels
reject ``layout=1``), with ``sequence_lens`` computed inside the graph from
the padding: trailing all-NaN steps of float input, trailing ``padding_idx``
ids of token input (the rule of ``docs/CONTRACT.md``, "Input"). Weights are
reordered from torch's gate order (LSTM ``i f g o``, GRU ``r z n``) to
ONNX's (``i o f c``, ``z r h``), biases laid out ``[Wb, Rb]``; torch's GRU
is ``linear_before_reset=1``. The 1997 cell (no forget gate) is an ONNX
LSTM whose forget gate is held at exactly 1 (zero weights, bias 1e4:
``sigmoid(1e4)`` rounds to 1.0 in float32); tests check it against
:meth:`predict` over a thousand steps.

onnxruntime's LSTM runs in float32 only, so graphs compute in float32 (a
float64 model's weights are rounded once at export).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Graph", "emit_network"]

#: torch gate blocks in ONNX's order
_ONNX_GATES = {"lstm": (0, 3, 1, 2), "gru": (1, 0, 2), "rnn": (0,)}
_OP = {"lstm": "LSTM", "lstm1997": "LSTM", "gru": "GRU", "rnn": "RNN"}
#: a forget-gate pre-activation whose sigmoid is exactly 1.0 in float32 (1997 cell)
_FORGET_ONE = 1e4


class Graph:
    """Small helper over skl2onnx's ``scope`` and ``container``: named constants and nodes."""

    def __init__(self, scope, container):
        from onnx import TensorProto

        self.scope, self.container = scope, container
        self.opset = container.target_opset or 14
        self._types = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE,
                       np.dtype(np.int64): TensorProto.INT64, np.dtype(np.int32): TensorProto.INT32,
                       np.dtype(bool): TensorProto.BOOL}
        self.FLOAT, self.INT64, self.INT32 = TensorProto.FLOAT, TensorProto.INT64, TensorProto.INT32

    def const(self, seed, value, dtype=np.float32):
        """An initializer holding ``value`` (strings: a string tensor)."""
        from onnx import TensorProto

        name = self.scope.get_unique_variable_name(seed)
        a = np.asarray(value)
        if a.dtype.kind in "US":
            self.container.add_initializer(name, TensorProto.STRING, list(a.shape),
                                           [s.encode("utf-8") for s in a.astype(str).ravel()])
            return name
        a = a.astype(dtype)
        self.container.add_initializer(name, self._types[a.dtype], list(a.shape), a.ravel().tolist())
        return name

    def op(self, op_type, inputs, out=None, n_out=1, **attrs):
        """Add a node; returns its output name (or names when ``n_out > 1`` or ``out`` is a list)."""
        if out is None:
            out = [self.scope.get_unique_variable_name(op_type.lower()) for _ in range(n_out)]
        outs = out if isinstance(out, list) else [out]
        self.container.add_node(op_type, inputs, outs, name=self.scope.get_unique_operator_name(op_type),
                                **attrs)
        return outs if isinstance(out, list) and (n_out > 1 or len(outs) > 1) else outs[0]

    def reduce(self, op_type, x, axis, keepdims=0):
        """``ReduceMin`` / ``ReduceMax`` over one axis, in the target opset's form (axes an input from 18)."""
        if self.opset >= 18:
            return self.op(op_type, [x, self.const("axes", [axis], np.int64)], keepdims=keepdims)
        return self.op(op_type, [x], axes=[axis], keepdims=keepdims)

    def unsqueeze(self, x, axis):
        """``Unsqueeze`` with the axes as an input (opset >= 13)."""
        return self.op("Unsqueeze", [x, self.const("axes", [axis], np.int64)])

    def reshape(self, x, shape):
        """``Reshape`` to ``shape`` (0 keeps a dimension, -1 infers one)."""
        return self.op("Reshape", [x, self.const("shape", shape, np.int64)])

    def cast(self, x, to):
        """``Cast`` to an ONNX element type."""
        return self.op("Cast", [x], to=to)


def _lengths_from_valid(g, valid, x):
    """Lengths (int32, int64, float) from a float (N, T) mask of non-padding steps: one past the last one."""
    T = g.op("Gather", [g.op("Shape", [x]), g.const("one", 1, np.int64)], axis=0)
    limit = g.op("Add", [g.cast(T, g.FLOAT), g.const("one", 1.0)])
    steps = g.op("Range", [g.const("start", 1.0), limit, g.const("delta", 1.0)])
    last = g.reduce("ReduceMax", g.op("Mul", [valid, steps]), axis=1)
    return g.cast(last, g.INT32), g.cast(last, g.INT64), last, steps


def emit_input(g, spec, v, x, rank, dtype_in):
    """Padded input -> (time-major float32 steps, int32 lengths, int64 lengths, bad rows).

    ``rank`` 2 float input is tabular rows (one step each); token input is
    ``(N, T)`` ids. ``bad`` (bool ``(N,)``) marks the rows sklstm's
    ``predict`` would refuse: no valid step, or NaN/inf inside the
    sequence (before its trailing all-NaN padding); their outputs become NaN.
    """
    if spec.vocab_size:
        ids = x if rank == 2 else g.reshape(x, [0, -1])
        pad = g.const("padding_idx", spec.padding_idx, np.int64)
        valid = g.cast(g.op("Not", [g.op("Equal", [ids, pad])]), g.FLOAT)
        L32, L64, _, _ = _lengths_from_valid(g, valid, ids)
        bad = g.op("Equal", [L64, g.const("zero", 0, np.int64)])
        emb = g.const("embedding", v["embedding.weight"])
        steps = g.op("Gather", [emb, ids], axis=0)
    else:
        if dtype_in != g.FLOAT:
            x = g.cast(x, g.FLOAT)
        if rank == 2:
            x = g.unsqueeze(x, 1)
        nan = g.op("IsNaN", [x])
        all_nan = g.reduce("ReduceMin", g.cast(nan, g.FLOAT), axis=2)
        valid = g.op("Sub", [g.const("one", 1.0), all_nan])
        L32, L64, Lf, steps1 = _lengths_from_valid(g, valid, x)
        nonfinite = g.op("Or", [nan, g.op("IsInf", [x])])
        any_bad = g.reduce("ReduceMax", g.cast(nonfinite, g.FLOAT), axis=2)  # (N, T)
        inside = g.cast(g.op("LessOrEqual", [g.unsqueeze(steps1, 0), g.unsqueeze(Lf, 1)]), g.FLOAT)
        bad_steps = g.reduce("ReduceMax", g.op("Mul", [any_bad, inside]), axis=1)
        bad = g.op("Or", [g.op("Greater", [bad_steps, g.const("zero", 0.0)]),
                          g.op("Equal", [L64, g.const("zero", 0, np.int64)])])
        steps = g.op("Where", [nan, g.const("zero", 0.0), x])
    return g.op("Transpose", [steps], perm=[1, 0, 2]), L32, L64, bad


def _layer_weights(spec, v, layer):
    """ONNX ``W``, ``R``, ``B`` of one layer (both directions), float32."""
    cell, h = spec.cell, spec.hidden[layer]
    Ws, Rs, Bs = [], [], []
    for d in range(spec.n_dirs):
        sfx = f"l{layer}" + ("_reverse" if d else "")
        w, r = v[f"rnn.weight_ih_{sfx}"], v[f"rnn.weight_hh_{sfx}"]
        bi, bh = v[f"rnn.bias_ih_{sfx}"], v[f"rnn.bias_hh_{sfx}"]
        if cell == "lstm1997":  # i g o -> i o f c with f held at 1
            def blocks(a, forget=0.0):
                f = np.full_like(a[:h], forget)
                return np.concatenate([a[:h], a[2 * h:3 * h], f, a[h:2 * h]])
            Ws.append(blocks(w)), Rs.append(blocks(r))
            Bs.append(np.concatenate([blocks(bi, _FORGET_ONE), blocks(bh)]))
            continue
        order = _ONNX_GATES[cell]

        def blocks(a):
            return np.concatenate([a[k * h:(k + 1) * h] for k in order])
        Ws.append(blocks(w)), Rs.append(blocks(r)), Bs.append(np.concatenate([blocks(bi), blocks(bh)]))
    return (np.stack(Ws).astype(np.float32), np.stack(Rs).astype(np.float32),
            np.stack(Bs).astype(np.float32))


def emit_stack(g, spec, v, x, L32, sequences):
    """The recurrent layers; returns the top features: ``(N, D)`` h_n, or ``(N, T, D)`` every step."""
    for layer, h in enumerate(spec.hidden):
        W, R, B = _layer_weights(spec, v, layer)
        attrs = {"hidden_size": h, "direction": "bidirectional" if spec.bidirectional else "forward"}
        if spec.cell == "gru":
            attrs["linear_before_reset"] = 1
        last = layer == len(spec.hidden) - 1
        inputs = [x, g.const("W", W), g.const("R", R), g.const("B", B), L32]
        Y, Y_h = g.op(_OP[spec.cell], inputs, n_out=2, **attrs)
        if last and not sequences:
            return g.reshape(g.op("Transpose", [Y_h], perm=[1, 0, 2]), [0, -1])  # (N, dirs*H)
        if last:
            return g.reshape(g.op("Transpose", [Y], perm=[2, 0, 1, 3]), [0, 0, -1])  # (N, T, dirs*H)
        x = g.reshape(g.op("Transpose", [Y], perm=[0, 2, 1, 3]), [0, 0, -1])  # (T, N, dirs*H)


def emit_head(g, v, feats):
    """``feats @ head.weight.T + head.bias`` (2D or 3D features)."""
    w = g.const("head_weight_t", np.ascontiguousarray(v["head.weight"].T))
    return g.op("Add", [g.op("MatMul", [feats, w]), g.const("head_bias", v["head.bias"])])


def mask_padding(g, out, L64, fill):
    """Steps at or past each sequence's length of ``(N, T, k)`` set to ``fill`` (a constant name)."""
    T = g.op("Gather", [g.op("Shape", [out]), g.const("one", 1, np.int64)], axis=0)
    idx = g.op("Range", [g.const("start", 0, np.int64), T, g.const("delta", 1, np.int64)])
    mask = g.op("Less", [g.unsqueeze(idx, 0), g.unsqueeze(L64, 1)])  # (N, T)
    return g.op("Where", [g.unsqueeze(mask, 2), out, fill])


def emit_network(g, spec, flat, x, rank, dtype_in, *, sequences=False, head=True):
    """Input variable -> network output (head logits, or top features with ``head=False``).

    Returns
    -------
    out : str
        ``(N, k)`` or, with ``sequences``, ``(N, T, k)`` float32 (padding
        steps NaN; every value NaN for a row with no valid step or with
        NaN/inf inside it, which sklstm's ``predict`` refuses).
    lengths : str
        int64 ``(N,)`` lengths.
    """
    if spec.cell not in _OP:
        raise ValueError(f"cell={spec.cell!r} has no ONNX operator.")
    v = spec.views(flat)
    steps, L32, L64, bad = emit_input(g, spec, v, x, rank, dtype_in)
    out = emit_stack(g, spec, v, steps, L32, sequences)
    if head:
        out = emit_head(g, v, out)
    nan = g.const("nan", np.nan)
    if sequences:
        out = mask_padding(g, out, L64, nan)
    bad = g.unsqueeze(bad, 1)
    return g.op("Where", [g.unsqueeze(bad, 2) if sequences else bad, nan, out]), L64
