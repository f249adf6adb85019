"""Numba kernels for the LSTM: the whole sequence in one compiled call, forward and BPTT.

Private ``_...`` kernels behind two entry points, :func:`forward` and :func:`backward`,
that :mod:`lstm_np.ops.lstm` dispatches to for ``engine="numba"``. The equations are those
of :mod:`lstm_np.ops.lstm`, the masking rules those of :mod:`lstm_np.ops.recurrence`; the
element-wise step is in :mod:`lstm_np.kernels.lstm_cells`.

Where the time goes, and what is done about it:

* matrix products: every one is a direct BLAS ``?gemm`` on strided views
  (:func:`lstm_np.kernels.blas.gemm`), accumulating in place (``z_t += h_{t-1} @ U``), so
  nothing is copied or allocated per step. The input projection ``x @ W + b`` and the
  weight gradients are hoisted out of the time loop;
* batch rows are independent through the whole recurrence, so a large batch is split
  into one chunk of rows per thread (``prange``) that runs the *entire* time loop on its
  own, with BLAS pinned to one thread: no synchronisation per step, no two thread pools
  fighting over two cores. Weight gradients are split by gate columns the same way;
* transcendental functions: vectorised float32 approximations (``LSTM_NP_FAST_MATH``);
* layout: buffers are time-major, ``(T, B, ·)``, so step ``t`` of a row chunk is one
  contiguous block.

Training cache (``steps``), per B·T·H element: gates (4) + tanh(c_t) (1) + c_{t-1} (1) +
h_{t-1} (1) = 7 floats, plus the input: ``z (T, B, 4H)`` activated gates (pre-activations
in the generic mode), ``cs (T, B, H)``, ``h``/``c (T+1, B, H)`` the state history.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .. import config
from . import threads
from .blas import gemm
from .lstm_cells import (KJIT, MODE_EXACT, MODE_FAST, MODE_GENERIC, cell_backward_row,
                         cell_forward_row)

PJIT = dict(KJIT, parallel=True)


@njit(**KJIT)
def _scale_rows(src, scale, dst):
    """dst[r, :] = src[r, :] * scale  (scale (D,) broadcast over rows)."""
    for r in range(src.shape[0]):
        for k in range(src.shape[1]):
            dst[r, k] = src[r, k] * scale[k]


@njit(**KJIT)
def _forward_rows(x, W, U, bias, has_bias, mask, has_mask, zero_out, dp, has_dp, rdp,
                  has_rdp, mode, act, ract, z, cs, hh, ch, out, b0, b1):
    """Rows b0:b1 through all T steps. z (T, B, 4H) out: gates; hh/ch (S, B, H) states,
    slot ``t % S`` holds the state entering step t (S = T+1 keeps them all); cs (T or 1, B, H)."""
    T, F = x.shape[1], x.shape[2]
    H = U.shape[0]
    S, n_cs = hh.shape[0], cs.shape[0]
    dt = z.dtype
    one_one = np.ones(2, dt)  # gemm [alpha, beta] = [1, 1]: accumulate
    zeros = np.zeros(H, dt)
    # Input projection, one row (all its steps) at a time: z[:, b] = x[b] (W) + bias.
    Gd = dp.shape[0]
    xd = np.empty((T if has_dp else 0, F), dt)  # (T, F) dropped-out input
    for b in range(b0, b1):
        zb = z[:, b, :]  # (T, 4H), row stride B·4H
        for t in range(T):
            for k in range(4 * H):
                zb[t, k] = bias[k] if has_bias else 0.0
        if not has_dp:
            gemm(x[b], W, zb, False, False, one_one)
        else:
            Hg = 4 * H // Gd
            for g in range(Gd):
                _scale_rows(x[b], dp[g, b], xd)
                gemm(xd, W[:, g * Hg:(g + 1) * Hg], zb[:, g * Hg:(g + 1) * Hg], False, False,
                     one_one)
    Gr = rdp.shape[0]
    Hr = 4 * H // Gr
    hr = np.empty((b1 - b0 if has_rdp else 0, H), dt)  # (nb, H) dropped-out h
    for t in range(T):
        cur, nxt = t % S, (t + 1) % S
        zt = z[t, b0:b1]  # (nb, 4H)
        if not has_rdp:
            gemm(hh[cur, b0:b1], U, zt, False, False, one_one)
        else:
            for g in range(Gr):
                for r in range(b1 - b0):
                    for k in range(H):
                        hr[r, k] = hh[cur, b0 + r, k] * rdp[g, b0 + r, k]
                gemm(hr, U[:, g * Hr:(g + 1) * Hr], zt[:, g * Hr:(g + 1) * Hr], False, False,
                     one_one)
        for b in range(b0, b1):
            keep_step = (not has_mask) or mask[b, t]
            prev_out = out[b, t - 1] if t > 0 else zeros
            cell_forward_row(z[t, b], ch[cur, b], hh[cur, b], ch[nxt, b], hh[nxt, b],
                             cs[t % n_cs, b], out[b, t], prev_out, keep_step, zero_out, mode,
                             act, ract)


@njit(**PJIT)
def _forward_parallel(n_chunks, x, W, U, bias, has_bias, mask, has_mask, zero_out, dp, has_dp,
                      rdp, has_rdp, mode, act, ract, z, cs, hh, ch, out):
    B = x.shape[0]
    for k in prange(n_chunks):
        _forward_rows(x, W, U, bias, has_bias, mask, has_mask, zero_out, dp, has_dp, rdp,
                      has_rdp, mode, act, ract, z, cs, hh, ch, out, k * B // n_chunks,
                      (k + 1) * B // n_chunks)


@njit(**KJIT)
def _backward_rows(d_out, dh_T, dc_T, W, U, z, cs, ch, mask, has_mask, zero_out, dp, has_dp,
                   rdp, has_rdp, mode, act, ract, dz, dx, dh0, dc0, b0, b1):
    """BPTT for rows b0:b1: dz (T, B, 4H), dx (B, T, F), dh0/dc0 (B, H)."""
    T, B, H4 = z.shape
    H = H4 // 4
    nb = b1 - b0
    dt = z.dtype
    one_one = np.ones(2, dt)
    one_zero = np.zeros(2, dt)
    one_zero[0] = 1.0
    one = one_one[0]
    dh = dh_T[b0:b1].copy()  # (nb, H)
    dc = dc_T[b0:b1].copy()  # (nb, H)
    d_prev_out = np.zeros((nb, H), dt)  # (nb, H)
    dh_pass = np.zeros((nb, H), dt)  # (nb, H)
    Gr = rdp.shape[0]
    Hr = H4 // Gr
    tmp = np.empty((nb if has_rdp else 0, H), dt)
    for t in range(T - 1, -1, -1):
        for r in range(nb):
            b = b0 + r
            keep_step = (not has_mask) or mask[b, t]
            cell_backward_row(d_out[b, t], d_prev_out[r], dh[r], dc[r], dh_pass[r], z[t, b],
                              cs[t, b], ch[t, b], dz[t, b], keep_step, zero_out, mode, act,
                              ract, one)
        dzt = dz[t, b0:b1]  # (nb, 4H)
        dh[:, :] = dh_pass
        if not has_rdp:
            gemm(dzt, U, dh, False, True, one_one)  # dh += dz_t @ U^T
        else:
            for g in range(Gr):
                gemm(dzt[:, g * Hr:(g + 1) * Hr], U[:, g * Hr:(g + 1) * Hr], tmp, False, True,
                     one_zero)
                for r in range(nb):
                    for k in range(H):
                        dh[r, k] += tmp[r, k] * rdp[g, b0 + r, k]
    dh0[b0:b1] = dh
    dc0[b0:b1] = dc
    # dx[b] = dz[:, b] @ W^T, through the input dropout mask(s).
    Gd = dp.shape[0]
    Hd = H4 // Gd
    F = W.shape[0]
    tmp_x = np.empty((T, F), dt)
    for b in range(b0, b1):
        if not has_dp:
            gemm(dz[:, b], W, dx[b], False, True, one_zero)
        else:
            dx[b] = 0.0
            for g in range(Gd):
                gemm(dz[:, b, g * Hd:(g + 1) * Hd], W[:, g * Hd:(g + 1) * Hd], tmp_x, False,
                     True, one_zero)
                for t in range(T):
                    for f in range(F):
                        dx[b, t, f] += tmp_x[t, f] * dp[g, b, f]


@njit(**KJIT)
def _weight_grads_cols(x, hh, dz, dp, has_dp, rdp, has_rdp, dW, dU, db, g0, g1):
    """dW, dU, db for gate columns [g0·H, g1·H): reductions over all T·B rows."""
    T, B, H4 = dz.shape
    H = H4 // 4
    F = x.shape[2]
    dt = dz.dtype
    one_one = np.ones(2, dt)
    one_zero = np.zeros(2, dt)
    one_zero[0] = 1.0
    c0, c1 = g0 * H, g1 * H
    for k in range(c0, c1):
        db[k] = 0.0
    for t in range(T):
        for b in range(B):
            for k in range(c0, c1):
                db[k] += dz[t, b, k]
    dz2 = dz.reshape(T * B, H4)  # (T·B, 4H)
    Gr = rdp.shape[0]
    Hr = H4 // Gr
    if not has_rdp:
        hprev = hh[:T].reshape(T * B, H)  # (T·B, H)
        gemm(hprev, dz2[:, c0:c1], dU[:, c0:c1], True, False, one_zero)
    else:
        hr = np.empty((T * B, H), dt)
        for g in range(g0 * Gr // 4, max(g1 * Gr // 4, g0 * Gr // 4 + 1)):
            lo, hi = max(g * Hr, c0), min((g + 1) * Hr, c1)
            for t in range(T):
                for b in range(B):
                    for k in range(H):
                        hr[t * B + b, k] = hh[t, b, k] * rdp[g, b, k]
            gemm(hr, dz2[:, lo:hi], dU[:, lo:hi], True, False, one_zero)
    Gd = dp.shape[0]
    Hd = H4 // Gd
    for k in range(F):
        for j in range(c0, c1):
            dW[k, j] = 0.0
    xd = np.empty((T if has_dp else 0, F), dt)
    for b in range(B):
        if not has_dp:
            gemm(x[b], dz[:, b, c0:c1], dW[:, c0:c1], True, False, one_one)
        else:
            for g in range(g0 * Gd // 4, max(g1 * Gd // 4, g0 * Gd // 4 + 1)):
                lo, hi = max(g * Hd, c0), min((g + 1) * Hd, c1)
                _scale_rows(x[b], dp[g, b], xd)
                gemm(xd, dz[:, b, lo:hi], dW[:, lo:hi], True, False, one_one)


@njit(**PJIT)
def _backward_parallel(n_chunks, d_out, dh_T, dc_T, x, W, U, z, cs, hh, ch, mask, has_mask,
                       zero_out, dp, has_dp, rdp, has_rdp, mode, act, ract, dz, dx, dh0, dc0,
                       dW, dU, db):
    B = x.shape[0]
    for k in prange(n_chunks):
        _backward_rows(d_out, dh_T, dc_T, W, U, z, cs, ch, mask, has_mask, zero_out, dp,
                       has_dp, rdp, has_rdp, mode, act, ract, dz, dx, dh0, dc0,
                       k * B // n_chunks, (k + 1) * B // n_chunks)
    n_cols = min(n_chunks, 4)
    for k in prange(n_cols):
        _weight_grads_cols(x, hh, dz, dp, has_dp, rdp, has_rdp, dW, dU, db, k * 4 // n_cols,
                           (k + 1) * 4 // n_cols)


@njit(**KJIT)
def _backward_serial(d_out, dh_T, dc_T, x, W, U, z, cs, hh, ch, mask, has_mask, zero_out, dp,
                     has_dp, rdp, has_rdp, mode, act, ract, dz, dx, dh0, dc0, dW, dU, db):
    _backward_rows(d_out, dh_T, dc_T, W, U, z, cs, ch, mask, has_mask, zero_out, dp, has_dp,
                   rdp, has_rdp, mode, act, ract, dz, dx, dh0, dc0, 0, x.shape[0])
    _weight_grads_cols(x, hh, dz, dp, has_dp, rdp, has_rdp, dW, dU, db, 0, 4)


# ----------------------------------------------------------------------------- entry points

_NO_MASK = np.ones((1, 1), dtype=np.bool_)
_NO_DROP = {np.dtype(d): np.ones((1, 1, 1), dtype=d) for d in ("float32", "float64")}


def _mode(act_id, ract_id, dtype):
    if act_id != 0 or ract_id != 1:
        return MODE_GENERIC
    return MODE_FAST if (config.FAST_MATH and dtype == np.float32) else MODE_EXACT


def forward(x, kernel, recurrent_kernel, bias, h0, c0, mask, zero_output_for_mask,
            dropout_mask, recurrent_dropout_mask, act_id, ract_id, keep):
    """Entry point used by :func:`lstm_np.ops.lstm.lstm_forward` for ``engine="numba"``."""
    dt = x.dtype
    B, T, F = x.shape
    H = recurrent_kernel.shape[0]
    W = np.ascontiguousarray(kernel, dtype=dt)
    U = np.ascontiguousarray(recurrent_kernel, dtype=dt)
    has_bias = bias is not None
    b = np.ascontiguousarray(bias, dtype=dt) if has_bias else U[0]
    has_mask = mask is not None
    m = np.ascontiguousarray(mask, dtype=np.bool_) if has_mask else _NO_MASK
    nd = _NO_DROP[dt]
    dp = nd if dropout_mask is None else np.ascontiguousarray(dropout_mask, dtype=dt)
    rdp = nd if recurrent_dropout_mask is None else \
        np.ascontiguousarray(recurrent_dropout_mask, dtype=dt)
    S = T + 1 if keep else 2
    z = np.empty((T, B, 4 * H), dt)  # (T, B, 4H)
    cs = np.empty((T if keep else 1, B, H), dt)  # (T, B, H)
    hh = np.empty((S, B, H), dt)  # (S, B, H)
    ch = np.empty((S, B, H), dt)  # (S, B, H)
    hh[0] = h0
    ch[0] = c0
    out = np.empty((B, T, H), dt)  # (B, T, H)
    args = (np.ascontiguousarray(x), W, U, b, has_bias, m, has_mask, bool(zero_output_for_mask),
            dp, dropout_mask is not None, rdp, recurrent_dropout_mask is not None,
            _mode(act_id, ract_id, dt), act_id, ract_id, z, cs, hh, ch, out)
    n = threads.n_chunks(B, T * B * H * 4 * (H + F))
    if n > 1:
        with threads.blas_single_thread():
            _forward_parallel(n, *args)
    else:
        _forward_rows(*args, 0, B)
    h, c = hh[T % S].copy(), ch[T % S].copy()
    steps = dict(z=z, cs=cs, h=hh, c=ch) if keep else None
    return out, h, c, steps


def backward(d_outputs, dh_T, dc_T, cache):
    """Entry point used by :func:`lstm_np.ops.lstm.lstm_backward` for ``engine="numba"``."""
    x = cache.x
    dt = x.dtype
    B, T, F = x.shape
    H = cache.recurrent_kernel.shape[0]
    s = cache.steps
    W = np.ascontiguousarray(cache.kernel, dtype=dt)
    U = np.ascontiguousarray(cache.recurrent_kernel, dtype=dt)
    has_mask = cache.mask is not None
    m = np.ascontiguousarray(cache.mask, dtype=np.bool_) if has_mask else _NO_MASK
    nd = _NO_DROP[dt]
    dp_m, rdp_m = cache.dropout_mask, cache.recurrent_dropout_mask
    dp = nd if dp_m is None else np.ascontiguousarray(dp_m, dtype=dt)
    rdp = nd if rdp_m is None else np.ascontiguousarray(rdp_m, dtype=dt)
    act, ract = cache.activation.id, cache.recurrent_activation.id
    dz = np.empty((T, B, 4 * H), dt)  # (T, B, 4H)
    dx = np.empty((B, T, F), dt)  # (B, T, F)
    dh0 = np.empty((B, H), dt)
    dc0 = np.empty((B, H), dt)
    dW = np.empty((F, 4 * H), dt)
    dU = np.empty((H, 4 * H), dt)
    db = np.empty(4 * H, dt)
    args = (np.ascontiguousarray(d_outputs, dtype=dt), np.ascontiguousarray(dh_T, dtype=dt),
            np.ascontiguousarray(dc_T, dtype=dt), x, W, U, s["z"], s["cs"], s["h"], s["c"], m,
            has_mask, bool(cache.zero_output_for_mask), dp, dp_m is not None, rdp,
            rdp_m is not None, _mode(act, ract, dt), act, ract, dz, dx, dh0, dc0, dW, dU, db)
    n = threads.n_chunks(B, T * B * H * 4 * (H + F))
    if n > 1:
        with threads.blas_single_thread():
            _backward_parallel(n, *args)
    else:
        _backward_serial(*args)
    return dx, dW, dU, db, dh0, dc0
