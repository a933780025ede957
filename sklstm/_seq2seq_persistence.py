"""Saving and restoring a fitted :class:`sklstm.LSTMSeq2Seq` (used by :mod:`sklstm.persistence`).

Every type, shape and id is checked against the architecture before any
attribute is set, so a malformed or hostile file is refused with a
``ValueError`` and never half-loaded.
"""

from __future__ import annotations

import numpy as np

from ._seq2seq_spec import Seq2SeqSpec
from ._state import LOOP_SCHEMA, _restore_optimizer, check_loop_attributes, loop_attributes, restore_rng
from ._vocabulary import BOS, EOS

__all__ = ["persistent_state", "restore"]

_KEYS = {"spec", "coefs_flat_", "source_kind_", "max_target_length_", "optimizer", "rng"}


def _vectorizer(est, state, analyzer, bos_eos):
    vec = est._vectorizer(analyzer, bos_eos)
    vec._restore_state(state)
    return vec


def persistent_state(est) -> dict:
    """The fitted state of an ``LSTMSeq2Seq`` as plain values and arrays ({} when unfitted)."""
    if not hasattr(est, "coefs_flat_"):
        return {}
    out = {"spec": est._spec.to_dict(), "coefs_flat_": est.coefs_flat_, "source_kind_": est.source_kind_,
           "max_target_length_": int(est.max_target_length_),
           "optimizer": {"kind": est._optimizer.solver, "state": est._optimizer.state()},
           "rng": est._rng.bit_generator.state, **loop_attributes(est)}
    if est.source_kind_ == "features":
        out["n_features_in_"] = int(est.n_features_in_)
        if hasattr(est, "feature_names_in_"):
            out["feature_names_in_"] = est.feature_names_in_
    for side in ("source", "target"):
        vec = getattr(est, f"{side}_vectorizer_")
        if vec is not None:
            out[f"{side}_vectorizer"] = vec._persistent_state()
    return out


def restore(est, state):
    """Set ``est``'s fitted attributes from its ``_persistent_state()`` output, checking everything first."""
    if not state:
        return
    optional = set(LOOP_SCHEMA) | {"n_features_in_", "feature_names_in_", "source_vectorizer",
                                   "target_vectorizer"}
    if not _KEYS <= set(state) or set(state) - _KEYS - optional:
        raise ValueError("unexpected encoder-decoder state")
    spec = Seq2SeqSpec.from_dict(state["spec"])
    flat = state["coefs_flat_"]
    if not isinstance(flat, np.ndarray) or flat.dtype not in (np.float32, np.float64) \
            or flat.shape != (spec.n_params,) or not np.isfinite(flat).all():
        raise ValueError("coefs_flat_ does not match the network")
    kind = state["source_kind_"]
    if kind not in ("text", "ids", "features") or (kind == "features") != spec.features:
        raise ValueError("bad source kind")
    mtl = state["max_target_length_"]
    if isinstance(mtl, bool) or not isinstance(mtl, int) or not 1 <= mtl < 1_000_000:
        raise ValueError("bad max_target_length_")
    check_loop_attributes(state, flat)
    if kind == "features":
        n = state.get("n_features_in_")
        if isinstance(n, bool) or not isinstance(n, int) or n != spec.source_width:
            raise ValueError("n_features_in_ does not match the network")
        names = state.get("feature_names_in_")
        if names is not None and (not isinstance(names, np.ndarray) or names.shape != (n,)
                                  or not all(isinstance(c, str) for c in names.tolist())):
            raise ValueError("feature_names_in_ does not match n_features_in_")
    elif "n_features_in_" in state or "feature_names_in_" in state:
        raise ValueError("n_features_in_ belongs to a feature-vector source only")
    src = tgt = None
    if ("source_vectorizer" in state) != (kind == "text"):
        raise ValueError("the source vocabulary does not match the source kind")
    if kind == "text":
        src = _vectorizer(est, state["source_vectorizer"], est.source_analyzer, False)
        if src.vocab_size_ != spec.source_vocab:
            raise ValueError("the source vocabulary does not match the network")
    if "target_vectorizer" in state:
        tgt = _vectorizer(est, state["target_vectorizer"], est.target_analyzer, True)
        if tgt.vocab_size_ != spec.target_vocab or tgt.vocabulary_.get(BOS) != spec.bos \
                or tgt.vocabulary_.get(EOS) != spec.eos:
            raise ValueError("the target vocabulary does not match the network")
    elif (spec.bos, spec.eos) != (spec.target_vocab - 2, spec.target_vocab - 1):
        raise ValueError("token-id targets need <bos>/<eos> after the largest id")
    optimizer = _restore_optimizer(est.get_params(deep=False), state["optimizer"], spec.n_params, flat.dtype)
    rng = restore_rng(state["rng"])
    for k in LOOP_SCHEMA:
        if k in state:
            setattr(est, k, state[k])
    est._spec, est.coefs_flat_, est._optimizer, est._rng = spec, flat, optimizer, rng
    est.source_kind_, est.max_target_length_ = kind, mtl
    est.source_vectorizer_, est.target_vectorizer_ = src, tgt
    est._source_vocab, est._target_vocab, est._bos, est._eos = (spec.source_vocab, spec.target_vocab,
                                                                spec.bos, spec.eos)
    for stale in ("n_features_in_", "feature_names_in_"):
        if hasattr(est, stale):
            delattr(est, stale)
    if kind == "features":
        est.n_features_in_ = state["n_features_in_"]
        if state.get("feature_names_in_") is not None:
            est.feature_names_in_ = state["feature_names_in_"]
