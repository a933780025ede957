"""The parameter layout of a recurrent network with a dense head (:class:`NetworkSpec`).

All trainable state lives in one flat vector. :class:`NetworkSpec` fixes the
architecture and :meth:`NetworkSpec.views` cuts the vector into named,
writable views whose names and shapes are those of a torch module holding an
``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` as ``rnn`` and an ``nn.Linear`` as
``head`` (``rnn.weight_ih_l0``, ``rnn.bias_hh_l1_reverse``, ``head.weight``,
...); see ``docs/CONTRACT.md`` for the layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["NetworkSpec", "CELL_GATES"]

#: number of gate blocks (rows of ``weight_ih`` per hidden unit) of each cell
CELL_GATES = {"lstm": 4, "lstm1997": 3, "gru": 3, "rnn": 1}


@dataclass(frozen=True)
class NetworkSpec:
    """Architecture of a recurrent network with a dense head.

    Parameters
    ----------
    cell : {"lstm", "lstm1997", "gru", "rnn"}
    n_features : int
        Features per timestep.
    hidden : tuple of int
        Hidden size of each stacked layer.
    bidirectional : bool
    n_outputs : int
        Width of the dense head.
    vocab_size : int, default=0
        With a positive value the network reads token ids through a learned
        embedding ``embedding.weight`` of shape ``(vocab_size, n_features)``
        (``n_features`` is then the embedding dimension); 0: no embedding,
        the input is ``n_features`` values per step.
    padding_idx : int, default=0
        The token id whose embedding row stays zero and gets no gradient
        (as ``torch.nn.Embedding(padding_idx=...)``).
    """

    cell: str
    n_features: int
    hidden: tuple
    bidirectional: bool
    n_outputs: int
    vocab_size: int = 0
    padding_idx: int = 0

    def to_dict(self) -> dict:
        """Plain values describing the architecture (for saved files)."""
        out = {"cell": self.cell, "n_features": self.n_features, "hidden": list(self.hidden),
               "bidirectional": self.bidirectional, "n_outputs": self.n_outputs}
        if self.vocab_size:
            out.update(vocab_size=self.vocab_size, padding_idx=self.padding_idx)
        return out

    @classmethod
    def from_dict(cls, d) -> "NetworkSpec":
        """Inverse of :meth:`to_dict`, checking every value (ValueError when malformed)."""
        keys = {"cell", "n_features", "hidden", "bidirectional", "n_outputs"}
        if not isinstance(d, dict) or set(d) not in (keys, keys | {"vocab_size", "padding_idx"}):
            raise ValueError("malformed network description")
        hidden = tuple(d["hidden"]) if isinstance(d["hidden"], (list, tuple)) else ()
        if not hidden or not all(isinstance(h, int) and not isinstance(h, bool) and 0 < h < 1_000_000
                                 for h in hidden):
            raise ValueError("bad hidden sizes")
        if not isinstance(d["cell"], str) or d["cell"] not in CELL_GATES:
            raise ValueError("bad cell")
        if not isinstance(d["bidirectional"], bool):
            raise ValueError("bad cell")
        for k in ("n_features", "n_outputs"):
            if not isinstance(d[k], int) or isinstance(d[k], bool) or not 0 < d[k] < 10_000_000:
                raise ValueError(f"bad {k}")
        vocab, pad = d.get("vocab_size", 0), d.get("padding_idx", 0)
        for k, val in (("vocab_size", vocab), ("padding_idx", pad)):
            if not isinstance(val, int) or isinstance(val, bool) or not 0 <= val < 100_000_000:
                raise ValueError(f"bad {k}")
        if vocab and pad >= vocab:
            raise ValueError("bad padding_idx")
        return cls(d["cell"], d["n_features"], hidden, d["bidirectional"], d["n_outputs"], vocab, pad)

    @property
    def n_dirs(self) -> int:
        """1, or 2 when bidirectional."""
        return 2 if self.bidirectional else 1

    @property
    def n_gates(self) -> int:
        """Gate blocks of the cell."""
        return CELL_GATES[self.cell]

    def input_size(self, layer: int) -> int:
        """Input width of ``layer``."""
        return self.n_features if layer == 0 else self.hidden[layer - 1] * self.n_dirs

    @property
    def head_size(self) -> int:
        """Width of the features the head reads."""
        return self.hidden[-1] * self.n_dirs

    @cached_property
    def entries(self) -> tuple:
        """``(name, shape, start, stop)`` of every parameter in the flat vector."""
        out = []
        pos = 0

        def add(name, shape):
            nonlocal pos
            size = int(np.prod(shape))
            out.append((name, tuple(shape), pos, pos + size))
            pos += size

        if self.vocab_size:
            add("embedding.weight", (self.vocab_size, self.n_features))
        for layer, h in enumerate(self.hidden):
            gh = self.n_gates * h
            for d in range(self.n_dirs):
                sfx = f"l{layer}" + ("_reverse" if d else "")
                add(f"rnn.weight_ih_{sfx}", (gh, self.input_size(layer)))
                add(f"rnn.weight_hh_{sfx}", (gh, h))
                add(f"rnn.bias_ih_{sfx}", (gh,))
                add(f"rnn.bias_hh_{sfx}", (gh,))
        add("head.weight", (self.n_outputs, self.head_size))
        add("head.bias", (self.n_outputs,))
        return tuple(out)

    @property
    def n_params(self) -> int:
        """Length of the flat parameter vector."""
        return self.entries[-1][3]

    def views(self, flat: np.ndarray) -> dict:
        """Named views (no copies) into ``flat``.

        The views of the last array asked for are kept (views follow in-place
        updates of ``flat``, so they never go stale); pickles leave them out.
        """
        last = self.__dict__.get("_views")
        if last is not None and last[0] is flat:
            return last[1]
        views = {name: flat[a:b].reshape(shape) for name, shape, a, b in self.entries}
        object.__setattr__(self, "_views", (flat, views))
        return views

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_views", None)
        return state

    def weight_mask(self) -> np.ndarray:
        """Boolean mask of the flat vector: True on weight matrices (L2 applies), False on biases."""
        mask = np.zeros(self.n_params, dtype=bool)
        for name, _, a, b in self.entries:
            if ".weight" in name:
                mask[a:b] = True
        return mask

    def init_params(self, rng: np.random.Generator, dtype) -> np.ndarray:
        """A new flat parameter vector.

        Input and head weights are Glorot-uniform per gate block, recurrent
        weights orthogonal per gate block, biases zero except the LSTM forget
        gate's ``bias_ih`` slice, set to 1 (Gers et al. 2000). An embedding is
        drawn from N(0, 1) (as ``torch.nn.Embedding``), its padding row zero.
        """
        flat = np.zeros(self.n_params, dtype=np.float64)
        v = self.views(flat)
        for layer, h in enumerate(self.hidden):
            d_in = self.input_size(layer)
            for d in range(self.n_dirs):
                sfx = f"l{layer}" + ("_reverse" if d else "")
                w_ih = v[f"rnn.weight_ih_{sfx}"]
                w_hh = v[f"rnn.weight_hh_{sfx}"]
                a = np.sqrt(6.0 / (d_in + h))
                for gi in range(self.n_gates):
                    w_ih[gi * h:(gi + 1) * h] = rng.uniform(-a, a, size=(h, d_in))
                    q, r = np.linalg.qr(rng.standard_normal((h, h)))
                    w_hh[gi * h:(gi + 1) * h] = q * np.sign(np.diag(r))
                if self.cell == "lstm":
                    v[f"rnn.bias_ih_{sfx}"][h:2 * h] = 1.0
        a = np.sqrt(6.0 / (self.head_size + self.n_outputs))
        v["head.weight"][:] = rng.uniform(-a, a, size=v["head.weight"].shape)
        if self.vocab_size:  # drawn last: a network without an embedding starts as it always did
            emb = v["embedding.weight"]
            emb[:] = rng.standard_normal(emb.shape)
            emb[self.padding_idx] = 0.0
        return flat.astype(dtype)
