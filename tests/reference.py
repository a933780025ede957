"""Plain-NumPy reference implementation: float64, one sequence at a time, one step at a time.

Written to be read, not to be fast. Every kernel of sklstm is compared with
it. Parameters are a dict keyed like a torch module (``rnn.weight_ih_l0``,
``head.weight``, ...), sequences a list of ``(T_i, F)`` arrays.
"""

import numpy as np

GATES = {"lstm": 4, "lstm1997": 3, "gru": 3, "rnn": 1}


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# ----------------------------------------------------------------------------- one step

def step(cell, x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One timestep. Returns ``(h_new, c_new, cache)``."""
    H = h.shape[0]
    a = w_ih @ x + b_ih          # input part
    r_ = w_hh @ h + b_hh         # recurrent part
    if cell == "rnn":
        h_new = np.tanh(a + r_)
        return h_new, c, (x, h, c, h_new)
    if cell == "gru":
        r = sigmoid(a[:H] + r_[:H])
        z = sigmoid(a[H:2 * H] + r_[H:2 * H])
        hn = r_[2 * H:]
        n = np.tanh(a[2 * H:] + r * hn)
        h_new = (1 - z) * n + z * h
        return h_new, c, (x, h, c, r, z, n, hn)
    pre = a + r_
    if cell == "lstm":
        i, f, g, o = (sigmoid(pre[:H]), sigmoid(pre[H:2 * H]),
                      np.tanh(pre[2 * H:3 * H]), sigmoid(pre[3 * H:]))
        c_new = f * c + i * g
    else:  # lstm1997: no forget gate, constant error carousel
        i, g, o = sigmoid(pre[:H]), np.tanh(pre[H:2 * H]), sigmoid(pre[2 * H:])
        f = None
        c_new = c + i * g
    h_new = o * np.tanh(c_new)
    return h_new, c_new, (x, h, c, i, f, g, o, c_new)


def step_backward(cell, dh, dc, cache, w_ih, w_hh):
    """Gradients of one step. Returns ``(dx, dh_prev, dc_prev, d_pre_ih, d_pre_hh)``.

    ``d_pre_ih`` is the gradient with respect to ``w_ih @ x + b_ih`` and
    ``d_pre_hh`` with respect to ``w_hh @ h + b_hh``; the weight gradients
    are their outer products with ``x`` and ``h``.
    """
    if cell == "rnn":
        x, h, c, h_new = cache
        d = dh * (1 - h_new ** 2)
        return w_ih.T @ d, w_hh.T @ d, dc, d, d
    if cell == "gru":
        x, h, c, r, z, n, hn = cache
        dn = dh * (1 - z) * (1 - n ** 2)
        dz = dh * (h - n) * z * (1 - z)
        dr = dn * hn * r * (1 - r)
        d_ih = np.concatenate([dr, dz, dn])
        d_hh = np.concatenate([dr, dz, dn * r])
        return w_ih.T @ d_ih, w_hh.T @ d_hh + dh * z, dc, d_ih, d_hh
    x, h, c, i, f, g, o, c_new = cache
    tc = np.tanh(c_new)
    do = dh * tc
    dct = dc + dh * o * (1 - tc ** 2)
    di, dg = dct * g, dct * i
    parts = [di * i * (1 - i)]
    if cell == "lstm":
        parts.append(dct * c * f * (1 - f))
        dc_prev = dct * f
    else:
        dc_prev = dct
    parts += [dg * (1 - g ** 2), do * o * (1 - o)]
    d = np.concatenate(parts)
    return w_ih.T @ d, w_hh.T @ d, dc_prev, d, d


# ----------------------------------------------------------------------------- network

def layer_names(layer, d):
    sfx = f"l{layer}" + ("_reverse" if d else "")
    return tuple(f"rnn.{k}_{sfx}" for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


def run_direction(cell, xs, p, names, reverse, init=None):
    """Run one direction over one sequence ``xs`` (T, D). Returns ``(hs, caches, (h_n, c_n))``.

    ``init`` is an optional initial state ``(h0, c0)`` (zeros by default).
    """
    w_ih, w_hh, b_ih, b_hh = (p[n] for n in names)
    H = w_hh.shape[1]
    if init is None:
        h, c = np.zeros(H), np.zeros(H)
    else:
        h, c = np.array(init[0], float), np.array(init[1], float)
    T = xs.shape[0]
    hs = np.zeros((T, H))
    caches = [None] * T
    order = range(T - 1, -1, -1) if reverse else range(T)
    for t in order:
        h, c, caches[t] = step(cell, xs[t], h, c, w_ih, w_hh, b_ih, b_hh)
        hs[t] = h
    return hs, caches, (h, c)


def backward_direction(cell, dhs, caches, p, names, grads, reverse, dfinal=None):
    """BPTT over one direction; adds the weight gradients into ``grads``.

    ``dfinal`` is an optional gradient ``(dh_n, dc_n)`` with respect to the
    final state. Returns ``(dxs, (dh0, dc0))``: the gradients with respect
    to the inputs and to the initial state.
    """
    w_ih, w_hh = p[names[0]], p[names[1]]
    T, H = dhs.shape
    if dfinal is None:
        dh, dc = np.zeros(H), np.zeros(H)
    else:
        dh, dc = np.array(dfinal[0], float), np.array(dfinal[1], float)
    dxs = np.zeros((T, w_ih.shape[1]))
    order = range(T) if reverse else range(T - 1, -1, -1)
    for t in order:
        cache = caches[t]
        dx, dh, dc, d_ih, d_hh = step_backward(cell, dhs[t] + dh, dc, cache, w_ih, w_hh)
        dxs[t] = dx
        grads[names[0]] += np.outer(d_ih, cache[0])
        grads[names[1]] += np.outer(d_hh, cache[1])
        grads[names[2]] += d_ih
        grads[names[3]] += d_hh
    return dxs, (dh, dc)


def network_forward(cell, n_layers, bidirectional, p, xs, init=None, final=None):
    """Stacked (bi)directional forward of one sequence. Returns ``(top, record)``.

    ``init`` optionally gives the initial ``(h0, c0)`` of each layer and
    direction, in the order layer 0 forward, layer 0 reverse, layer 1, ...;
    ``final`` (a list) receives the final ``(h, c)`` in the same order.
    """
    dirs = 2 if bidirectional else 1
    inp = xs
    record = []
    for layer in range(n_layers):
        outs, caches = [], []
        for d in range(dirs):
            hs, cs, state = run_direction(cell, inp, p, layer_names(layer, d), reverse=d == 1,
                                          init=None if init is None else init[layer * dirs + d])
            outs.append(hs)
            caches.append(cs)
            if final is not None:
                final.append(state)
        record.append(caches)
        inp = np.concatenate(outs, axis=1)
    return inp, record


def network_backward(cell, n_layers, bidirectional, p, dtop, record, grads, dfinal=None):
    """Backward of :func:`network_forward`; adds the weight gradients into ``grads``.

    ``dfinal`` optionally gives the gradients with respect to the final
    states, ordered as ``final``. Returns ``(dxs, dinit)``: the gradient
    with respect to the input sequence and the gradients with respect to
    the initial states, ordered as ``init``.
    """
    dirs = 2 if bidirectional else 1
    d_out = dtop
    dinit = [None] * (n_layers * dirs)
    for layer in range(n_layers - 1, -1, -1):
        H = p[layer_names(layer, 0)[1]].shape[1]
        dx = 0
        for d in range(dirs):
            dxd, dinit[layer * dirs + d] = backward_direction(
                cell, d_out[:, d * H:(d + 1) * H], record[layer][d], p, layer_names(layer, d), grads,
                reverse=d == 1, dfinal=None if dfinal is None else dfinal[layer * dirs + d])
            dx = dx + dxd
        d_out = dx
    return d_out, dinit


def head_features(top, bidirectional):
    """h_n as torch orders it: forward h at the last step, then reverse h at step 0."""
    if not bidirectional:
        return top[-1]
    H = top.shape[1] // 2
    return np.concatenate([top[-1, :H], top[0, H:]])


def sample_loss(loss, z, y):
    """Loss of one head output ``z`` and its gradient."""
    if loss == "squared_error":
        return np.mean((z - y) ** 2), 2 * (z - y) / z.size
    if loss == "softmax":
        e = np.exp(z - z.max())
        pr = e / e.sum()
        g = pr.copy()
        g[y] -= 1
        return -np.log(pr[y]), g
    s = sigmoid(z)  # logistic / multilabel
    return np.mean(-(y * np.log(s) + (1 - y) * np.log(1 - s))), (s - y) / z.size


def _head_backward(loss, W, b, feat, target, weight, grads):
    """Loss of one head input and the gradient with respect to that input."""
    z = W @ feat + b
    li, gz = sample_loss(loss, z, target)
    gz = gz * weight
    grads["head.weight"] += np.outer(gz, feat)
    grads["head.bias"] += gz
    return li * weight, W.T @ gz


def embed(p, ids):
    """The embedding lookup of one token-id sequence (``(T, E)``)."""
    return p["embedding.weight"][np.asarray(ids, dtype=np.int64)].astype(float)


def loss_and_grads(cell, n_layers, bidirectional, p, seqs, y, w, loss,
                   return_sequences=False, alpha=0.0, bptt_steps=None, padding_idx=0):
    """Batch loss and gradients (docs/CONTRACT.md's loss conventions), no dropout, no clipping.

    With ``bptt_steps=k`` (unidirectional only) each sequence is cut into
    chunks of k steps; a chunk starts from the state the previous one ended
    in, taken as a constant, so gradients stop at chunk boundaries.

    With ``embedding.weight`` in ``p`` (token input), ``seqs`` are 1D token
    id sequences: step t reads row ``ids[t]`` of the embedding, and that row
    receives the input gradient of step t, except the ``padding_idx`` row
    (``padding_idx``, default 0), which never gets a gradient.
    """
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    W, b = p["head.weight"], p["head.bias"]
    total = 0.0
    denom = sum(len(s) for s in seqs) if return_sequences else len(seqs)
    tokens = "embedding.weight" in p
    for i, xs in enumerate(seqs):
        ids = np.asarray(xs, dtype=np.int64) if tokens else None
        xs = embed(p, ids) if tokens else np.asarray(xs, float)
        T = xs.shape[0]
        k = T if bptt_steps is None else bptt_steps
        state = None
        for t0 in range(0, T, k):
            final = []
            top, record = network_forward(cell, n_layers, bidirectional, p, xs[t0:t0 + k],
                                          init=state, final=final)
            state = final
            dtop = np.zeros_like(top)
            if return_sequences:
                for t in range(top.shape[0]):
                    li, dtop[t] = _head_backward(loss, W, b, top[t], y[i][t0 + t], w[i] / denom, grads)
                    total += li
            elif t0 + k >= T:
                li, df = _head_backward(loss, W, b, head_features(top, bidirectional), y[i],
                                        w[i] / denom, grads)
                total += li
                if bidirectional:
                    H = top.shape[1] // 2
                    dtop[-1, :H] += df[:H]
                    dtop[0, H:] += df[H:]
                else:
                    dtop[-1] += df
            dxs, _ = network_backward(cell, n_layers, bidirectional, p, dtop, record, grads)
            if tokens:
                for t, tok in enumerate(ids[t0:t0 + k]):
                    if tok != padding_idx:
                        grads["embedding.weight"][tok] += dxs[t]
    if alpha:
        for k in p:
            if ".weight" in k:
                total += 0.5 * alpha * np.sum(p[k] ** 2) / len(seqs)
                grads[k] += alpha * p[k] / len(seqs)
    return total, grads


def outputs(cell, n_layers, bidirectional, p, seqs, return_sequences=False):
    """Head outputs per sequence (list of (T_i, O) arrays, or (n, O))."""
    W, b = p["head.weight"], p["head.bias"]
    res = []
    for xs in seqs:
        xs = embed(p, xs) if "embedding.weight" in p else np.asarray(xs, float)
        top, _ = network_forward(cell, n_layers, bidirectional, p, xs)
        res.append(top @ W.T + b if return_sequences else W @ head_features(top, bidirectional) + b)
    return res if return_sequences else np.array(res)
