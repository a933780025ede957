"""tanh-RNN kernels on the GPU: the twins of :mod:`sklstm._kernels.rnn`.

One thread block per sequence, as in :mod:`sklstm._kernels.cuda.lstm`.
"""

import math

from numba import cuda

from ._common import block_size, kernel, one_of

__all__ = ["rnn_forward", "rnn_backward"]


@kernel
def _rnn_forward(xproj, whh_t, bhh, lengths, reverse, h0, hs, hprev, h_state, rec):
    b = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    T = xproj.shape[0]
    H = h0.shape[1]
    S = hprev.shape[0]
    L = lengths[b]
    for j in range(tid, H, nt):
        h_state[b, j] = h0[b, j]
    cuda.syncthreads()
    for s in range(T):
        t = T - 1 - s if reverse else s
        if t >= L:
            for j in range(tid, H, nt):
                hs[t, b, j] = 0
                if S == T:
                    hprev[t, b, j] = h_state[b, j]
            continue
        for r in range(tid, H, nt):
            acc = xproj[t, b, r] + bhh[r]
            for k in range(H):
                acc += whh_t[k, r] * h_state[b, k]
            rec[b, r] = acc
        cuda.syncthreads()
        for j in range(tid, H, nt):
            if S == T:
                hprev[t, b, j] = h_state[b, j]
            hv = math.tanh(rec[b, j])
            h_state[b, j] = hv
            hs[t, b, j] = hv
        cuda.syncthreads()


@kernel
def _rnn_backward(dhs, hs, whh, lengths, reverse, dgates, dh_state, one):
    b = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    T = hs.shape[0]
    H = hs.shape[2]
    L = lengths[b]
    for s in range(T):
        t = s if reverse else T - 1 - s
        if t >= L:
            for j in range(tid, H, nt):
                dgates[t, b, j] = 0
            continue
        for j in range(tid, H, nt):
            hv = hs[t, b, j]
            dgates[t, b, j] = (dhs[t, b, j] + dh_state[b, j]) * (one - hv * hv)
        cuda.syncthreads()
        for k in range(tid, H, nt):
            acc = one - one
            for r in range(H):
                acc += dgates[t, b, r] * whh[r, k]
            dh_state[b, k] = acc


def rnn_forward(xproj, whh_t, bhh, lengths, reverse, h0, hs, hprev, h_state, rec):
    """Run one tanh-RNN layer over a padded batch on the GPU.

    Parameters
    ----------
    xproj, whh_t, bhh, lengths, reverse, h0
        As in :func:`sklstm._kernels.rnn.rnn_forward` (device arrays).
    hs, hprev, h_state
        Outputs, as there.
    rec : device array of shape (B, H)
        Workspace (the current step's pre-activation).
    """
    B = xproj.shape[1]
    if B == 0:
        return
    _rnn_forward[B, block_size(xproj.shape[2])](
        xproj, whh_t, bhh, lengths, bool(reverse), h0, hs, hprev, h_state, rec)


def rnn_backward(dhs, hs, whh, lengths, reverse, dgates, dh_state):
    """Backpropagate through one tanh-RNN layer on the GPU (BPTT).

    Parameters
    ----------
    dhs, hs, whh, lengths, reverse
        As in :func:`sklstm._kernels.rnn.rnn_backward` (device arrays).
    dgates
        Output, as there.
    dh_state
        In and out, as there: the gradient with respect to ``h_n`` on entry,
        with respect to ``h0`` on exit.
    """
    B = hs.shape[1]
    if B == 0:
        return
    _rnn_backward[B, block_size(hs.shape[2])](dhs, hs, whh, lengths, bool(reverse), dgates, dh_state,
                                              one_of(hs))
