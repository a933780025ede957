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
from ._math import sigmoid_s, tanh_s, unit
from ._ops import active_rows, copy_rows, step_matmul, step_weights, zero_rows


@jit
def gru_forward(xproj, whh_t, bhh, lengths, reverse, h0,
                hs, hprev, gates, hn, h_state, rec, use_blas, r0, r1):
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
    use_blas : bool
    r0, r1 : int
        The rows this call runs (``0, B``: all). The other rows are not
        read or written, so blocks of rows of one batch can run on
        different threads; each row's numbers do not depend on the block.
    """
    T, B, G = xproj.shape
    H = h0.shape[1]
    S = gates.shape[0]  # T when the backward pass needs every step, else 1 (inference)
    copy_rows(h_state, h0, r0, r1)
    wp = step_weights(whh_t)  # packed once, reused by every step's product
    for s in range(T):
        t = T - 1 - s if reverse else s
        ts = t if S == T else 0
        n = active_rows(lengths, t)
        m = min(n, r1)  # this call's running rows: r0:m
        lo = max(n, r0)
        zero_rows(hs[t, :r1], lo)  # padding outputs (rows < n are written below)
        if S == T:  # training keeps what the backward pass reads
            copy_rows(hprev[t], h_state, r0, r1)
            zero_rows(gates[t, :r1], lo)
            zero_rows(hn[t, :r1], lo)
        if m <= r0:
            continue
        step_matmul(h_state[r0:m], wp, whh_t, rec[r0:m], False, use_blas)
        for b in range(r0, m):
            g = gates[ts, b]
            xp = xproj[t, b]
            rb = rec[b]
            for j in range(2 * H):  # r and z
                g[j] = sigmoid_s(xp[j] + rb[j] + bhh[j])
            hnb = hn[ts, b]
            rn = rb[2 * H:]
            bn = bhh[2 * H:]
            for j in range(H):
                hnb[j] = rn[j] + bn[j]
            gr = g[:H]
            xn = xp[2 * H:]
            gn = g[2 * H:]
            for j in range(H):
                gn[j] = tanh_s(xn[j] + gr[j] * hnb[j])
            gz = g[H:2 * H]
            hb = h_state[b]
            ht = hs[t, b]
            for j in range(H):
                v = gn[j] + gz[j] * (hb[j] - gn[j])
                hb[j] = v
                ht[j] = v


@jit
def gru_backward(dhs, gates, hn, hprev, whh, lengths, reverse,
                 dgx, dgh, dh_state, use_blas, r0, r1):
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
        In and out: on entry the gradient with respect to the final state
        ``h_n`` (zeros where the loss does not read it), on exit the
        gradient with respect to ``h0``.
    use_blas : bool
    r0, r1 : int
        The rows this call runs (``0, B``: all). The other rows are not
        read or written, so blocks of rows of one batch can run on
        different threads; each row's numbers do not depend on the block.
    """
    T, B, G = gates.shape
    H = hprev.shape[2]
    one = unit(gates)
    wp = step_weights(whh)  # packed once, reused by every step's product
    for s in range(T):
        t = s if reverse else T - 1 - s
        n = active_rows(lengths, t)
        m = min(n, r1)  # this call's running rows: r0:m
        lo = max(n, r0)
        zero_rows(dgx[t, :r1], lo)
        zero_rows(dgh[t, :r1], lo)
        if m <= r0:
            continue
        for b in range(r0, m):
            g = gates[t, b]
            gr, gz, gn = g[:H], g[H:2 * H], g[2 * H:]
            hp = hprev[t, b]
            hnb = hn[t, b]
            dx = dgx[t, b]
            dxr, dxz, dxn = dx[:H], dx[H:2 * H], dx[2 * H:]
            dh = dhs[t, b]
            dhb = dh_state[b]
            for j in range(H):
                dht = dh[j] + dhb[j]
                z = gz[j]
                nv = gn[j]
                dnp = dht * (one - z) * (one - nv * nv)
                dxn[j] = dnp
                dxz[j] = dht * (hp[j] - nv) * z * (one - z)
                dhb[j] = dht * z
            for j in range(H):
                r = gr[j]
                dxr[j] = dxn[j] * hnb[j] * r * (one - r)
            dr = dgh[t, b]
            for j in range(2 * H):
                dr[j] = dx[j]
            drn = dr[2 * H:]
            for j in range(H):
                drn[j] = dxn[j] * gr[j]
        step_matmul(dgh[t, r0:m], wp, whh, dh_state[r0:m], True, use_blas)
