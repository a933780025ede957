"""GRU kernels (Cho et al. 2014) with torch.nn.GRU's equations.

Gates ``r, z, n`` (3H rows)::

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h

Conventions (time-major, length-sorted batch, ``xproj`` including ``b_ih``)
are those of :mod:`sklstm._kernels.lstm`.
"""

from ._jit import jit
from ._math import act_range, gate_vectors, tanh_range, unit
from ._ops import active_rows, matmul


@jit
def gru_forward(xproj, whh_t, bhh, lengths, reverse, h0,
                hs, hprev, gates, hn, h_state, rec, bits, use_blas):
    """Run one GRU layer over a padded, length-sorted batch.

    Parameters
    ----------
    xproj : ndarray of shape (T, B, 3H)
        Input projection including ``b_ih``.
    whh_t : ndarray of shape (H, 3H)
        ``W_hh.T`` (C-contiguous).
    bhh : ndarray of shape (3H,)
    lengths : int64 ndarray of shape (B,), sorted decreasing
    reverse : bool
    h0 : ndarray of shape (B, H)
    hs : ndarray of shape (T, B, H)
        Output: h after each step (0 at padding).
    hprev : ndarray of shape (S, B, H)
        Output: h before each step (S = T for training, 1 for inference).
    gates : ndarray of shape (S, B, 3H)
        Output: ``r, z, n`` after their nonlinearities.
    hn : ndarray of shape (S, B, H)
        Output: ``W_hn h + b_hn`` (needed by the backward pass).
    h_state : ndarray of shape (B, H)
        Output: final state h_n.
    rec : ndarray of shape (B, 3H)
        Workspace.
    bits : int ndarray of shape (B*3H,)
        Workspace of :func:`sklstm._kernels._math.exp_inplace`.
    use_blas : bool
    """
    T, B, G = xproj.shape
    H = h0.shape[1]
    scale, alpha, beta = gate_vectors(gates, 2, H, -1)  # r and z: sigmoid
    S = gates.shape[0]  # T when the backward pass needs every step, else 1 (inference)
    h_state[:] = h0
    for s in range(T):
        t = T - 1 - s if reverse else s
        ts = t if S == T else 0
        n = active_rows(lengths, t)
        hs[t] = 0.0
        hprev[ts] = h_state
        gates[ts, n:] = 0.0
        hn[ts, n:] = 0.0
        if n == 0:
            continue
        matmul(h_state[:n], whh_t, rec[:n], use_blas)
        for b in range(n):
            g = gates[ts, b]
            xp = xproj[t, b]
            rb = rec[b]
            hnb = hn[ts, b]
            for j in range(2 * H):
                g[j] = xp[j] + rb[j] + bhh[j]
            act_range(g[:2 * H], scale, alpha, beta, bits)
            for j in range(H):
                hnb[j] = rb[2 * H + j] + bhh[2 * H + j]
            for j in range(H):
                g[2 * H + j] = xp[2 * H + j] + g[j] * hnb[j]
            tanh_range(g[2 * H:], g[2 * H:], bits)
            hb = h_state[b]
            ht = hs[t, b]
            for j in range(H):
                z = g[H + j]
                v = g[2 * H + j] + z * (hb[j] - g[2 * H + j])
                hb[j] = v
                ht[j] = v


@jit
def gru_backward(dhs, gates, hn, hprev, whh, lengths, reverse,
                 dgx, dgh, dh_state, tmp, use_blas):
    """Backpropagate through one GRU layer (BPTT).

    Parameters
    ----------
    dhs : ndarray of shape (T, B, H)
        Gradient with respect to each step's output (zero at padding).
    gates, hn, hprev : ndarray
        As filled by :func:`gru_forward`.
    whh : ndarray of shape (3H, H)
        ``W_hh`` (C-contiguous).
    lengths, reverse : as in :func:`gru_forward`
    dgx : ndarray of shape (T, B, 3H)
        Output: gradient with respect to ``xproj`` (gives ``W_ih``, ``b_ih``
        and the layer input).
    dgh : ndarray of shape (T, B, 3H)
        Output: gradient with respect to ``W_hh h + b_hh`` (gives ``W_hh``
        and ``b_hh``).
    dh_state : ndarray of shape (B, H)
        Output: gradient with respect to ``h0``.
    tmp : ndarray of shape (B, H)
        Workspace.
    use_blas : bool
    """
    T, B, G = gates.shape
    H = hprev.shape[2]
    one = unit(gates)
    dh_state[:] = 0.0
    for s in range(T):
        t = s if reverse else T - 1 - s
        n = active_rows(lengths, t)
        dgx[t, n:] = 0.0
        dgh[t, n:] = 0.0
        if n == 0:
            continue
        for b in range(n):
            g = gates[t, b]
            hp = hprev[t, b]
            hnb = hn[t, b]
            dx = dgx[t, b]
            dr = dgh[t, b]
            dh = dhs[t, b]
            dhb = dh_state[b]
            for j in range(H):
                r = g[j]
                z = g[H + j]
                nn = g[2 * H + j]
                dht = dh[j] + dhb[j]
                dnp = dht * (one - z) * (one - nn * nn)
                dzp = dht * (hp[j] - nn) * z * (one - z)
                drp = dnp * hnb[j] * r * (one - r)
                dx[j] = drp
                dx[H + j] = dzp
                dx[2 * H + j] = dnp
                dr[j] = drp
                dr[H + j] = dzp
                dr[2 * H + j] = dnp * r
                dhb[j] = dht * z
        matmul(dgh[t, :n], whh, tmp[:n], use_blas)
        for b in range(n):
            for j in range(H):
                dh_state[b, j] += tmp[b, j]
