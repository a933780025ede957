"""Generate the encoder-decoder golden fixtures tests/fixtures/seq2seq_*.npz (run once; needs torch).

    python tests/make_seq2seq_fixtures.py

Each fixture holds a plain torch encoder-decoder module whose submodules
are named as :meth:`sklstm.LSTMSeq2Seq.state_dict` names them (weights
under ``w/``, seeded random), a few ragged (source, target) pairs and the
per-pair teacher-forced log-likelihoods torch computes for them in float64
(``loglik``). tests/test_seq2seq_torch.py compares sklstm with them on
every run, without torch. Only plain arrays, no pickles: a ragged side is
its concatenated values (``x_values`` / ``y_values``) and its lengths
(``x_lengths`` / ``y_lengths``); a feature-vector source is ``x_features``
(n_pairs, n_features).

The module (:func:`build`):

- ``encoder.embedding`` (``nn.Embedding(source_vocab, E, padding_idx=0)``)
  and ``encoder.rnn`` (``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN``, batch-first,
  optionally bidirectional), read through ``pack_padded_sequence``; absent
  for a feature-vector source;
- ``bridge.h_l{k}`` / ``bridge.c_l{k}`` (``nn.Linear``), when the encoder is
  bidirectional or the source is a feature vector: the decoder's initial
  ``h[k] = tanh(bridge.h_l{k}(s))`` and ``c[k] = bridge.c_l{k}(s)``, ``s`` the
  concatenated final states of layer ``k``'s two directions, or the
  features; otherwise the decoder starts from the encoder's final states;
- ``decoder.embedding`` and ``decoder.rnn`` (unidirectional);
- ``attention.key`` (``nn.Linear(E_enc, H, bias=False)``, only when the
  encoder outputs are wider than ``H``) and ``attention.combine``
  (``nn.Linear(E_enc + H, H)``): Luong global dot attention over the valid
  source steps, without input feeding, ``tanh(combine([context; q_t]))``;
- ``head`` (``nn.Linear(H, target_vocab)``).

The decoder reads ``<bos>`` and the target shifted by one; every target
token and the ``<eos>`` are scored. Token-id targets use sklstm's marks:
``<bos> = max id + 1``, ``<eos> = max id + 2``.
"""

import os

import numpy as np

#: name, cell, layers, bidirectional, attention, source ("ids" or "features")
CONFIGS = [
    ("lstm_1", "lstm", 1, False, False, "ids"),
    ("gru_2bi_att", "gru", 2, True, True, "ids"),
    ("lstm_2_features", "lstm", 2, False, False, "features"),
    ("lstm_2_att", "lstm", 2, False, True, "ids"),
    ("rnn_1bi", "rnn", 1, True, False, "ids"),
]
EMBED, HIDDEN, N_FEATURES = 4, 5, 3
#: largest source id / largest target id (both appear in the pairs, so a fit finds the same vocabularies)
SOURCE_MAX, TARGET_MAX = 8, 6
SOURCE_LENGTHS = [5, 1, 3, 7, 2, 4]
TARGET_LENGTHS = [3, 6, 1, 4, 2, 5]


def vocabularies():
    """The fixtures' vocabulary sizes and target marks, as ``LSTMSeq2Seq`` sets them for their ids.

    Returns
    -------
    source_vocab, target_vocab, bos, eos : int
    """
    V = TARGET_MAX + 1
    return SOURCE_MAX + 1, V + 2, V, V + 1


def pairs(source, seed):
    """The fixture's ragged pairs (the largest ids appear, so a fit finds :func:`vocabularies`).

    Parameters
    ----------
    source : {"ids", "features"}
    seed : int

    Returns
    -------
    xs : list of int64 ndarray, or float64 ndarray of shape (n_pairs, N_FEATURES)
    ys : list of int64 ndarray
        Targets without ``<eos>``.
    """
    rng = np.random.default_rng(seed)
    ys = [rng.integers(1, TARGET_MAX + 1, L) for L in TARGET_LENGTHS]
    ys[1][2] = TARGET_MAX
    if source == "features":
        return rng.standard_normal((len(TARGET_LENGTHS), N_FEATURES)), ys
    xs = [rng.integers(1, SOURCE_MAX + 1, L) for L in SOURCE_LENGTHS]
    xs[3][4] = SOURCE_MAX
    return xs, ys


