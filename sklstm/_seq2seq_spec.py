"""The parameter layout of an encoder-decoder (:class:`Seq2SeqSpec`).

An encoder (token embedding + recurrent stack, or none for a feature-vector
source), a bridge (dense layers from the encoder's final states, or from
the feature vector, to the decoder's initial states), a decoder (target
embedding + recurrent stack), optional dot-product attention and the
output layer, in one flat vector whose views are named as the
``state_dict`` of a plain torch module: ``encoder.embedding.weight``,
``encoder.rnn.weight_ih_l0``, ``bridge.h_l0.weight``,
``decoder.rnn.weight_hh_l0``, ``attention.combine.weight``,
``head.weight``, ... (see ``docs/CONTRACT.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ._network import has_cell_state
from ._spec import CELL_GATES, NetworkSpec

__all__ = ["Seq2SeqSpec"]


@dataclass(frozen=True)
class Seq2SeqSpec:
    """Architecture of an encoder-decoder; the layout of its flat parameter vector.

    Parameters
    ----------
    cell : {"lstm", "lstm1997", "gru", "rnn"}
        Cell of both recurrent stacks.
    hidden : tuple of int
        Hidden sizes of the layers, the same for the encoder and the decoder.
    bidirectional : bool
        Bidirectional encoder (the decoder runs forward only).
    source_vocab : int
        Source vocabulary (0: the source is a feature vector).
    source_width : int
        Source embedding dimension, or the number of features.
    target_vocab : int
        Target vocabulary, ``<pad>``, ``<bos>`` and ``<eos>`` included.
    embedding_dim : int
        Target embedding dimension.
    attention : bool
        Luong dot-product attention over the encoder outputs.
    bos, eos : int
        Ids of the target's start and end marks.
    """

    cell: str
    hidden: tuple
    bidirectional: bool
    source_vocab: int
    source_width: int
    target_vocab: int
    embedding_dim: int
    attention: bool
    bos: int
    eos: int

    # ------------------------------------------------------------------ parts
    @property
    def features(self) -> bool:
        """Whether the source is a feature vector (no encoder network)."""
        return self.source_vocab == 0

    @cached_property
    def encoder(self):
        """The encoder's :class:`NetworkSpec` (its head is not part of the layout), or None."""
        if self.features:
            return None
        return NetworkSpec(self.cell, self.source_width, self.hidden, self.bidirectional, 1,
                           self.source_vocab, 0)

    @cached_property
    def decoder(self) -> NetworkSpec:
        """The decoder's :class:`NetworkSpec`; its head is the output layer."""
        return NetworkSpec(self.cell, self.embedding_dim, self.hidden, False, self.target_vocab,
                           self.target_vocab, 0)

    @property
    def has_cell_state(self) -> bool:
        """Whether the cell carries a ``c`` state besides ``h``."""
        return has_cell_state(self.cell)

    @property
    def bridged(self) -> bool:
        """Whether dense layers map the encoder's states (or the features) to the decoder's."""
        return self.features or self.bidirectional

    def bridge_input(self, layer) -> int:
        """Width of what the bridge of ``layer`` reads."""
        return self.source_width if self.features else self.hidden[layer] * self.encoder.n_dirs

    @property
    def memory_width(self) -> int:
        """Width of one encoder output (what attention reads)."""
        return self.hidden[-1] * (2 if self.bidirectional else 1)

    @property
    def keyed(self) -> bool:
        """Whether attention projects the encoder outputs to the decoder's width first."""
        return self.attention and self.memory_width != self.hidden[-1]

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

        if not self.features:
            for name, shape, _, _ in self.encoder.entries:
                if not name.startswith("head."):
                    add("encoder." + name, shape)
        if self.bridged:
            for k, h in enumerate(self.hidden):
                for s in ("h", "c") if self.has_cell_state else ("h",):
                    add(f"bridge.{s}_l{k}.weight", (h, self.bridge_input(k)))
                    add(f"bridge.{s}_l{k}.bias", (h,))
        for name, shape, _, _ in self.decoder.entries:
            if not name.startswith("head."):
                add("decoder." + name, shape)
        H = self.hidden[-1]
        if self.attention:
            if self.keyed:
                add("attention.key.weight", (H, self.memory_width))
            add("attention.combine.weight", (H, self.memory_width + H))
            add("attention.combine.bias", (H,))
        add("head.weight", (self.target_vocab, H))
        add("head.bias", (self.target_vocab,))
        return tuple(out)

    @property
    def n_params(self) -> int:
        """Length of the flat parameter vector."""
        return self.entries[-1][3]

    def views(self, flat) -> dict:
        """Named views (no copies) into ``flat``, keyed as the torch module's ``state_dict``."""
        return {name: flat[a:b].reshape(shape) for name, shape, a, b in self.entries}

    @staticmethod
    def part(v, prefix) -> dict:
        """The views of one stack, ``prefix`` removed (what the driver of :mod:`sklstm._network` reads)."""
        n = len(prefix)
        return {k[n:]: a for k, a in v.items() if k.startswith(prefix)}

    def weight_mask(self) -> np.ndarray:
        """True on weight matrices (where the L2 penalty applies: ``rnn.weight_ih_l0``, ``head.weight``,
        embeddings, ...), False on biases."""
        mask = np.zeros(self.n_params, dtype=bool)
        for name, _, a, b in self.entries:
            mask[a:b] = ".weight" in name
        return mask

    def init_params(self, rng, dtype) -> np.ndarray:
        """A new flat vector: each stack as :meth:`NetworkSpec.init_params`, dense layers Glorot-uniform."""
        flat = np.zeros(self.n_params, dtype=np.float64)
        v = self.views(flat)
        for prefix, spec in (("encoder.", self.encoder), ("decoder.", self.decoder)):
            if spec is None:
                continue
            sv = spec.views(spec.init_params(rng, np.float64))
            for k, a in sv.items():
                if not k.startswith("head."):
                    v[prefix + k][...] = a
        for name, shape, _, _ in self.entries:
            if name.endswith(".weight") and not name.startswith(("encoder.", "decoder.")):
                a = np.sqrt(6.0 / (shape[0] + shape[1]))
                v[name][...] = rng.uniform(-a, a, size=shape)
        return flat.astype(dtype)

    def to_dict(self) -> dict:
        """Plain values describing the architecture (for saved files)."""
        return {"cell": self.cell, "hidden": list(self.hidden), "bidirectional": self.bidirectional,
                "source_vocab": self.source_vocab, "source_width": self.source_width,
                "target_vocab": self.target_vocab, "embedding_dim": self.embedding_dim,
                "attention": self.attention, "bos": self.bos, "eos": self.eos}

    @classmethod
    def from_dict(cls, d) -> "Seq2SeqSpec":
        """Inverse of :meth:`to_dict`, checking every value (ValueError when malformed)."""
        keys = {"cell", "hidden", "bidirectional", "source_vocab", "source_width", "target_vocab",
                "embedding_dim", "attention", "bos", "eos"}
        if not isinstance(d, dict) or set(d) != keys:
            raise ValueError("malformed encoder-decoder description")
        if not isinstance(d["cell"], str) or d["cell"] not in CELL_GATES:
            raise ValueError("bad cell")
        hidden = tuple(d["hidden"]) if isinstance(d["hidden"], list) else ()

        def count(x, lo, hi):
            return isinstance(x, int) and not isinstance(x, bool) and lo <= x < hi

        if not hidden or not all(count(h, 1, 100_000) for h in hidden):
            raise ValueError("bad hidden sizes")
        if not all(isinstance(d[k], bool) for k in ("bidirectional", "attention")):
            raise ValueError("bad flags")
        if not count(d["source_vocab"], 0, 100_000_000) or not count(d["source_width"], 1, 10_000_000) \
                or not count(d["target_vocab"], 2, 100_000_000) or not count(d["embedding_dim"], 1, 100_000):
            raise ValueError("bad sizes")
        if not (count(d["bos"], 1, d["target_vocab"]) and count(d["eos"], 1, d["target_vocab"])) \
                or d["bos"] == d["eos"]:
            raise ValueError("bad <bos>/<eos> ids")
        if d["source_vocab"] == 0 and (d["bidirectional"] or d["attention"]):
            raise ValueError("a feature-vector source has no encoder to be bidirectional or attend to")
        return cls(d["cell"], hidden, d["bidirectional"], d["source_vocab"], d["source_width"],
                   d["target_vocab"], d["embedding_dim"], d["attention"], d["bos"], d["eos"])

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("encoder", None)
        state.pop("decoder", None)
        state.pop("entries", None)
        return state
