"""Numba kernels for the GRU: the whole time loop in one compiled call.

Private ``_...`` kernels behind :func:`forward` and :func:`backward`, which
:mod:`lstm_np.ops.gru` dispatches to for ``engine="numba"``. The equations are those of
:mod:`lstm_np.ops.gru` (read them there); the masking rules those of
:mod:`lstm_np.ops.recurrence` and :mod:`lstm_np.kernels.lstm`. Only the recurrent
products are sequential (one GEMM per step with ``reset_after=True``: ``h @ U``; two with
``reset_after=False``: ``h @ U_zr``, then ``(r * h) @ U_h`` which needs r first). The input
projection ``x @ W + b_in`` before the loop and the weight gradients after it are single
large matrix products.

Training cache, per B·T·H element: pre-activations ``a`` (3) + ``h_{t-1}`` (1) + one
auxiliary (1: ``m_h = h @ U_h + b_rh`` with reset_after, ``q = r * h`` without) = 5
floats, plus the input.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..activations import apply_scalar
from ..config import JIT
from ..ops.gru import gate_mask, split_bias
from ..ops.lstm import gate_project, gate_project_backward
from .common import _mask_args, _recurrent_product, _recurrent_product_backward


@njit(**JIT)
def _forward(xp, U, U_zr, U_h, b_rec, reset_after, h0, mask, has_mask, zero_out, rdp, rdp_zr,
             rdp_h, has_rdp, act, ract, keep):
    """Forward over all steps. xp (B, T, 3H) is x @ W + b_in in processing order;
    b_rec (3H,) is the recurrent bias (zeros when there is none)."""
    B, T, H3 = xp.shape
    H = H3 // 3
    dt = xp.dtype
    outputs = np.empty((B, T, H), dtype=dt)  # (B, T, H)
    h = h0.copy()  # (B, H)
    h_next = np.empty((B, H), dtype=dt)
    prev_out = np.zeros((B, H), dtype=dt)
    q = np.empty((B, H), dtype=dt)  # r * h_{t-1} (reset_after=False)
    r_t = np.empty((B, H), dtype=dt)
    nk = T if keep else 0
    a_all = np.empty((B, nk, H3), dtype=dt)  # (B, T, 3H) pre-activations a_z, a_r, a_h
    aux_all = np.empty((B, nk, H), dtype=dt)  # (B, T, H) m_h or q
    hprev_all = np.empty((B, nk, H), dtype=dt)  # (B, T, H) h_{t-1}
    for t in range(T):
        if reset_after:
            m = _recurrent_product(h, U, rdp, has_rdp)  # (B, 3H)
            mh = np.empty((B, H), dtype=dt)
            for b in range(B):
                for j in range(H):
                    mh[b, j] = m[b, 2 * H + j] + b_rec[2 * H + j]
                    r_t[b, j] = apply_scalar(ract, xp[b, t, H + j] + (m[b, H + j] + b_rec[H + j]))
        else:
            m = _recurrent_product(h, U_zr, rdp_zr, has_rdp)  # (B, 2H)
            for b in range(B):
                for j in range(H):
                    r_t[b, j] = apply_scalar(ract, xp[b, t, H + j] + m[b, H + j])
                    hh_in = h[b, j] * rdp_h[b, j] if has_rdp else h[b, j]
                    q[b, j] = r_t[b, j] * hh_in
            mh = np.dot(q, U_h)  # (B, H): (r * h) @ U_h
        for b in range(B):
            keep_b = (not has_mask) or mask[b, t]
            for j in range(H):
                # x-part + (h-part + b_rec): the NumPy engine's (and Keras') rounding order
                a_z = xp[b, t, j] + (m[b, j] + b_rec[j])
                a_r = xp[b, t, H + j] + (m[b, H + j] + b_rec[H + j])
                if reset_after:
                    a_h = xp[b, t, 2 * H + j] + r_t[b, j] * mh[b, j]
                else:
                    a_h = xp[b, t, 2 * H + j] + mh[b, j]
                z = apply_scalar(ract, a_z)
                hn = z * h[b, j] + (1.0 - z) * apply_scalar(act, a_h)
                if keep:
                    a_all[b, t, j] = a_z
                    a_all[b, t, H + j] = a_r
                    a_all[b, t, 2 * H + j] = a_h
                    aux_all[b, t, j] = mh[b, j] if reset_after else q[b, j]
                    hprev_all[b, t, j] = h[b, j]
                if keep_b:
                    h_next[b, j] = hn
                    prev_out[b, j] = hn
                else:
                    h_next[b, j] = h[b, j]
                    if zero_out:
                        prev_out[b, j] = 0.0
                outputs[b, t, j] = prev_out[b, j]
        h, h_next = h_next, h
    return outputs, h, a_all, aux_all, hprev_all


@njit(**JIT)
def _backward(d_out, dh_T, U, U_zr, U_h, reset_after, z_all, cz_all, ch_all, cr_all, r_all,
              mask, has_mask, zero_out, rdp, rdp_zr, has_rdp):
    """The sequential sweep, on coefficients precomputed for all steps at once (see
    :func:`backward`): only multiply-adds and the recurrent GEMMs remain in the loop.
    Returns da (B, T, 3H) (gradient of x @ W + b_in), dm (B, T, 3H) (gradient of
    h @ U + b_rec; reset_after only) and dh0."""
    B, T, H = z_all.shape
    H3 = 3 * H
    dt = z_all.dtype
    da_all = np.empty((B, T, H3), dtype=dt)
    dm_all = np.empty((B, T if reset_after else 0, H3), dtype=dt)
    dh = dh_T.copy()
    d_prev_out = np.zeros((B, H), dtype=dt)
    dh_direct = np.empty((B, H), dtype=dt)
    da = np.empty((B, H3), dtype=dt)
    dm = np.empty((B, H3), dtype=dt)
    dah = np.empty((B, H), dtype=dt)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            keep_b = (not has_mask) or mask[b, t]
            for j in range(H):
                d_output = d_out[b, t, j] + d_prev_out[b, j]
                if keep_b:
                    g = dh[b, j] + d_output  # all that reaches h_t
                    da[b, j] = g * cz_all[b, t, j]
                    da[b, 2 * H + j] = g * ch_all[b, t, j]
                    dh_direct[b, j] = g * z_all[b, t, j]
                    if reset_after:
                        da[b, H + j] = da[b, 2 * H + j] * cr_all[b, t, j]
                        dm[b, j] = da[b, j]
                        dm[b, H + j] = da[b, H + j]
                        dm[b, 2 * H + j] = da[b, 2 * H + j] * r_all[b, t, j]
                    d_prev_out[b, j] = 0.0
                else:
                    for k in range(3):
                        da[b, k * H + j] = 0.0
                        dm[b, k * H + j] = 0.0
                    dh_direct[b, j] = dh[b, j]  # state carried: its gradient passes through
                    d_prev_out[b, j] = 0.0 if zero_out else d_output
        if reset_after:
            dh = _recurrent_product_backward(dm, U, rdp, has_rdp) + dh_direct
            dm_all[:, t, :] = dm
        else:
            for b in range(B):
                for j in range(H):
                    dah[b, j] = da[b, 2 * H + j]
            dq = np.dot(dah, U_h.T)  # (B, H): gradient of q = r * h_{t-1}; zero rows if masked
            for b in range(B):
                if (not has_mask) or mask[b, t]:
                    for j in range(H):
                        da[b, H + j] = dq[b, j] * cr_all[b, t, j]
                        dh_direct[b, j] += dq[b, j] * r_all[b, t, j]
            dzr = np.ascontiguousarray(da[:, :2 * H])
            dh = _recurrent_product_backward(dzr, U_zr, rdp_zr, has_rdp) + dh_direct
        da_all[:, t, :] = da
    return da_all, dm_all, dh


def _rdp_parts(rdp, dtype, B, H):
    """(rdp (G, B, H), rdp_zr (G', B, H), rdp_h (B, H), has_rdp) for the kernels."""
    if rdp is None:
        ones = np.ones((1, B, H), dtype=dtype)
        return ones, ones, ones[0], False
    rdp = np.ascontiguousarray(rdp, dtype=dtype)
    rdp_zr = rdp if rdp.shape[0] == 1 else np.ascontiguousarray(rdp[:2])
    return rdp, rdp_zr, np.ascontiguousarray(gate_mask(rdp, 2)), True


def _u_parts(U):
    H = U.shape[0]
    return (np.ascontiguousarray(U), np.ascontiguousarray(U[:, :2 * H]),
            np.ascontiguousarray(U[:, 2 * H:]))


def forward(x, kernel, recurrent_kernel, bias, reset_after, h0, mask, zero_output_for_mask,
            dropout_mask, recurrent_dropout_mask, act_id, ract_id, keep):
    """Entry point used by :func:`lstm_np.ops.gru.gru_forward` for ``engine="numba"``."""
    B, T, F = x.shape
    H = recurrent_kernel.shape[0]
    b_in, b_rec = split_bias(bias, reset_after)
    xp = gate_project(x.reshape(B * T, F) if dropout_mask is None else x, kernel,
                      None if dropout_mask is None else dropout_mask[:, :, None, :])
    xp = xp.reshape(B, T, 3 * H)  # (B, T, 3H)
    if b_in is not None:
        xp = xp + b_in
    b_rec = np.zeros(3 * H, x.dtype) if b_rec is None else np.ascontiguousarray(b_rec)
    mask_arr, has_mask = _mask_args(mask, B, T)
    rdp, rdp_zr, rdp_h, has_rdp = _rdp_parts(recurrent_dropout_mask, x.dtype, B, H)
    outputs, h, a_all, aux_all, hprev_all = _forward(
        np.ascontiguousarray(xp, dtype=x.dtype), *_u_parts(recurrent_kernel), b_rec,
        bool(reset_after), np.ascontiguousarray(h0, dtype=x.dtype), mask_arr, has_mask,
        bool(zero_output_for_mask), rdp, rdp_zr, rdp_h, has_rdp, act_id, ract_id, keep)
    steps = dict(a=a_all, aux=aux_all, h_prev=hprev_all) if keep else None
    return outputs, h, steps


def backward(d_outputs, dh_T, cache):
    """Entry point used by :func:`lstm_np.ops.gru.gru_backward` for ``engine="numba"``.
    Returns dx, dW, dU, db_in, db_rec (None without reset_after), dh0.

    Every activation and derivative the sweep needs depends only on cached pre-activations,
    so they are computed here for all steps at once with NumPy's vectorised ufuncs (the
    ``ops.gru`` formulas, regrouped): ``da_z = g * cz``, ``da_h = g * ch``,
    ``dh_{t-1} += g * z``, and ``da_r = da_h * cr`` (reset_after, ``cr = m_h σ'(a_r)``) or
    ``da_r = dq * cr`` (``cr = h_h σ'(a_r)``).
    """
    x = cache.x
    B, T, F = x.shape
    H = cache.recurrent_kernel.shape[0]
    s = cache.steps
    act, ract = cache.activation, cache.recurrent_activation
    mask_arr, has_mask = _mask_args(cache.mask, B, T)
    rdp, rdp_zr, rdp_h, has_rdp = _rdp_parts(cache.recurrent_dropout_mask, x.dtype, B, H)
    U, U_zr, U_h = _u_parts(cache.recurrent_kernel)
    a, hprev = s["a"], s["h_prev"]  # (B, T, 3H), (B, T, H)
    a_z, a_r, a_h = a[..., :H], a[..., H:2 * H], a[..., 2 * H:]
    z, r = ract(a_z), ract(a_r)  # (B, T, H)
    cz = (hprev - act(a_h)) * ract.derivative(a_z)  # (B, T, H)
    ch = (1 - z) * act.derivative(a_h)
    if cache.reset_after:
        cr = s["aux"] * ract.derivative(a_r)  # m_h σ'(a_r)
    else:
        h_h = hprev * rdp_h[:, None, :] if has_rdp else hprev  # U_h's (dropped) input
        cr = h_h * ract.derivative(a_r)
        r = r * rdp_h[:, None, :] if has_rdp else r  # dq reaches h_{t-1} as dq r m_h
    c = [np.ascontiguousarray(v, dtype=x.dtype) for v in (z, cz, ch, cr, r)]
    da, dm, dh0 = _backward(
        np.ascontiguousarray(d_outputs, dtype=x.dtype), np.ascontiguousarray(dh_T, dtype=x.dtype),
        U, U_zr, U_h, bool(cache.reset_after), *c, mask_arr, has_mask,
        bool(cache.zero_output_for_mask), rdp, rdp_zr, has_rdp)
    da2 = da.reshape(B * T, 3 * H)  # (B·T, 3H)
    hprev = s["h_prev"].reshape(B * T, H)  # (B·T, H)
    # Hoisted products: one GEMM each instead of T small ones; a dropout mask is the same
    # at every step, so it is repeated along time.
    dp = cache.dropout_mask
    dpx = None if dp is None else np.repeat(dp, T, axis=1)  # (G, B·T, F)
    dx, dW = gate_project_backward(da2, x.reshape(B * T, F), cache.kernel, dpx)
    rdm = cache.recurrent_dropout_mask
    rdpx = None if rdm is None else np.repeat(rdm, T, axis=1)  # (G, B·T, H)
    if cache.reset_after:
        dm2 = dm.reshape(B * T, 3 * H)
        dU = gate_project_backward(dm2, hprev, U, rdpx)[1]
        db_rec = dm2.sum(axis=0)
    else:
        rdpx_zr = rdpx if rdpx is None or rdpx.shape[0] == 1 else rdpx[:2]
        dU_zr = gate_project_backward(np.ascontiguousarray(da2[:, :2 * H]), hprev, U_zr,
                                      rdpx_zr)[1]
        dU_h = s["aux"].reshape(B * T, H).T @ da2[:, 2 * H:]  # q^T da_h
        dU = np.concatenate([dU_zr, dU_h], axis=1)
        db_rec = None
    return dx.reshape(B, T, F), dW, dU, da2.sum(axis=0), db_rec, dh0
