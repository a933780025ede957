"""LSTM kernels on the GPU: the twins of :mod:`sklstm._kernels.lstm`.

One thread block runs one sequence (grid = batch), walking all its steps:
per step the block's threads first compute the gate pre-activations (one
recurrent dot product per gate row, reading ``W_hh.T`` so that neighbouring
threads read neighbouring memory), synchronise, then update the cell one
hidden unit per thread. Sequences never wait for each other, so ragged
lengths cost nothing and results do not depend on the batch.
Arguments, shapes and outputs are those of the CPU kernels (minus their
workspace and BLAS switch); arrays are numba device arrays.
"""

import math

from numba import cuda

from ._common import block_size, kernel, one_of, sigmoid

__all__ = ["lstm_forward", "lstm_backward"]


@kernel
def _lstm_forward(xproj, whh_t, bhh, lengths, reverse, forget, h0, c0,
                  hs, hprev, cs, tcs, gates, h_state, c_state, one):
    b = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    T = xproj.shape[0]
    G = xproj.shape[2]
    H = h0.shape[1]
    og = 3 * H if forget else 2 * H
    gg = 2 * H if forget else H
    S = cs.shape[0]
    SG = gates.shape[0]
    L = lengths[b]
    for j in range(tid, H, nt):
        h_state[b, j] = h0[b, j]
        c_state[b, j] = c0[b, j]
    cuda.syncthreads()
    for s in range(T):
        t = T - 1 - s if reverse else s
        ts = t if S == T else 0
        tg = t if SG == T else 0
        if t >= L:  # padding: output 0, state untouched (the same branch for the whole block)
            for j in range(tid, H, nt):
                hs[t, b, j] = 0
                if S == T:
                    hprev[t, b, j] = h_state[b, j]
                    cs[t, b, j] = c_state[b, j]
            if S == T:
                for r in range(tid, G, nt):
                    gates[tg, b, r] = 0
            continue
        for r in range(tid, G, nt):
            acc = xproj[t, b, r] + bhh[r]
            for k in range(H):
                acc += whh_t[k, r] * h_state[b, k]
            gates[tg, b, r] = acc
        cuda.syncthreads()
        for j in range(tid, H, nt):
            iv = sigmoid(gates[tg, b, j], one)
            gv = math.tanh(gates[tg, b, gg + j])
            ov = sigmoid(gates[tg, b, og + j], one)
            gates[tg, b, j] = iv
            gates[tg, b, gg + j] = gv
            gates[tg, b, og + j] = ov
            if forget:
                fv = sigmoid(gates[tg, b, H + j], one)
                gates[tg, b, H + j] = fv
                c = fv * c_state[b, j] + iv * gv
            else:
                c = c_state[b, j] + iv * gv
            tc = math.tanh(c)
            if S == T:
                hprev[t, b, j] = h_state[b, j]
            cs[ts, b, j] = c
            tcs[ts, b, j] = tc
            c_state[b, j] = c
            hv = ov * tc
            h_state[b, j] = hv
            hs[t, b, j] = hv
        cuda.syncthreads()


@kernel
def _lstm_backward(dhs, gates, cs, tcs, c0, whh, lengths, reverse, forget,
                   dgates, dh_state, dc_state, one):
    b = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    T = gates.shape[0]
    G = gates.shape[2]
    H = c0.shape[1]
    og = 3 * H if forget else 2 * H
    gg = 2 * H if forget else H
    L = lengths[b]
    for s in range(T):
        t = s if reverse else T - 1 - s
        if t >= L:
            for r in range(tid, G, nt):
                dgates[t, b, r] = 0
            continue
        # phase 1, one hidden unit per thread: gradients of the gate pre-activations
        for j in range(tid, H, nt):
            tc = tcs[t, b, j]
            ov = gates[t, b, og + j]
            dht = dhs[t, b, j] + dh_state[b, j]
            dgates[t, b, og + j] = dht * tc * ov * (one - ov)
            dc = dc_state[b, j] + dht * ov * (one - tc * tc)
            iv = gates[t, b, j]
            gv = gates[t, b, gg + j]
            dgates[t, b, j] = dc * gv * iv * (one - iv)
            dgates[t, b, gg + j] = dc * iv * (one - gv * gv)
            if forget:
                if reverse:
                    cp = cs[t + 1, b, j] if t + 1 < L else c0[b, j]
                else:
                    cp = cs[t - 1, b, j] if t > 0 else c0[b, j]
                fv = gates[t, b, H + j]
                dgates[t, b, H + j] = dc * cp * fv * (one - fv)
                dc = dc * fv
            dc_state[b, j] = dc
        cuda.syncthreads()
        # phase 2: dh_{t-1} = dgates_t @ W_hh (thread k reads column k: neighbours are adjacent)
        for k in range(tid, H, nt):
            acc = one - one
            for r in range(G):
                acc += dgates[t, b, r] * whh[r, k]
            dh_state[b, k] = acc
        # no second barrier: the next phase 1 reads only this thread's own units of dh_state,
        # and writes dgates of another step than the one phase 2 reads


def lstm_forward(xproj, whh_t, bhh, lengths, reverse, forget, h0, c0,
                 hs, hprev, cs, tcs, gates, h_state, c_state):
    """Run one LSTM layer over a padded, length-sorted batch on the GPU.

    Parameters
    ----------
    xproj, whh_t, bhh, lengths, reverse, forget, h0, c0
        As in :func:`sklstm._kernels.lstm.lstm_forward` (device arrays).
    hs, hprev, cs, tcs, gates, h_state, c_state
        Outputs, as there. ``gates`` may be ``xproj`` (computed in place).
        Lengths need not be sorted here: each sequence has its own block.
    """
    B = xproj.shape[1]
    if B == 0:
        return
    _lstm_forward[B, block_size(xproj.shape[2])](
        xproj, whh_t, bhh, lengths, bool(reverse), bool(forget), h0, c0,
        hs, hprev, cs, tcs, gates, h_state, c_state, one_of(xproj))


def lstm_backward(dhs, gates, cs, tcs, c0, whh, lengths, reverse, forget, dgates, dh_state, dc_state):
    """Backpropagate through one LSTM layer on the GPU (BPTT).

    Parameters
    ----------
    dhs, gates, cs, tcs, c0, whh, lengths, reverse, forget
        As in :func:`sklstm._kernels.lstm.lstm_backward` (device arrays).
    dgates
        Output, as there.
    dh_state, dc_state
        In and out, as there: the gradients with respect to ``h_n``, ``c_n``
        on entry, with respect to ``h0``, ``c0`` on exit.
    """
    B = gates.shape[1]
    if B == 0:
        return
    _lstm_backward[B, block_size(c0.shape[1])](
        dhs, gates, cs, tcs, c0, whh, lengths, bool(reverse), bool(forget),
        dgates, dh_state, dc_state, one_of(gates))
