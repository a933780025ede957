"""LSTM kernels: forward and backward through time of one layer, one direction.

Two cells share this code. With ``forget=True`` it is the LSTM of Gers et
al. (2000) with torch.nn.LSTM's gate order ``i, f, g, o`` (4H rows); with
``forget=False`` it is the 1997 cell of Hochreiter & Schmidhuber, gates
``i, g, o`` (3H rows) and the constant error carousel ``c_t = c_{t-1} + i*g``.

All arrays are time-major: ``(T, B, ...)``. The batch must be sorted by
decreasing length (see :func:`active_rows`); padded steps produce ``h = 0``
and leave the state untouched, so a sequence's result is the same alone or
padded among longer ones. ``xproj`` holds ``x @ W_ih.T + b_ih`` computed
beforehand as one big product; ``b_hh`` is added inside the step loop.
The elementwise work of a step is one fused loop per sequence over the
hidden units (gates, cell update, output), which vectorizes in float32.
Every gate is ``_math.gate_s``: in float32 ``a * tanh(s * v) + b`` (one
multiply-add; the candidate is ``tanh`` itself, the sigmoid gates
``0.5 * tanh(v / 2) + 0.5``), so one loop with per-column ``a, s, b`` covers
all gates; in float64 plain ``tanh`` and ``sigmoid``.
"""

import numpy as np

from ._gemm import gemm_packed, pack_panels, panel_width
from ._jit import jit
from ._math import gate_s, prefer_wide_vectors, tanh_s, unit
from ._ops import active_rows, copy_rows, step_matmul, step_weights, zero_rows


@jit
def lstm_forward(xproj, whh_t, bhh, lengths, reverse, forget, h0, c0,
                 hs, hprev, cs, tcs, gates, h_state, c_state, rec, use_blas, r0, r1):
    """Run one LSTM layer over a padded, length-sorted batch.

    Parameters
    ----------
    xproj : ndarray of shape (T, B, G*H)
        Input projection including ``b_ih`` (G = 4, or 3 without forget gate).
    whh_t : ndarray of shape (H, G*H)
        Transposed recurrent weights ``W_hh.T`` (C-contiguous).
    bhh : ndarray of shape (G*H,)
    lengths : int64 ndarray of shape (B,), sorted decreasing
    reverse : bool
        Walk time backwards (the reverse direction of a bidirectional layer).
    forget : bool
        Gers et al. cell (True) or the 1997 cell (False).
    h0, c0 : ndarray of shape (B, H)
        Initial states.
    hs : ndarray of shape (T, B, H)
        Output: h after each step (0 at padding).
    hprev, cs, tcs : ndarray of shape (S, B, H)
        Outputs: h before each step, c after each step and ``tanh(c)``.
        S = T keeps every step for the backward pass; S = 1 (inference)
        keeps only the current step.
    gates : ndarray of shape (T or 1, B, G*H)
        Output: gate activations (after the nonlinearities); may be the
        same array as ``xproj`` (computed in place, the fast path).
    h_state, c_state : ndarray of shape (B, H)
        Output: final states (h_n, c_n).
    rec : ndarray of shape (B, G*H)
        Workspace.
    use_blas : bool
        See :func:`matmul`.
    r0, r1 : int
        The rows this call runs (``0, B``: all). The other rows are not
        read or written, so blocks of rows of one batch can run on
        different threads; each row's numbers do not depend on the block.
    """
    T, B, G = xproj.shape
    H = h0.shape[1]
    og = 3 * H if forget else 2 * H
    gg = 2 * H if forget else H
    S = cs.shape[0]  # T when the backward pass needs every step, else 1 (inference)
    SG = gates.shape[0]  # T (gates may then be xproj itself, computed in place) or 1
    # per-column constants of gate_s: a = s = b = 1/2 (sigmoid) but on the candidate block (tanh:
    # a = s = 1, b = 0); a and s are always equal, so one array serves both
    one = unit(gates)
    half = one / (one + one)
    scale = np.empty(G, dtype=gates.dtype)
    beta = np.empty(G, dtype=gates.dtype)
    for j in range(G):
        candidate = gg <= j < gg + H
        scale[j] = one if candidate else half
        beta[j] = one - one if candidate else half
    inplace = xproj.ctypes.data == gates.ctypes.data
    copy_rows(h_state, h0, r0, r1)
    copy_rows(c_state, c0, r0, r1)
    wp = step_weights(whh_t)  # packed once, reused by every step's product
    for s in range(T):
        t = T - 1 - s if reverse else s
        ts = t if S == T else 0
        tg = t if SG == T else 0
        n = active_rows(lengths, t)
        m = min(n, r1)  # this call's running rows: r0:m
        lo = max(n, r0)
        zero_rows(hs[t, :r1], lo)  # padding outputs (rows < n are written below)
        if S == T:  # training keeps what the backward pass reads
            copy_rows(hprev[t], h_state, r0, r1)
            zero_rows(gates[tg, :r1], lo)
            copy_rows(cs[t], c_state, lo, r1)
        if m <= r0:
            continue
        step_matmul(h_state[r0:m], wp, whh_t, rec[r0:m], False, use_blas)
        for b in range(r0, m):
            g = gates[tg, b]
            rb = rec[b]
            if not inplace:
                xp = xproj[t, b]
                for j in range(G):
                    g[j] = xp[j]
            # in place so that LLVM needs no overlap check between xproj and gates (it would fail)
            for j in range(G):
                g[j] = gate_s(g[j] + rb[j] + bhh[j], scale[j], scale[j], beta[j], gg <= j < gg + H)
            cb = c_state[b]
            gi = g[:H]
            gc = g[gg:gg + H]
            if forget:
                gfv = g[H:2 * H]
                for j in range(H):
                    cb[j] = gfv[j] * cb[j] + gi[j] * gc[j]
            else:
                for j in range(H):
                    cb[j] = cb[j] + gi[j] * gc[j]
            ct = cs[ts, b]
            tc = tcs[ts, b]
            for j in range(H):
                v = cb[j]
                ct[j] = v
                tc[j] = tanh_s(v)
            go = g[og:og + H]
            hb = h_state[b]
            ht = hs[t, b]
            for j in range(H):
                v = go[j] * tc[j]
                hb[j] = v
                ht[j] = v


