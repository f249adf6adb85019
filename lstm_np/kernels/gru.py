"""Numba kernels for the GRU: the whole time loop in compiled code.

Private ``_...`` kernels behind :func:`forward` and :func:`backward`, which
:mod:`lstm_np.kernels.api` calls (``gru_forward``/``gru_backward``). The equations are those of
:mod:`lstm_np.ops.gru` (read them there); the masking rules those of
:mod:`lstm_np.ops.recurrence` and :mod:`lstm_np.kernels.lstm`. Only the recurrent
products are sequential (one GEMM per step with ``reset_after=True``: ``h @ U``; two with
``reset_after=False``: ``h @ U_zr``, then ``(r * h) @ U_h`` which needs r first). The input
projection ``x @ W + b_in`` before the loop and the weight gradients after it are single
large matrix products.

A plain call (``reset_after``, no mask, no dropout) of 16 rows or more runs
:mod:`lstm_np.kernels.gru_wide` instead (packed weights, one product per step).

Speed (the LSTM kernels' helpers, :mod:`lstm_np.kernels.lstm`): each recurrent product is
one direct BLAS call into a buffer allocated once (:func:`lstm_np.kernels.blas.gemm`; the
backward ones accumulate into ``dh`` in place); the element loops run over one row with
the math mode tested outside them, so float32 tanh/sigmoid use the vectorised
:mod:`lstm_np.kernels.fastmath` (``LSTM_NP_FAST_MATH``); large batches run in row chunks
on threads (:mod:`lstm_np.kernels.threads`). With recurrent dropout the products go
through :func:`lstm_np.kernels.common._recurrent_product` as before.

Training cache, per B·T·H element: pre-activations ``a`` (3) + ``h_{t-1}`` (1) + one
auxiliary (1: ``m_h = h @ U_h + b_rh`` with reset_after, ``q = r * h`` without) = 5
floats, plus the input.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..activations import apply_scalar
from ..arrays import gate_mask, gate_project, gate_project_backward, split_bias
from . import gru_wide, threads
from .blas import gemm
from .common import (
    _emit_masked_row,
    _mask_args,
    _recurrent_product,
    _recurrent_product_backward,
)
from .fastmath import sigmoid32, tanh32
from .lstm import WIDE_MIN_ROWS, _mode, _rows, _scratch
from .lstm_cells import KJIT, MODE_FAST


@njit(inline="always", **KJIT)
def _gate_h(ar, xr, aux, H, mode, ract):
    """reset_after: ``a_h = x_h + r * m_h`` with ``r = ract(a_r)``, into ``ar[2H:]``.
    The mode is tested outside the loops: a libm call inside one stops vectorisation."""
    if mode == MODE_FAST:
        for j in range(H):
            ar[2 * H + j] = xr[2 * H + j] + sigmoid32(ar[H + j]) * aux[j]
    else:
        for j in range(H):
            ar[2 * H + j] = xr[2 * H + j] + apply_scalar(ract, ar[H + j]) * aux[j]


@njit(inline="always", **KJIT)
def _gate_q(ar, hp, q, H, mode, ract):
    """reset_after=False: ``q = r * h_h`` (``hp`` holds h_h, dropped or not)."""
    if mode == MODE_FAST:
        for j in range(H):
            q[j] = sigmoid32(ar[H + j]) * hp[j]
    else:
        for j in range(H):
            q[j] = apply_scalar(ract, ar[H + j]) * hp[j]


@njit(inline="always", **KJIT)
def _new_state(ar, hp, hn, H, mode, act, ract, one):
    """``h_t = z * h_{t-1} + (1 - z) * act(a_h)`` with ``z = ract(a_z)``, into ``hn``."""
    if mode == MODE_FAST:
        for j in range(H):
            z = sigmoid32(ar[j])
            hn[j] = z * hp[j] + (one - z) * tanh32(ar[2 * H + j])
    else:
        for j in range(H):
            z = apply_scalar(ract, ar[j])
            hn[j] = z * hp[j] + (one - z) * apply_scalar(act, ar[2 * H + j])


@njit(**KJIT)
def _forward(xp, U, U_zr, U_h, b_rec, reset_after, h0, mask, has_mask, zero_out, rdp, rdp_zr,
             rdp_h, has_rdp, mode, act, ract, keep, outputs, h_T, a_all, aux_all, hprev_all):
    """Forward over all steps, for a block of rows, writing into the given arrays.

    xp (B, T, 3H) is x @ W + b_in in processing order; b_rec (3H,) the recurrent bias
    (zeros when there is none). Out: outputs (B, T, H), h_T (B, H) and, when ``keep``,
    a_all (B, T, 3H), aux_all (B, T, H), hprev_all (B, T, H). The recurrent products are
    direct BLAS calls into buffers allocated once (:func:`lstm_np.kernels.blas.gemm`); the
    element loops run over one row at a time with no branch inside, so they vectorise.
    """
    B, T, H3 = xp.shape
    H = H3 // 3
    dt = xp.dtype
    scal = np.zeros(2, dtype=dt)
    scal[0] = 1  # [alpha, beta] = [1, 0]: overwrite
    one = scal[0]  # in the dtype (a bare 1.0 would promote float32)
    h = h0.copy()  # (B, H)
    h_next = np.empty((B, H), dtype=dt)
    m = np.empty((B, 3 * H if reset_after else 2 * H), dtype=dt)  # h-part of the gates
    mh = np.empty((B, H), dtype=dt)  # (r * h) @ U_h (reset_after=False)
    q = np.empty((B, H), dtype=dt)  # r * h_{t-1} (reset_after=False)
    h_h = np.empty((B, H), dtype=dt)  # h_{t-1} * recurrent dropout mask (reset_after=False)
    a_s = np.empty((B, H3), dtype=dt)  # pre-activations when they are not kept
    aux_s = np.empty((B, H), dtype=dt)
    for t in range(T):
        if reset_after:
            if has_rdp:
                m[:] = _recurrent_product(h, U, rdp, has_rdp)
            else:
                gemm(h, U, m, False, False, scal)  # (B, 3H)
        else:
            if has_rdp:
                m[:] = _recurrent_product(h, U_zr, rdp_zr, has_rdp)
            else:
                gemm(h, U_zr, m, False, False, scal)  # (B, 2H)
        for b in range(B):
            xr = xp[b, t]  # (3H,)
            mr = m[b]
            ar = a_all[b, t] if keep else a_s[b]  # (3H,)
            xr_aux = aux_all[b, t] if keep else aux_s[b]  # (H,)
            hp = h[b]
            # x-part + (h-part + b_rec): the NumPy engine's (and Keras') rounding order
            for j in range(2 * H):
                ar[j] = xr[j] + (mr[j] + b_rec[j])
            if reset_after:
                for j in range(H):
                    xr_aux[j] = mr[2 * H + j] + b_rec[2 * H + j]  # m_h
                _gate_h(ar, xr, xr_aux, H, mode, ract)
            else:
                qr = q[b]
                if has_rdp:
                    hh = h_h[b]
                    for j in range(H):
                        hh[j] = hp[j] * rdp_h[b, j]
                    _gate_q(ar, hh, qr, H, mode, ract)
                else:
                    _gate_q(ar, hp, qr, H, mode, ract)
                for j in range(H):
                    xr_aux[j] = qr[j]
        if not reset_after:
            gemm(q, U_h, mh, False, False, scal)  # (B, H): (r * h) @ U_h
            for b in range(B):
                xr = xp[b, t]
                ar = a_all[b, t] if keep else a_s[b]
                mhr = mh[b]
                for j in range(H):
                    ar[2 * H + j] = xr[2 * H + j] + mhr[j]
        for b in range(B):
            ar = a_all[b, t] if keep else a_s[b]
            hp = h[b]
            hn = h_next[b]
            _new_state(ar, hp, hn, H, mode, act, ract, one)
            if keep:
                hpr = hprev_all[b, t]
                for j in range(H):
                    hpr[j] = hp[j]
            _emit_masked_row(outputs, b, t, hn, hp, (not has_mask) or mask[b, t], zero_out, H)
        h, h_next = h_next, h
    h_T[:] = h


@njit(**KJIT)
def _backward(d_out, dh_T, U, U_zr, U_h, reset_after, z_all, cz_all, ch_all, cr_all, r_all,
              mask, has_mask, zero_out, rdp, rdp_zr, has_rdp, da_all, dm_all, dh0):
    """The sequential sweep for a block of rows, on coefficients precomputed for all steps
    at once (see :func:`backward`): only multiply-adds and the recurrent GEMMs remain in the
    loop. Writes da_all (B, T, 3H) (gradient of x @ W + b_in), dm_all (B, T, 3H) (gradient
    of h @ U + b_rec; reset_after only) and dh0 (B, H). Without recurrent dropout the
    recurrent products are BLAS calls that accumulate into ``dh`` in place."""
    B, T, H = z_all.shape
    H3 = 3 * H
    dt = z_all.dtype
    scal = np.zeros(2, dtype=dt)
    scal[0] = 1
    zero = scal[1]
    acc = np.ones(2, dtype=dt)  # [alpha, beta] = [1, 1]: c += a @ b
    dh = dh_T.copy()  # (B, H)
    d_prev_out = np.zeros((B, H), dtype=dt)
    dh_direct = np.empty((B, H), dtype=dt)
    dq = np.empty((B, H), dtype=dt)
    da_s = np.empty((B, H3), dtype=dt)  # reset_after=False: the step's da (2H columns used)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            da = da_all[b, t]  # (3H,)
            dm = dm_all[b, t] if reset_after else da_s[b]  # (3H,)
            dob = d_out[b, t]
            dpo = d_prev_out[b]
            dhb = dh[b]
            dd = dh_direct[b]
            if (not has_mask) or mask[b, t]:
                cz = cz_all[b, t]
                ch = ch_all[b, t]
                zz = z_all[b, t]
                for j in range(H):
                    g = dhb[j] + (dob[j] + dpo[j])  # all that reaches h_t
                    da[j] = g * cz[j]
                    da[2 * H + j] = g * ch[j]
                    dd[j] = g * zz[j]
                    dpo[j] = zero
                if reset_after:
                    cr = cr_all[b, t]
                    rr = r_all[b, t]
                    for j in range(H):
                        da[H + j] = da[2 * H + j] * cr[j]
                        dm[j] = da[j]
                        dm[H + j] = da[H + j]
                        dm[2 * H + j] = da[2 * H + j] * rr[j]
            else:
                for j in range(H3):
                    da[j] = zero
                    dm[j] = zero
                for j in range(H):
                    d_output = dob[j] + dpo[j]
                    dd[j] = dhb[j]  # state carried: its gradient passes through
                    dpo[j] = zero if zero_out else d_output
        if reset_after:
            dm = dm_all[:, t, :]  # (B, 3H)
            if has_rdp:
                dh[:] = _recurrent_product_backward(np.ascontiguousarray(dm), U, rdp, has_rdp) \
                    + dh_direct
            else:
                dh[:] = dh_direct
                gemm(dm, U, dh, False, True, acc)  # dh = dm @ U^T + dh_direct
        else:
            da = da_all[:, t, :]  # (B, 3H)
            # dq (B, H): gradient of q = r * h_{t-1}; zero rows if masked
            gemm(da[:, 2 * H:], U_h, dq, False, True, scal)
            for b in range(B):
                if (not has_mask) or mask[b, t]:
                    dab = da_all[b, t]
                    dqb = dq[b]
                    dd = dh_direct[b]
                    cr = cr_all[b, t]
                    rr = r_all[b, t]
                    for j in range(H):
                        dab[H + j] = dqb[j] * cr[j]
                        dd[j] += dqb[j] * rr[j]
            if has_rdp:
                dh[:] = _recurrent_product_backward(np.ascontiguousarray(da[:, :2 * H]), U_zr,
                                                    rdp_zr, has_rdp) + dh_direct
            else:
                dh[:] = dh_direct
                gemm(da[:, :2 * H], U_zr, dh, False, True, acc)  # dh = da_zr @ U_zr^T + ...
    dh0[:] = dh


@njit(**KJIT)
def _coefficients_fast(a, hprev, aux, rdp_h, reset_after, z, cz, ch, cr, r):
    """float32 fast-math twin of the NumPy precompute in :func:`backward`, one vectorised
    pass: a (B, T, 3H), hprev/aux (B, T, H), rdp_h (B, H) (ones without recurrent
    dropout); writes z, cz, ch, cr, r (B, T, H). Derivatives from the activated values
    (``σ' = s(1-s)``, ``tanh' = 1-t²``), as the LSTM kernels do."""
    B, T, H = hprev.shape
    one = np.float32(1)
    for b in range(B):
        dr = rdp_h[b]
        for t in range(T):
            ar = a[b, t]
            hp = hprev[b, t]
            zr = z[b, t]
            czr = cz[b, t]
            chr_ = ch[b, t]
            for j in range(H):
                sz = sigmoid32(ar[j])
                th = tanh32(ar[2 * H + j])
                zr[j] = sz
                czr[j] = (hp[j] - th) * (sz * (one - sz))
                chr_[j] = (one - sz) * (one - th * th)
            crr = cr[b, t]
            rr = r[b, t]
            if reset_after:
                ax = aux[b, t]
                for j in range(H):
                    sr = sigmoid32(ar[H + j])
                    crr[j] = ax[j] * (sr * (one - sr))
                    rr[j] = sr
            else:
                for j in range(H):
                    sr = sigmoid32(ar[H + j])
                    crr[j] = (hp[j] * dr[j]) * (sr * (one - sr))
                    rr[j] = sr * dr[j]


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
            dropout_mask, recurrent_dropout_mask, act_id, ract_id, keep, workspace=None):
    """Called by :func:`lstm_np.kernels.api.gru_forward`.
    A plain call (reset_after, no mask, no dropout) of WIDE_MIN_ROWS rows or more runs
    :mod:`lstm_np.kernels.gru_wide` (packed weights, one product a step)."""
    B, T, F = x.shape
    H = recurrent_kernel.shape[0]
    b_in, b_rec = split_bias(bias, reset_after)
    if reset_after and mask is None and dropout_mask is None \
            and recurrent_dropout_mask is None and B >= WIDE_MIN_ROWS:
        dt = x.dtype
        c = np.ascontiguousarray
        return gru_wide.forward(
            c(x), c(kernel, dtype=dt), c(recurrent_kernel, dtype=dt),
            None if b_in is None else c(b_in, dtype=dt),
            None if b_rec is None else c(b_rec, dtype=dt), c(h0, dtype=dt),
            _mode(act_id, ract_id, dt), act_id, ract_id, keep, _scratch, workspace)
    xp = gate_project(x.reshape(B * T, F) if dropout_mask is None else x, kernel,
                      None if dropout_mask is None else dropout_mask[:, :, None, :])
    xp = xp.reshape(B, T, 3 * H)  # (B, T, 3H)
    if b_in is not None:
        if np.asarray(b_in).dtype == xp.dtype:
            xp += b_in  # in place: gate_project returned a fresh array; same rounding
        else:
            xp = xp + b_in
    b_rec = np.zeros(3 * H, x.dtype) if b_rec is None else np.ascontiguousarray(b_rec, x.dtype)
    dt = x.dtype
    xp = np.ascontiguousarray(xp, dtype=dt)
    h0 = np.ascontiguousarray(h0, dtype=dt)
    mask_arr, has_mask = _mask_args(mask, B, T)
    U, U_zr, U_h = _u_parts(np.asarray(recurrent_kernel, dtype=dt))
    mode = _mode(act_id, ract_id, dt)
    nk = T if keep else 0
    outputs = np.empty((B, T, H), dtype=dt)  # (B, T, H)
    h = np.empty((B, H), dtype=dt)  # (B, H)
    a_all = np.empty((B, nk, 3 * H), dtype=dt)  # (B, T, 3H) pre-activations a_z, a_r, a_h
    aux_all = np.empty((B, nk, H), dtype=dt)  # (B, T, H) m_h or q
    hprev_all = np.empty((B, nk, H), dtype=dt)  # (B, T, H) h_{t-1}
    jobs = []
    # Rows are independent through the recurrence: each chunk runs the whole time loop on
    # its own thread (see lstm_np.kernels.threads), writing into its rows of the outputs.
    for b0, b1 in threads.split(B, T * B * 3 * H * (H + F)):
        if has_mask:
            mk = _rows(mask_arr, b0, b1)
        else:
            mk = mask_arr[b0:b1]
        rdp, rdp_zr, rdp_h, has_rdp = _rdp_parts(
            None if recurrent_dropout_mask is None else recurrent_dropout_mask[:, b0:b1],
            dt, b1 - b0, H)
        jobs.append((xp[b0:b1], U, U_zr, U_h, b_rec, bool(reset_after), h0[b0:b1], mk,
                     has_mask, bool(zero_output_for_mask), rdp, rdp_zr, rdp_h, has_rdp, mode,
                     act_id, ract_id, bool(keep), outputs[b0:b1], h[b0:b1], a_all[b0:b1],
                     aux_all[b0:b1], hprev_all[b0:b1]))
    threads.run(_forward, jobs)
    steps = dict(a=a_all, aux=aux_all, h_prev=hprev_all) if keep else None
    return outputs, h, steps


def backward(d_outputs, dh_T, cache):
    """Called by :func:`lstm_np.kernels.api.gru_backward`.
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
    if isinstance(s, gru_wide.WideSteps):
        dt = x.dtype
        c = np.ascontiguousarray
        return gru_wide.backward(
            c(d_outputs, dtype=dt), c(dh_T, dtype=dt), x, c(cache.kernel, dtype=dt),
            c(cache.recurrent_kernel, dtype=dt), s,
            _mode(cache.activation.id, cache.recurrent_activation.id, dt),
            cache.activation.id, cache.recurrent_activation.id, _scratch)
    act, ract = cache.activation, cache.recurrent_activation
    mask_arr, has_mask = _mask_args(cache.mask, B, T)
    rdp, rdp_zr, rdp_h, has_rdp = _rdp_parts(cache.recurrent_dropout_mask, x.dtype, B, H)
    U, U_zr, U_h = _u_parts(cache.recurrent_kernel)
    a, hprev = s["a"], s["h_prev"]  # (B, T, 3H), (B, T, H)
    if _mode(act.id, ract.id, x.dtype) == MODE_FAST:
        c = [np.empty((B, T, H), x.dtype) for _ in range(5)]  # z, cz, ch, cr, r
        _coefficients_fast(np.ascontiguousarray(a), np.ascontiguousarray(hprev),
                           np.ascontiguousarray(s["aux"]), rdp_h, bool(cache.reset_after), *c)
    else:
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
    dt = x.dtype
    d_outputs = np.ascontiguousarray(d_outputs, dtype=dt)
    dh_T = np.ascontiguousarray(dh_T, dtype=dt)
    da = np.empty((B, T, 3 * H), dtype=dt)  # (B, T, 3H)
    dm = np.empty((B, T if cache.reset_after else 0, 3 * H), dtype=dt)  # (B, T, 3H)
    dh0 = np.empty((B, H), dtype=dt)  # (B, H)
    rdm = cache.recurrent_dropout_mask
    jobs = []
    for b0, b1 in threads.split(B, 2 * T * B * 3 * H * H):
        mk = _rows(mask_arr, b0, b1) if has_mask else mask_arr[b0:b1]
        rdp, rdp_zr, _, has_rdp = _rdp_parts(None if rdm is None else rdm[:, b0:b1], dt,
                                             b1 - b0, H)
        jobs.append((d_outputs[b0:b1], dh_T[b0:b1], U, U_zr, U_h, bool(cache.reset_after),
                     *[v[b0:b1] for v in c], mk, has_mask, bool(cache.zero_output_for_mask),
                     rdp, rdp_zr, has_rdp, da[b0:b1], dm[b0:b1], dh0[b0:b1]))
    threads.run(_backward, jobs)
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
