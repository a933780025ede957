"""Generate the golden torch fixtures in tests/fixtures/ (run once; needs torch).

    python tests/make_torch_fixtures.py

Each fixture holds a torch ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` + ``nn.Linear``
(weights under ``w/``), a ragged batch fed through ``pack_padded_sequence``,
the head output on ``h_n``, the gradients of ``MSELoss`` (``g/``), and the
weights after two ``torch.optim.SGD`` (momentum 0.9, Nesterov) and two
``torch.optim.Adam`` steps on that batch (``sgd/``, ``adam/``). The tests
compare sklstm with them on every run, without torch.

The ``emb_*`` fixtures put an ``nn.Embedding(VOCAB, N_FEATURES,
padding_idx=0)`` (``embedding``) in front: their input is token ids ``ids``
padded with 0, with a 0 inside one sequence too (the zero row, no gradient).
"""

import os

import numpy as np

CONFIGS = [
    # name, cell, layers, bidirectional
    ("lstm_1", "lstm", 1, False),
    ("lstm_2bi", "lstm", 2, True),
    ("gru_1", "gru", 1, False),
    ("gru_2bi", "gru", 2, True),
    ("rnn_1", "rnn", 1, False),
    ("rnn_2bi", "rnn", 2, True),
]
#: token input through an embedding: name, cell, layers, bidirectional
EMBED_CONFIGS = [
    ("emb_lstm_1", "lstm", 1, False),
    ("emb_gru_2bi", "gru", 2, True),
]
N_FEATURES, HIDDEN, N_OUT = 3, 5, 2
VOCAB = 7
LENGTHS = [6, 2, 4, 1, 5]
SGD = dict(lr=0.1, momentum=0.9, nesterov=True)
ADAM = dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8)


def build(torch, cell, layers, bidirectional, seed, dtype, vocab=0):
    """The torch module: (``embedding`` +) ``rnn`` + ``head`` as docs/CONTRACT.md names them."""
    torch.manual_seed(seed)
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
    mod = torch.nn.Module()
    if vocab:
        mod.embedding = torch.nn.Embedding(vocab, N_FEATURES, padding_idx=0)
    mod.rnn = cls(N_FEATURES, HIDDEN, num_layers=layers, bidirectional=bidirectional, batch_first=True)
    mod.head = torch.nn.Linear(HIDDEN * (2 if bidirectional else 1), N_OUT)
    return mod.to(dtype)


def head_output(torch, mod, x, lengths, bidirectional):
    if hasattr(mod, "embedding"):
        x = mod.embedding(x)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    _, h_n = mod.rnn(packed)
    if isinstance(h_n, tuple):
        h_n = h_n[0]
    feat = torch.cat([h_n[-2], h_n[-1]], dim=1) if bidirectional else h_n[-1]
    return mod.head(feat)


def generate(cell, layers, bidirectional, seed=0, dtype="float64", vocab=0):
    """One fixture as a dict of numpy arrays (token input through an embedding when ``vocab``)."""
    import torch

    tdt = getattr(torch, dtype)
    rng = np.random.default_rng(seed)
    if vocab:
        x = np.zeros((len(LENGTHS), max(LENGTHS)), dtype=np.int64)
        for i, L in enumerate(LENGTHS):
            x[i, :L] = rng.integers(1, vocab, L)
        x[0, 1] = 0  # padding_idx inside a sequence
        xt = torch.tensor(x)
    else:
        x = np.zeros((len(LENGTHS), max(LENGTHS), N_FEATURES))
        for i, L in enumerate(LENGTHS):
            x[i, :L] = rng.standard_normal((L, N_FEATURES))
        xt = torch.tensor(x, dtype=tdt)
    y = rng.standard_normal((len(LENGTHS), N_OUT))
    yt = torch.tensor(y, dtype=tdt)
    lengths = torch.tensor(LENGTHS)
    mod = build(torch, cell, layers, bidirectional, seed, tdt, vocab)
    out = {"ids" if vocab else "x": x, "lengths": np.array(LENGTHS, dtype=np.int64), "y": y,
           "meta_cell": np.array(cell), "meta_layers": np.array(layers),
           "meta_bidirectional": np.array(bidirectional), "meta_hidden": np.array(HIDDEN),
           "meta_vocab": np.array(vocab)}
    for k, v in mod.state_dict().items():
        out[f"w/{k}"] = v.detach().numpy().copy()
    pred = head_output(torch, mod, xt, lengths, bidirectional)
    out["out"] = pred.detach().numpy().copy()
    loss = torch.nn.functional.mse_loss(pred, yt)
    out["loss"] = np.array(loss.item())
    loss.backward()
    for k, p in mod.named_parameters():
        out[f"g/{k}"] = p.grad.detach().numpy().copy()
    for name, opt_cls, kw in (("sgd", torch.optim.SGD, SGD), ("adam", torch.optim.Adam, ADAM)):
        m = build(torch, cell, layers, bidirectional, seed, tdt, vocab)
        opt = opt_cls(m.parameters(), **kw)
        for _ in range(2):
            opt.zero_grad()
            torch.nn.functional.mse_loss(head_output(torch, m, xt, lengths, bidirectional), yt).backward()
            opt.step()
        for k, v in m.state_dict().items():
            out[f"{name}/{k}"] = v.detach().numpy().copy()
    return out


def main():
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
    os.makedirs(here, exist_ok=True)
    for configs, vocab in ((CONFIGS, 0), (EMBED_CONFIGS, VOCAB)):
        for name, cell, layers, bidirectional in configs:
            np.savez_compressed(os.path.join(here, f"torch_{name}.npz"),
                                **generate(cell, layers, bidirectional, vocab=vocab))
            print("wrote", name)


if __name__ == "__main__":
    main()