@jit
def lstm_infer(x, w_ih_t, b_ih, b_hh, whh_t, lengths, reverse, forget, h0, c0, hs, h_state, c_state):
    """Inference through one LSTM layer (no caches), in a gate-major layout.

    Each gate block of the weights is packed on its own, so the products of
    a step (input and recurrent, per gate) land gate-major in ``(G, B, H)``;
    then every elementwise pass is one flat loop over the ``n * H`` values of
    the running sequences (rows ``:n`` of each gate block are contiguous)
    instead of short loops over ``H`` per sequence. The input projection is
    computed step by step, so no ``(T, B, G*H)`` array is ever held. The
    arithmetic is that of :func:`lstm_forward`, operation for operation, so
    the results are bitwise equal to it (and independent of the batch) as
    long as the input width ``D`` is at most ``_gemm.KC`` (a wider input is
    summed in blocks by the training path's product). Per step it makes two
    product calls per gate, so it pays off from a few sequences on; single
    sequences are faster through :func:`lstm_forward`.

    Parameters
    ----------
    x : ndarray of shape (T*B, D)
        The layer's input, time-major rows (step ``t``, sequence ``b`` at row
        ``t*B + b``).
    w_ih_t : ndarray of shape (D, G*H)
        Transposed input weights ``W_ih.T``; gate blocks ``i, f, g, o`` (or
        ``i, g, o`` without forget gate).
    b_ih, b_hh : ndarray of shape (G*H,)
    whh_t : ndarray of shape (H, G*H)
        Transposed recurrent weights ``W_hh.T``.
    lengths, reverse, forget : as in :func:`lstm_forward`
    h0, c0 : ndarray of shape (B, H)
        Initial states.
    hs : ndarray of shape (T, B, H)
        Output: h after each step (0 at padding).
    h_state, c_state : ndarray of shape (B, H)
        Output: final states (h_n, c_n).
    """
    prefer_wide_vectors()
    T, B, H = hs.shape
    D = x.shape[1]
    G = w_ih_t.shape[1] // H
    dt = hs.dtype
    nr = panel_width(hs)
    P = (H + nr - 1) // nr
    wip = np.empty((G, P, D, nr), dtype=dt)
    wp = np.empty((G, P, H, nr), dtype=dt)
    bi = np.empty((G, B * H), dtype=dt)  # the biases repeated for every row: flat loops add them
    bh = np.empty((G, B * H), dtype=dt)
    for g in range(G):
        pack_panels(w_ih_t[:, g * H:(g + 1) * H], wip[g])
        pack_panels(whh_t[:, g * H:(g + 1) * H], wp[g])
        for r in range(B):
            for j in range(H):
                bi[g, r * H + j] = b_ih[g * H + j]
                bh[g, r * H + j] = b_hh[g * H + j]
    xs = np.empty((G, B, H), dtype=dt)
    rec = np.empty((G, B, H), dtype=dt)
    gi = 0
    gf = 1 if forget else 0
    gc = 2 if forget else 1
    go = G - 1
    one = unit(hs)
    half = one / (one + one)  # stays float32 (one / 2 would be float64)
    zero = one - one
    copy_rows(h_state, h0, 0, B)
    copy_rows(c_state, c0, 0, B)
    xf = xs.reshape(G, B * H)
    rf = rec.reshape(G, B * H)
    cf = c_state.reshape(B * H)
    hf = h_state.reshape(B * H)
    for s in range(T):
        t = T - 1 - s if reverse else s
        n = active_rows(lengths, t)
        zero_rows(hs[t], n)
        if n == 0:
            continue
        m = n * H
        xt = x[t * B:t * B + n]
        for g in range(G):
            gemm_packed(xt, wip[g], xs[g, :n], False)
            gemm_packed(h_state[:n], wp[g], rec[g, :n], False)
            r = rf[g, :m]
            xx = xf[g, :m]
            ib = bi[g, :m]
            hb = bh[g, :m]
            # ((x W_ih + b_ih) + h W_hh) + b_hh: lstm_forward's order of additions
            # lstm_forward's gate_s, with a = s = b = 1/2 (sigmoid) or 1, 1, 0 (tanh)
            if g == gc:
                for k in range(m):
                    r[k] = gate_s(xx[k] + ib[k] + r[k] + hb[k], one, one, zero, True)
            else:
                for k in range(m):
                    r[k] = gate_s(xx[k] + ib[k] + r[k] + hb[k], half, half, half, False)
        ri, rf_, rc, ro = rf[gi, :m], rf[gf, :m], rf[gc, :m], rf[go, :m]
        c = cf[:m]
        if forget:
            for k in range(m):
                c[k] = rf_[k] * c[k] + ri[k] * rc[k]
        else:
            for k in range(m):
                c[k] = c[k] + ri[k] * rc[k]
        h = hf[:m]
        for k in range(m):
            h[k] = ro[k] * tanh_s(c[k])
        copy_rows(hs[t], h_state, 0, n)


