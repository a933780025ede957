"""Plain-NumPy reference of the encoder-decoder's loss: float64, one pair and one step at a time.

Written to be read; independent of ``sklstm._seq2seq`` except for the
parameter names (those of ``Seq2SeqSpec.views``). The recurrent stacks are
``tests/reference.py``'s.
"""

import numpy as np

import reference as ref


def _part(p, prefix):
    return {k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)}


def _log_softmax(z):
    z = z - z.max()
    return z - np.log(np.exp(z).sum())


def pair_log_likelihood(spec, p, source, target):
    """log p(target | source) in nats; ``target`` ends with ``<eos>``; ``source`` ids or a feature vector."""
    cell, L = spec.cell, len(spec.hidden)
    with_c = cell in ("lstm", "lstm1997")
    if spec.features:
        final = None
    else:
        xs = p["encoder.embedding.weight"][source]
        final = []
        top, _ = ref.network_forward(cell, L, spec.bidirectional, _part(p, "encoder."), xs, final=final)
    dirs = 2 if spec.bidirectional else 1
    init = []
    for k in range(L):
        if spec.bridged:
            if spec.features:
                sh = sc = np.asarray(source, float)
            else:
                sh = np.concatenate([final[k * dirs + d][0] for d in range(dirs)])
                sc = np.concatenate([final[k * dirs + d][1] for d in range(dirs)]) if with_c else None
            h0 = np.tanh(p[f"bridge.h_l{k}.weight"] @ sh + p[f"bridge.h_l{k}.bias"])
            c0 = p[f"bridge.c_l{k}.weight"] @ sc + p[f"bridge.c_l{k}.bias"] if with_c else np.zeros_like(h0)
        else:
            h0, c0 = final[k * dirs]
            c0 = c0 if with_c else np.zeros_like(h0)
        init.append((h0, c0))
    inputs = np.concatenate([[spec.bos], target[:-1]]).astype(int)
    xd = p["decoder.embedding.weight"][inputs]
    topd, _ = ref.network_forward(cell, L, False, _part(p, "decoder."), xd, init=init)
    total = 0.0
    for t in range(len(target)):
        q = topd[t]
        f = q
        if spec.attention:
            keys = top @ p["attention.key.weight"].T if spec.keyed else top
            s = keys @ q
            a = np.exp(s - s.max())
            a /= a.sum()
            ctx = a @ top
            u = np.concatenate([ctx, q])
            f = np.tanh(p["attention.combine.weight"] @ u + p["attention.combine.bias"])
        z = p["head.weight"] @ f + p["head.bias"]
        total += _log_softmax(z)[target[t]]
    return total
