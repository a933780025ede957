"""Prompts, next-token distributions and text generation for :class:`sklstm.LSTMLanguageModel`.

A mixin over the fitted network: a prompt is read once (:func:`sklstm._language.consume`),
then the recurrence runs one step at a time from the carried state (:func:`sklstm._network.step`).
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

from . import _network as net
from ._language import consume, next_logits, sample_next
from ._validation import warn_user

#: ids a generated text never contains (``<eos>`` ends it instead)
_NEVER_SAMPLED = (0, 1, 2)


class GenerationMixin:
    """``predict_proba`` and ``generate`` over a fitted language model's ``_spec`` and ``coefs_flat_``."""

    def _prefix_states(self, prompts, what):
        """States after each prompt (``<bos>`` + its tokens, no ``<eos>``) and the encoded ids.

        ``prompts`` is a list of str (possibly empty) for a model fitted on
        text, of 1D integer arrays for one fitted on ids.
        """
        if self.vectorizer_ is not None:
            unknown = self._unknown_tokens(prompts)
            if unknown:
                unit = "character" if self.analyzer == "char" else "token"
                warn_user(f"{len(unknown)} {unit}(s) of the {what} are not in the vocabulary "
                          f"(first: {unknown[:5]}); they are read as <unk>.")
            seqs = [s[:-1] for s in self.vectorizer_.transform(prompts)]
        else:
            seqs = self._encode(prompts, what)
        _, _, states = consume(self._spec, self.coefs_flat_, seqs, scores=False)
        return seqs, states

    def _prompts(self, X, what):
        """X as a list of prompts and whether it was a single one (str, or a 1D id array)."""
        if self.vectorizer_ is not None:
            if isinstance(X, str):
                return [X], True
            if isinstance(X, (bytes, bytearray)):
                raise TypeError(f"{what} is bytes; decode it to str first.")
            try:
                items = list(X)
            except TypeError:
                raise TypeError(f"{what} must be a str or a list of str; got {type(X).__name__}.") from None
            bad = [i for i, p in enumerate(items) if not isinstance(p, str)]
            if bad:
                raise TypeError(f"item {bad[0]} of {what} is a {type(items[bad[0]]).__name__}; a prompt must "
                                "be a str (possibly empty).")
        else:
            if isinstance(X, str):
                raise TypeError(f"this model was fitted on token ids; {what} holds text.")
            single = isinstance(X, np.ndarray) and X.ndim == 1 or \
                (isinstance(X, (list, tuple)) and len(X) > 0 and all(isinstance(t, Integral) for t in X))
            if single:
                return [np.asarray(X)], True
            items = list(X)
        if not items:
            raise ValueError(f"{what} is empty; pass a str (possibly empty) or a list of them.")
        return items, False

    def predict_proba(self, X):
        """Distribution of the next token after each prefix.

        Parameters
        ----------
        X : str, iterable of str, or list of 1D integer arrays
            Prefixes (an empty string: the first token of a document).

        Returns
        -------
        proba : ndarray of shape ``(n_prefixes, vocab_size_)``
            Columns in id order (``tokens_``).
        """
        self._check_fitted()
        prefixes, _ = self._prompts(X, "prefixes")
        _, states = self._prefix_states(prefixes, "prefixes")
        z = next_logits(self._spec, self.coefs_flat_, states)
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def generate(self, prompt="", max_new_tokens=200, temperature=1.0, top_k=None, top_p=None,
                 random_state=None):
        """Write text: the prompt followed by at most ``max_new_tokens`` new tokens.

        The prompt is read once; then the recurrence runs one step at a time
        from its carried state (:func:`sklstm._network.step`), each new token
        drawn from the next-token distribution. Generation stops early only
        at ``<eos>`` (not included); ``<pad>``, ``<unk>`` and ``<bos>`` are
        never drawn.

        Parameters
        ----------
        prompt : str, list of str, or (fitted on ids) a 1D integer array or a list of them
            A list writes one continuation per prompt, in one batch.
        max_new_tokens : int, default=200
        temperature : float, default=1.0
            Divides the logits: lower is more conservative; 0 is greedy
            (always the most likely token).
        top_k : int or None, default=None
            Draw only among the ``top_k`` most likely tokens (1: greedy).
        top_p : float in (0, 1] or None, default=None
            Draw only among the most likely tokens whose probabilities sum
            to ``top_p`` (nucleus sampling).
        random_state : int, RandomState instance or None, default=None
            The same seed gives the same text.

        Returns
        -------
        text : str (or 1D int64 array for a model fitted on ids), or a list of them for a list of prompts
        """
        self._check_fitted()
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, Integral) or max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be an integer >= 0; got {max_new_tokens!r}.")
        if isinstance(temperature, bool) or not isinstance(temperature, Real) or not temperature >= 0 \
                or not math.isfinite(temperature):
            raise ValueError(f"temperature must be a finite number >= 0; got {temperature!r}.")
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, Integral) or top_k < 1):
            raise ValueError(f"top_k must be None or an integer >= 1; got {top_k!r}.")
        if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, Real)
                                  or not 0 < top_p <= 1):
            raise ValueError(f"top_p must be None or a number in (0, 1]; got {top_p!r}.")
        text = self.vectorizer_ is not None
        prompts, single = self._prompts(prompt, "prompt")
        seqs, states = self._prefix_states(prompts, "prompt")
        rng = check_random_state(random_state)
        spec, flat = self._spec, self.coefs_flat_
        v = spec.views(flat)
        n = len(prompts)
        new = np.zeros((n, int(max_new_tokens)), dtype=np.int64)
        done = np.zeros(n, dtype=bool)
        n_new = np.zeros(n, dtype=np.int64)
        never = list(_NEVER_SAMPLED) if text else [0]
        for t in range(int(max_new_tokens)):
            z = next_logits(spec, flat, states)
            z[:, never] = -np.inf
            tok = sample_next(z, rng, temperature, top_k, top_p)
            if text:
                done |= tok == 3
            live = ~done
            new[live, t] = tok[live]
            n_new[live] += 1
            if done.all() or t == max_new_tokens - 1:
                break
            x = v["embedding.weight"][tok].astype(flat.dtype)
            states, _ = net.step(spec, v, states, x)
        outs = []
        for i, p in enumerate(prompts):
            ids = new[i, :n_new[i]]
            if not text:
                outs.append(np.concatenate([seqs[i], ids]))
                continue
            words = self.tokens_[ids].tolist()
            if self.analyzer == "char":
                outs.append(p + "".join(words))
            else:
                outs.append(" ".join(([p] if p else []) + words))
        return outs[0] if single else outs