def build(torch, cell, layers, bidirectional, attention, source, seed=0, dtype=None, vocab=None):
    """The torch encoder-decoder module, its parameters named as ``LSTMSeq2Seq.state_dict`` names them.

    Parameters
    ----------
    torch : module
        The imported ``torch``.
    cell : {"lstm", "gru", "rnn"}
    layers : int
    bidirectional, attention : bool
    source : {"ids", "features"}
    seed : int, default=0
        Seeds the random weights (uniform in [-0.8, 0.8], the embeddings'
        padding rows zero).
    dtype : torch.dtype or None, default=None
    vocab : tuple of int or None, default=None
        ``(source_vocab, target_vocab)``; None: :func:`vocabularies`.

    Returns
    -------
    module : torch.nn.Module
    """
    nn = torch.nn
    torch.manual_seed(seed)
    source_vocab, target_vocab = vocabularies()[:2] if vocab is None else vocab
    cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
    features = source == "features"
    mod = nn.Module()
    if not features:
        mod.encoder = nn.Module()
        mod.encoder.embedding = nn.Embedding(source_vocab, EMBED, padding_idx=0)
        mod.encoder.rnn = cls(EMBED, HIDDEN, num_layers=layers, bidirectional=bidirectional, batch_first=True)
    width = N_FEATURES if features else HIDDEN * (2 if bidirectional else 1)
    if features or bidirectional:
        mod.bridge = nn.ModuleDict()
        for k in range(layers):
            mod.bridge[f"h_l{k}"] = nn.Linear(width, HIDDEN)
            if cell == "lstm":
                mod.bridge[f"c_l{k}"] = nn.Linear(width, HIDDEN)
    mod.decoder = nn.Module()
    mod.decoder.embedding = nn.Embedding(target_vocab, EMBED, padding_idx=0)
    mod.decoder.rnn = cls(EMBED, HIDDEN, num_layers=layers, batch_first=True)
    if attention:
        memory = HIDDEN * (2 if bidirectional else 1)
        mod.attention = nn.Module()
        if memory != HIDDEN:
            mod.attention.key = nn.Linear(memory, HIDDEN, bias=False)
        mod.attention.combine = nn.Linear(memory + HIDDEN, HIDDEN)
    mod.head = nn.Linear(HIDDEN, target_vocab)
    # torch's default init leaves small weights; spread them so the test exercises saturation too
    with torch.no_grad():
        for p in mod.parameters():
            p.uniform_(-0.8, 0.8)
        if not features:
            mod.encoder.embedding.weight[0] = 0.0
        mod.decoder.embedding.weight[0] = 0.0
    return mod if dtype is None else mod.to(dtype)


def _pad(torch, seqs):
    lengths = [len(s) for s in seqs]
    out = np.zeros((len(seqs), max(lengths)), dtype=np.int64)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s
    return torch.from_numpy(out), torch.tensor(lengths)


