"""GRU kernels on the GPU: the twins of :mod:`sklstm._kernels.gru` (torch.nn.GRU's equations).

One thread block per sequence, as in :mod:`sklstm._kernels.cuda.lstm`.
"""

import math

from numba import cuda

from ._common import block_size, kernel, one_of, sigmoid

__all__ = ["gru_forward", "gru_backward"]


@kernel
def _gru_forward(xproj, whh_t, bhh, lengths, reverse, h0, hs, hprev, gates, hn, h_state, rec, one):
    b = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    T = xproj.shape[0]
    G = xproj.shape[2]
    H = h0.shape[1]
    S = gates.shape[0]
    L = lengths[b]
    for j in range(tid, H, nt):
        h_state[b, j] = h0[b, j]
    cuda.syncthreads()
    for s in range(T):
        t = T - 1 - s if reverse else s
        ts = t if S == T else 0
        if t >= L:
            for j in range(tid, H, nt):
                hs[t, b, j] = 0
                if S == T:
                    hprev[t, b, j] = h_state[b, j]
                    hn[t, b, j] = 0
            if S == T:
                for r in range(tid, G, nt):
                    gates[t, b, r] = 0
            continue
        for r in range(tid, G, nt):  # W_hh h + b_hh, one gate row per thread
            acc = bhh[r]
            for k in range(H):
                acc += whh_t[k, r] * h_state[b, k]
            rec[b, r] = acc
        cuda.syncthreads()
        for j in range(tid, H, nt):
            rv = sigmoid(xproj[t, b, j] + rec[b, j], one)
            zv = sigmoid(xproj[t, b, H + j] + rec[b, H + j], one)
            hnv = rec[b, 2 * H + j]
            nv = math.tanh(xproj[t, b, 2 * H + j] + rv * hnv)
            gates[ts, b, j] = rv
            gates[ts, b, H + j] = zv
            gates[ts, b, 2 * H + j] = nv
            hn[ts, b, j] = hnv
            hp = h_state[b, j]
            if S == T:
                hprev[t, b, j] = hp
            hv = nv + zv * (hp - nv)
            h_state[b, j] = hv
            hs[t, b, j] = hv
        cuda.syncthreads()


@kernel
def _gru_backward(dhs, gates, hn, hprev, whh, lengths, reverse, dgx, dgh, dh_state, one):
    b = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    T = gates.shape[0]
    G = gates.shape[2]
    H = hprev.shape[2]
    L = lengths[b]
    for s in range(T):
        t = s if reverse else T - 1 - s
        if t >= L:
            for r in range(tid, G, nt):
                dgx[t, b, r] = 0
                dgh[t, b, r] = 0
            continue
        for j in range(tid, H, nt):
            dht = dhs[t, b, j] + dh_state[b, j]
            rv = gates[t, b, j]
            zv = gates[t, b, H + j]
            nv = gates[t, b, 2 * H + j]
            dnp = dht * (one - zv) * (one - nv * nv)
            dxz = dht * (hprev[t, b, j] - nv) * zv * (one - zv)
            dxr = dnp * hn[t, b, j] * rv * (one - rv)
            dgx[t, b, j] = dxr
            dgx[t, b, H + j] = dxz
            dgx[t, b, 2 * H + j] = dnp
            dgh[t, b, j] = dxr
            dgh[t, b, H + j] = dxz
            dgh[t, b, 2 * H + j] = dnp * rv
            dh_state[b, j] = dht * zv  # the direct path; the recurrent products are added below
        cuda.syncthreads()
        for k in range(tid, H, nt):
            acc = one - one
            for r in range(G):
                acc += dgh[t, b, r] * whh[r, k]
            dh_state[b, k] += acc


def gru_forward(xproj, whh_t, bhh, lengths, reverse, h0, hs, hprev, gates, hn, h_state, rec):
    """Run one GRU layer over a padded batch on the GPU.

    Parameters
    ----------
    xproj, whh_t, bhh, lengths, reverse, h0
        As in :func:`sklstm._kernels.gru.gru_forward` (device arrays).
    hs, hprev, gates, hn, h_state
        Outputs, as there.
    rec : device array of shape (B, 3H)
        Workspace (``W_hh h + b_hh`` of the current step).
    """
    B = xproj.shape[1]
    if B == 0:
        return
    _gru_forward[B, block_size(xproj.shape[2])](
        xproj, whh_t, bhh, lengths, bool(reverse), h0, hs, hprev, gates, hn, h_state, rec, one_of(xproj))


def gru_backward(dhs, gates, hn, hprev, whh, lengths, reverse, dgx, dgh, dh_state):
    """Backpropagate through one GRU layer on the GPU (BPTT).

    Parameters
    ----------
    dhs, gates, hn, hprev, whh, lengths, reverse
        As in :func:`sklstm._kernels.gru.gru_backward` (device arrays).
    dgx, dgh
        Outputs, as there.
    dh_state
        In and out, as there: the gradient with respect to ``h_n`` on entry,
        with respect to ``h0`` on exit.
    """
    B = gates.shape[1]
    if B == 0:
        return
    _gru_backward[B, block_size(hprev.shape[2])](
        dhs, gates, hn, hprev, whh, lengths, bool(reverse), dgx, dgh, dh_state, one_of(gates))