@jit
def lstm_backward(dhs, gates, cs, tcs, c0, whh, lengths, reverse, forget,
                  dgates, dh_state, dc_state, use_blas, r0, r1):
    """Backpropagate through one LSTM layer (BPTT).

    Parameters
    ----------
    dhs : ndarray of shape (T, B, H)
        Gradient of the loss with respect to each step's output ``h``
        (zero at padding).
    gates, cs, tcs : ndarray
        As filled by :func:`lstm_forward`.
    c0 : ndarray of shape (B, H)
        Initial cell state of the forward call.
    whh : ndarray of shape (G*H, H)
        Recurrent weights ``W_hh`` (C-contiguous).
    lengths, reverse, forget : as in :func:`lstm_forward`
    dgates : ndarray of shape (T, B, G*H)
        Output: gradient with respect to the gate pre-activations (zero at
        padding). Weight gradients are products of it computed afterwards.
    dh_state, dc_state : ndarray of shape (B, H)
        In and out. On entry: the gradients of the loss with respect to
        the final states ``h_n`` and ``c_n`` (zeros where the loss does not
        read them). On exit: the gradients with respect to ``h0`` and
        ``c0``.
    use_blas : bool
        See :func:`matmul`.
    r0, r1 : int
        The rows this call runs (``0, B``: all). The other rows are not
        read or written, so blocks of rows of one batch can run on
        different threads; each row's numbers do not depend on the block.
    """
    T, B, G = gates.shape
    H = c0.shape[1]
    og = 3 * H if forget else 2 * H
    gg = 2 * H if forget else H
    one = unit(gates)
    wp = step_weights(whh)  # packed once, reused by every step's product
    for s in range(T):
        t = s if reverse else T - 1 - s
        n = active_rows(lengths, t)
        m = min(n, r1)  # this call's running rows: r0:m
        lo = max(n, r0)
        zero_rows(dgates[t, :r1], lo)
        if m <= r0:
            continue
        for b in range(r0, m):
            g = gates[t, b]
            dg = dgates[t, b]
            gi, gc, go = g[:H], g[gg:gg + H], g[og:og + H]
            di, dc, do = dg[:H], dg[gg:gg + H], dg[og:og + H]
            tcb = tcs[t, b]
            dh = dhs[t, b]
            dhb = dh_state[b]
            dcb = dc_state[b]
            for j in range(H):  # dcb <- gradient with respect to c_t
                tc = tcb[j]
                ov = go[j]
                dht = dh[j] + dhb[j]
                do[j] = dht * tc * ov * (one - ov)
                dcb[j] = dcb[j] + dht * ov * (one - tc * tc)
            for j in range(H):
                iv = gi[j]
                gv = gc[j]
                dct = dcb[j]
                di[j] = dct * gv * iv * (one - iv)
                dc[j] = dct * iv * (one - gv * gv)
            if forget:
                if reverse:
                    cp = cs[t + 1, b] if t + 1 < lengths[b] else c0[b]
                else:
                    cp = cs[t - 1, b] if t > 0 else c0[b]
                gfv = g[H:2 * H]
                dfv = dg[H:2 * H]
                for j in range(H):
                    fv = gfv[j]
                    dfv[j] = dcb[j] * cp[j] * fv * (one - fv)
                    dcb[j] = dcb[j] * fv
        step_matmul(dgates[t, r0:m], wp, whh, dh_state[r0:m], False, use_blas)