def log_likelihoods(torch, mod, cell, layers, bidirectional, attention, xs, ys, marks=None):
    """Teacher-forced log-likelihood (nats) of each target (``<eos>`` appended) given its source, by torch.

    Runs in the module's dtype; call it under ``torch.no_grad()`` unless
    gradients are wanted.

    Parameters
    ----------
    torch : module
    mod : torch.nn.Module
        As :func:`build` makes it.
    cell, layers, bidirectional, attention
        Its architecture, as given to :func:`build`.
    xs : list of 1D int arrays, or float ndarray of shape (n_pairs, n_features)
        Sources: token ids (>= 1), or feature vectors.
    ys : list of 1D int arrays
        Targets (ids >= 1) without ``<eos>``.
    marks : tuple of int or None, default=None
        The target's ``(<bos>, <eos>)`` ids; None: :func:`vocabularies`'.

    Returns
    -------
    loglik : torch.Tensor of shape (n_pairs,)
    """
    nn = torch.nn
    dt = mod.head.weight.dtype
    bos, eos = vocabularies()[2:] if marks is None else marks
    n = len(ys)
    dirs = 2 if bidirectional else 1
    memory = src_lens = None
    if isinstance(xs, np.ndarray) and xs.ndim == 2 and xs.dtype.kind == "f":
        s = torch.as_tensor(xs, dtype=dt)
        init = [(s, s)] * layers
    else:
        src, src_lens = _pad(torch, xs)
        packed = nn.utils.rnn.pack_padded_sequence(mod.encoder.embedding(src), src_lens, batch_first=True,
                                                   enforce_sorted=False)
        out, final = mod.encoder.rnn(packed)
        memory, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        h_n, c_n = final if isinstance(final, tuple) else (final, None)
        init = []
        for k in range(layers):
            sh = torch.cat([h_n[k * dirs + d] for d in range(dirs)], dim=1)
            sc = None if c_n is None else torch.cat([c_n[k * dirs + d] for d in range(dirs)], dim=1)
            init.append((sh, sc))
    if hasattr(mod, "bridge"):
        h0 = torch.stack([torch.tanh(mod.bridge[f"h_l{k}"](init[k][0])) for k in range(layers)])
        c0 = None
        if cell == "lstm":
            c0 = torch.stack([mod.bridge[f"c_l{k}"](init[k][1]) for k in range(layers)])
    else:
        h0 = torch.stack([h for h, _ in init])
        c0 = torch.stack([c for _, c in init]) if cell == "lstm" else None
    targets, tlens = _pad(torch, [np.append(y, eos) for y in ys])
    inputs = torch.cat([torch.full((n, 1), bos, dtype=torch.int64), targets[:, :-1]], dim=1)
    q, _ = mod.decoder.rnn(mod.decoder.embedding(inputs), h0 if c0 is None else (h0, c0))  # (n, T, H)
    feat = q
    if attention:
        keys = mod.attention.key(memory) if hasattr(mod.attention, "key") else memory
        scores = torch.bmm(q, keys.transpose(1, 2))  # (n, T, S)
        pad = torch.arange(memory.shape[1])[None, :] >= src_lens[:, None]
        scores = scores.masked_fill(pad[:, None, :], float("-inf"))
        context = torch.bmm(torch.softmax(scores, dim=2), memory)
        feat = torch.tanh(mod.attention.combine(torch.cat([context, q], dim=2)))
    lp = torch.log_softmax(mod.head(feat), dim=2)
    tok = lp.gather(2, targets[:, :, None])[:, :, 0]
    valid = torch.arange(targets.shape[1])[None, :] < tlens[:, None]
    return (tok * valid).sum(dim=1)


def generate(name, cell, layers, bidirectional, attention, source, seed=0):
    """One fixture: weights, pairs and torch's float64 log-likelihoods.

    Parameters
    ----------
    name : str
    cell, layers, bidirectional, attention, source
        As :func:`build` takes them.
    seed : int, default=0
        Seeds the pairs and the weights.

    Returns
    -------
    fixture : dict of str to ndarray
        Plain arrays only (``np.savez`` without pickles).
    """
    import torch

    xs, ys = pairs(source, seed)
    mod = build(torch, cell, layers, bidirectional, attention, source, seed, torch.float64)
    with torch.no_grad():
        ll = log_likelihoods(torch, mod, cell, layers, bidirectional, attention, xs, ys)
    source_vocab, target_vocab, bos, eos = vocabularies()
    out = {"meta_name": np.array(name), "meta_cell": np.array(cell), "meta_layers": np.array(layers),
           "meta_bidirectional": np.array(bidirectional), "meta_attention": np.array(attention),
           "meta_source": np.array(source), "meta_hidden": np.array(HIDDEN),
           "meta_embedding": np.array(EMBED),
           "meta_source_vocab": np.array(0 if source == "features" else source_vocab),
           "meta_target_vocab": np.array(target_vocab), "meta_bos": np.array(bos), "meta_eos": np.array(eos),
           "y_values": np.concatenate(ys).astype(np.int64),
           "y_lengths": np.array([len(y) for y in ys], dtype=np.int64),
           "loglik": ll.numpy().copy()}
    if source == "features":
        out["x_features"] = xs
    else:
        out["x_values"] = np.concatenate(xs).astype(np.int64)
        out["x_lengths"] = np.array([len(x) for x in xs], dtype=np.int64)
    for k, v in mod.state_dict().items():
        out[f"w/{k}"] = v.detach().numpy().copy()
    return out


def main():
    """Write every configuration of ``CONFIGS`` to tests/fixtures/seq2seq_<name>.npz."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
    os.makedirs(here, exist_ok=True)
    for config in CONFIGS:
        np.savez_compressed(os.path.join(here, f"seq2seq_{config[0]}.npz"), **generate(*config))
        print("wrote", config[0])


if __name__ == "__main__":
    main()
