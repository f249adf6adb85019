"""The GRU's Numba kernels for batches (16 rows and more, ``reset_after=True``): packed
weights, one product a step, as :mod:`lstm_np.kernels.lstm_wide` does for the LSTM.

The step is one product on the stacked ``S (F+H+1, 4H)`` whose four column blocks are the
update gate, the reset gate, and the candidate's two halves, kept apart because the reset
gate scales only the recurrent one (Keras' ``reset_after``):

    [a_z | a_r | x_h | m_h] = S^T [x_t; h_{t-1}; 1],   S = [[W_z, W_r, W_h, 0  ],
                                                             [U_z, U_r, 0,   U_h],
                                                             [b_z, b_r, bi_h, br_h]]
    z = σ(a_z),  r = σ(a_r),  h~ = φ(x_h + r m_h),  h_t = z h_{t-1} + (1 - z) h~

(``b_z = b_in,z + b_rec,z``, likewise r). Backward: ``dz_t = [da_z, da_r, da_h, r da_h]``,
then ``[dx_t; dh_{t-1}] = S[:F+H] dz_t + (0; z dh)`` as one product, and
``dS = sum_t [x_t; h_{t-1}; 1] dz_t^T`` as one GEMM, from which dW, dU and both biases are
read (the zero blocks' gradients are dropped). Same layout, padding and chunking as the
LSTM's wide kernels; equations as :mod:`lstm_np.ops.gru`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..activations import apply_scalar, derivative_scalar
from . import threads
from .fastmath import sigmoid32, tanh32
from .lstm_cells import KJIT, MODE_EXACT, MODE_FAST, MODE_GENERIC
from .lstm_wide import (
    WideSteps,
    _emit_dx,
    _emit_state,
    _held,
    _keep_gate_grads,
    _rows_to_columns,
    _start_columns,
    _to_columns,
    _to_rows,
    _weight_gradients,
)
from .packed import gemm_packed, lanes, pack_parallel, panels
from .vecmath import AVAILABLE as VECTOR_TANH
from .vecmath import tanh_affine


@njit(inline="always", **KJIT)
def _cell_forward(z, h_prev, h_new, mode, act, ract, one):
    """One step, all rows. z (4n,) ``[a_z, a_r, x_h, m_h]`` becomes the training cache:
    ``[z, r, h~, m_h]`` in the tanh/sigmoid modes, ``[a_z, a_r, a_h, m_h]`` otherwise."""
    n = h_prev.shape[0]
    if mode == MODE_FAST and VECTOR_TANH:  # AVX-512: whole-array passes (vecmath.py)
        zr = z[:2 * n]
        tanh_affine(zr, zr, 0.5, 0.5, 0.5)  # z, r = sigmoid(a_z), sigmoid(a_r)
        for e in range(n):
            z[2 * n + e] = z[2 * n + e] + z[n + e] * z[3 * n + e]  # a_h
        zh = z[2 * n:3 * n]
        tanh_affine(zh, zh, 1.0, 0.0, 1.0)
        for e in range(n):
            h_new[e] = z[e] * h_prev[e] + (one - z[e]) * z[2 * n + e]
    elif mode == MODE_FAST:  # one loop per mode: a branch inside stops vectorisation
        for e in range(n):
            zg = sigmoid32(z[e])
            r = sigmoid32(z[n + e])
            hh = tanh32(z[2 * n + e] + r * z[3 * n + e])
            z[e] = zg
            z[n + e] = r
            z[2 * n + e] = hh
            h_new[e] = zg * h_prev[e] + (one - zg) * hh
    elif mode == MODE_EXACT:
        for e in range(n):
            zg = apply_scalar(1, z[e])
            r = apply_scalar(1, z[n + e])
            hh = apply_scalar(0, z[2 * n + e] + r * z[3 * n + e])
            z[e] = zg
            z[n + e] = r
            z[2 * n + e] = hh
            h_new[e] = zg * h_prev[e] + (one - zg) * hh
    else:
        for e in range(n):
            zg = apply_scalar(ract, z[e])
            r = apply_scalar(ract, z[n + e])
            a_h = z[2 * n + e] + r * z[3 * n + e]
            z[2 * n + e] = a_h
            h_new[e] = zg * h_prev[e] + (one - zg) * apply_scalar(act, a_h)


@njit(inline="always", **KJIT)
def _cell_backward(g, z, h_prev, dz, direct, mode, act, ract, one):
    """Backward of :func:`_cell_forward`: g (n,) the gradient on h_t (later steps and this
    step's output). Out: dz (4n,), direct (n,) = ``z g``, the part of dh_{t-1} that skips
    the product."""
    n = g.shape[0]
    if mode != MODE_GENERIC:
        for e in range(n):
            zg = z[e]
            r = z[n + e]
            hh = z[2 * n + e]
            da_h = g[e] * (one - zg) * (one - hh * hh)
            dz[e] = g[e] * (h_prev[e] - hh) * (zg * (one - zg))
            dz[n + e] = da_h * z[3 * n + e] * (r * (one - r))
            dz[2 * n + e] = da_h
            dz[3 * n + e] = da_h * r
            direct[e] = g[e] * zg
    else:
        for e in range(n):
            zg = apply_scalar(ract, z[e])
            r = apply_scalar(ract, z[n + e])
            a_h = z[2 * n + e]
            da_h = g[e] * (one - zg) * derivative_scalar(act, a_h)
            dz[e] = g[e] * (h_prev[e] - apply_scalar(act, a_h)) * derivative_scalar(ract, z[e])
            dz[n + e] = da_h * z[3 * n + e] * derivative_scalar(ract, z[n + e])
            dz[2 * n + e] = da_h
            dz[3 * n + e] = da_h * r
            direct[e] = g[e] * zg


@njit(**KJIT)
def _forward_wide(x, ap, h0, mode, act, ract, xh, z, hh, out, h_T):
    """One row chunk through all T steps. x (nb, T, F); ap the packed ``S^T``; h0 (nb, H).
    Work: xh (F+H+1, S, nbp) columns ``[x_t; h_{t-1}; 1]`` (S = T+1 keeps them all), z (T
    or 1, P·MR, nbp), hh (2, H, nbp) h_{t-1} and h_t, alternating (contiguous for the cell).
    Out: out (nb, T, H), h_T (nb, H)."""
    nb, T, F = x.shape
    FH1, S, nbp = xh.shape
    H = FH1 - 1 - F
    n = H * nbp
    nz = z.shape[0]
    one = np.ones(1, z.dtype)[0]
    keep_all = _start_columns(x, h0, xh)
    _to_columns(h0, hh[0], 0, H)
    for t in range(T):
        s, s_next = t % S, (t + 1) % S
        if not keep_all:
            _rows_to_columns(x, t, xh, s)
        zt = z[t % nz]
        gemm_packed(ap, xh[:, s, :], zt, False)  # [a_z, a_r, x_h, m_h] = S^T [x; h; 1]
        hn = hh[(t + 1) % 2]
        _cell_forward(zt[:4 * H].reshape(4 * n), hh[t % 2].reshape(n), hn.reshape(n), mode,
                      act, ract, one)
        _emit_state(hn, xh, s_next, out, t)
    _to_rows(hh[T % 2], h_T, 0, H)
    if keep_all:  # padding columns must not reach the weight gradients (0 * inf = nan)
        xh[:, :, nb:] = 0.0


@njit(**KJIT)
def _backward_wide(d_out, dh_T, ap2, F, z, xh, mode, act, ract, dzt, dz, dxh, g, direct,
                   hp, dx, dh0, dS):
    """BPTT for one chunk of :func:`_forward_wide` (S = T+1). ap2 the packed ``S[:F+H]``.
    Work: dzt (4H, nbp), dz (4H, T, nbp), dxh (P2·MR, nbp), g/direct/hp (H, nbp).
    Out: dx (nb, T, F), dh0 (nb, H), this chunk's dS (F+H+1, 4H)."""
    nb, T, H = d_out.shape
    H4 = 4 * H
    nbp = dz.shape[2]
    n = H * nbp
    dt = dz.dtype
    one = np.ones(1, dt)[0]
    dh = dxh[F:F + H]  # (H, nbp): dh_{t-1}, the product's rows plus the direct path
    _to_columns(dh_T, dh, 0, H)
    dzf = dzt.reshape(4 * n)
    for t in range(T - 1, -1, -1):
        for j in range(H):
            for b in range(nbp):
                g[j, b] = dh[j, b]
                hp[j, b] = xh[F + j, t, b]
            for b in range(nb):
                g[j, b] += d_out[b, t, j]
        _cell_backward(g.reshape(n), z[t][:H4].reshape(4 * n), hp.reshape(n), dzf,
                       direct.reshape(n), mode, act, ract, one)
        _keep_gate_grads(dzt, dz, t, nb)
        gemm_packed(ap2, dzt, dxh, False)  # [dx_t; dh_{t-1}] = S[:F+H] dz_t ...
        for j in range(H):
            for b in range(nbp):
                dh[j, b] += direct[j, b]  # ... + z dh through the carry
        _emit_dx(dxh, dx, t)
    _to_rows(dh, dh0, 0, H)
    _weight_gradients(xh, dz, dS)


# ----------------------------------------------------------------------------- entry points

def _stacked(W, U, b_in, b_rec, dt):
    """``S (F+H+1, 4H)`` of the module docstring."""
    F, H = W.shape[0], U.shape[0]
    S = np.zeros((F + H + 1, 4 * H), dt)
    S[:F, :3 * H] = W
    S[F:F + H, :2 * H] = U[:, :2 * H]
    S[F:F + H, 3 * H:] = U[:, 2 * H:]
    if b_in is not None:
        S[F + H, :3 * H] = b_in
        S[F + H, :2 * H] += b_rec[:2 * H]
        S[F + H, 3 * H:] = b_rec[2 * H:]
    return S


def forward(x, W, U, b_in, b_rec, h0, mode, act, ract, keep, scratch, workspace=None):
    """All rows, all steps (``reset_after=True``, no mask, no dropout); arguments
    contiguous in x's dtype. Returns outputs, h_T and the training cache (or None)."""
    dt = x.dtype
    B, T, F = x.shape
    H = U.shape[0]
    L = lanes(dt)
    S_mat = _stacked(W, U, b_in, b_rec, dt)
    ap = panels(4 * H, F + H + 1, dt, scratch)  # (P, F+H+1, MR): S^T
    pack_parallel(S_mat[:F], S_mat[F:F + H], S_mat[F + H:], ap, True)
    Mp = ap.shape[0] * ap.shape[2]
    out = np.empty((B, T, H), dt)  # (B, T, H)
    h_T = np.empty((B, H), dt)
    S = T + 1 if keep else 2
    jobs, chunks = [], []
    for b0, b1 in threads.split_aligned(B, T * B * H * 4 * (H + F), L):
        nbp = -(-(b1 - b0) // L) * L
        if keep:
            xh = _held(workspace, "gxh", b0, (F + H + 1, S, nbp), dt)  # (F+H+1, T+1, nbp)
            z = _held(workspace, "gz", b0, (T, Mp, nbp), dt)  # (T, P·MR, nbp)
            chunks.append((b0, b1, z, xh))
        else:
            xh = scratch("gwxh", b0, (F + H + 1, S, nbp), dt)
            z = scratch("gwz", b0, (1, Mp, nbp), dt)
        jobs.append((x[b0:b1], ap, h0[b0:b1], mode, act, ract, xh, z,
                     scratch("gwhh", b0, (2, H, nbp), dt), out[b0:b1], h_T[b0:b1]))
    threads.run(_forward_wide, jobs)
    return out, h_T, (WideSteps(chunks) if keep else None)


def backward(d_outputs, dh_T, x, W, U, steps, mode, act, ract, scratch):
    """Backward of :func:`forward`: ``dx, dW, dU, db_in, db_rec, dh0``."""
    dt = x.dtype
    B, T, F = x.shape
    H = U.shape[0]
    S_mat = _stacked(W, U, None, None, dt)
    ap2 = panels(F + H, 4 * H, dt, scratch, "ap2")  # (P2, 4H, MR): S[:F+H]
    pack_parallel(S_mat[:F], S_mat[F:F + H], S_mat[:0], ap2, False)
    Mp2 = ap2.shape[0] * ap2.shape[2]
    dx = np.empty((B, T, F), dt)  # (B, T, F)
    dh0 = np.empty((B, H), dt)
    jobs, grads = [], []
    for b0, b1, z, xh in steps.chunks:
        nbp = xh.shape[2]
        dS = np.empty((F + H + 1, 4 * H), dt)
        grads.append(dS)
        jobs.append((d_outputs[b0:b1], dh_T[b0:b1], ap2, F, z, xh, mode, act, ract,
                     scratch("gwdzt", b0, (4 * H, nbp), dt),
                     scratch("gwdz", b0, (4 * H, T, nbp), dt),
                     scratch("gwdxh", b0, (Mp2, nbp), dt), scratch("gwg", b0, (H, nbp), dt),
                     scratch("gwdir", b0, (H, nbp), dt), scratch("gwhp", b0, (H, nbp), dt),
                     dx[b0:b1], dh0[b0:b1], dS))
    threads.run(_backward_wide, jobs)
    dS = grads[0]
    for g in grads[1:]:
        dS += g
    dW = np.ascontiguousarray(dS[:F, :3 * H])
    dU = np.concatenate((dS[F:F + H, :2 * H], dS[F:F + H, 3 * H:]), axis=1)
    db_in = np.ascontiguousarray(dS[F + H, :3 * H])
    db_rec = np.concatenate((dS[F + H, :2 * H], dS[F + H, 3 * H:]))
    return dx, dW, dU, db_in, db_rec, dh0
