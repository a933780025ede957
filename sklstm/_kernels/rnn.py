"""Plain tanh RNN kernels (torch.nn.RNN's layout): ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)``.

The vanishing-gradient baseline. Conventions are those of
:mod:`sklstm._kernels.lstm`.
"""

from ._jit import jit
from ._math import tanh_s, unit
from ._ops import active_rows, copy_rows, step_matmul, step_weights, zero_rows


@jit
def rnn_forward(xproj, whh_t, bhh, lengths, reverse, h0,
                hs, hprev, h_state, rec, use_blas, r0, r1):
    """Run one tanh-RNN layer over a padded, length-sorted batch.

    Parameters
    ----------
    xproj : ndarray of shape (T, B, H)
        Input projection including ``b_ih``.
    whh_t : ndarray of shape (H, H)
        ``W_hh.T`` (C-contiguous).
    bhh : ndarray of shape (H,)
    lengths : int64 ndarray of shape (B,), sorted decreasing
    reverse : bool
    h0 : ndarray of shape (B, H)
    hs : ndarray of shape (T, B, H)
        Output: h after each step (0 at padding).
    hprev : ndarray of shape (S, B, H)
        Output: h before each step (S = T for training, 1 for inference).
    h_state : ndarray of shape (B, H)
        Output: final state h_n.
    rec : ndarray of shape (B, H)
        Workspace.
    use_blas : bool
    r0, r1 : int
        The rows this call runs (``0, B``: all). The other rows are not
        read or written, so blocks of rows of one batch can run on
        different threads; each row's numbers do not depend on the block.
    """
    T, B, H = xproj.shape
    S = hprev.shape[0]  # T for training, 1 for inference
    copy_rows(h_state, h0, r0, r1)
    wp = step_weights(whh_t)  # packed once, reused by every step's product
    for s in range(T):
        t = T - 1 - s if reverse else s
        n = active_rows(lengths, t)
        m = min(n, r1)  # this call's running rows: r0:m
        lo = max(n, r0)
        zero_rows(hs[t, :r1], lo)  # padding outputs (rows < n are written below)
        if S == T:  # training keeps what the backward pass reads
            copy_rows(hprev[t], h_state, r0, r1)
        if m <= r0:
            continue
        step_matmul(h_state[r0:m], wp, whh_t, rec[r0:m], False, use_blas)
        for b in range(r0, m):
            ht = hs[t, b]
            hb = h_state[b]
            xp = xproj[t, b]
            rb = rec[b]
            for j in range(H):
                hv = tanh_s(xp[j] + rb[j] + bhh[j])
                ht[j] = hv
                hb[j] = hv


@jit
def rnn_backward(dhs, hs, whh, lengths, reverse, dgates, dh_state, use_blas, r0, r1):
    """Backpropagate through one tanh-RNN layer (BPTT).

    Parameters
    ----------
    dhs : ndarray of shape (T, B, H)
        Gradient with respect to each step's output (zero at padding).
    hs : ndarray of shape (T, B, H)
        As filled by :func:`rnn_forward`.
    whh : ndarray of shape (H, H)
        ``W_hh`` (C-contiguous).
    lengths, reverse : as in :func:`rnn_forward`
    dgates : ndarray of shape (T, B, H)
        Output: gradient with respect to the pre-activation.
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
    T, B, H = hs.shape
    one = unit(hs)
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
            h = hs[t, b]
            dh = dhs[t, b]
            dg = dgates[t, b]
            dhb = dh_state[b]
            for j in range(H):
                dg[j] = (dh[j] + dhb[j]) * (one - h[j] * h[j])
        step_matmul(dgates[t, r0:m], wp, whh, dh_state[r0:m], False, use_blas)
