"""Numba kernels for the LSTM: the whole time loop in one compiled call.

Private ``_...`` kernels behind two Python entry points, :func:`forward` and
:func:`backward`, that ``lstm_np.ops.lstm`` dispatches to for ``engine="numba"``.
The equations are those of :mod:`lstm_np.ops.lstm` (read them there); the masking
rules are those of :mod:`lstm_np.ops.recurrence`. Only the recurrent product
``h_{t-1} @ U`` (forward) and ``dz_t @ U^T`` (backward) are sequential; the input
projection ``x @ W + b`` and the weight gradients are single large matrix products
outside the loop.

Training cache, per B·T·H element: ``z`` (4) + ``c_t`` (1) + ``c_{t-1}`` (1) +
``h_{t-1}`` (1) = 7 floats (28 bytes in float32, 56 in float64), plus the input.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..activations import apply_scalar, derivative_scalar
from ..config import JIT
from ..ops.lstm import gate_project, gate_project_backward
from .common import _mask_args, _rdp_args, _recurrent_product, _recurrent_product_backward


@njit(**JIT)
def _forward(xw, U, h0, c0, mask, has_mask, zero_out, rdp, has_rdp, act, ract, keep):
    """Forward over all steps. xw (B, T, 4H) is x @ W + b in processing order."""
    B, T, H4 = xw.shape
    H = H4 // 4
    dt = xw.dtype
    outputs = np.empty((B, T, H), dtype=dt)  # (B, T, H)
    h = h0.copy()  # (B, H)
    c = c0.copy()  # (B, H)
    h_next = np.empty((B, H), dtype=dt)
    prev_out = np.zeros((B, H), dtype=dt)
    nk = T if keep else 0
    z_all = np.empty((B, nk, H4), dtype=dt)  # (B, T, 4H) pre-activations
    c_all = np.empty((B, nk, H), dtype=dt)  # (B, T, H) c_t before masking
    cprev_all = np.empty((B, nk, H), dtype=dt)  # (B, T, H) c_{t-1}
    hprev_all = np.empty((B, nk, H), dtype=dt)  # (B, T, H) h_{t-1}
    for t in range(T):
        rz = _recurrent_product(h, U, rdp, has_rdp)  # (B, 4H)
        for b in range(B):
            m = (not has_mask) or mask[b, t]
            for j in range(H):
                zi = xw[b, t, j] + rz[b, j]
                zf = xw[b, t, H + j] + rz[b, H + j]
                zc = xw[b, t, 2 * H + j] + rz[b, 2 * H + j]
                zo = xw[b, t, 3 * H + j] + rz[b, 3 * H + j]
                cn = apply_scalar(ract, zf) * c[b, j] + apply_scalar(ract, zi) * apply_scalar(
                    act, zc)
                hn = apply_scalar(ract, zo) * apply_scalar(act, cn)
                if keep:
                    z_all[b, t, j] = zi
                    z_all[b, t, H + j] = zf
                    z_all[b, t, 2 * H + j] = zc
                    z_all[b, t, 3 * H + j] = zo
                    c_all[b, t, j] = cn
                    cprev_all[b, t, j] = c[b, j]
                    hprev_all[b, t, j] = h[b, j]
                if m:
                    c[b, j] = cn
                    h_next[b, j] = hn
                    prev_out[b, j] = hn
                else:
                    h_next[b, j] = h[b, j]
                    if zero_out:
                        prev_out[b, j] = 0.0
                outputs[b, t, j] = prev_out[b, j]
        h, h_next = h_next, h
    return outputs, h, c, z_all, c_all, cprev_all, hprev_all


@njit(**JIT)
def _backward(d_out, dh_T, dc_T, U, z_all, c_all, cprev_all, mask, has_mask, zero_out, rdp,
              has_rdp, act, ract):
    """The sequential sweep: returns dz (B, T, 4H), dh0, dc0."""
    B, T, H4 = z_all.shape
    H = H4 // 4
    dt = z_all.dtype
    dz_all = np.empty((B, T, H4), dtype=dt)
    dh = dh_T.copy()
    dc = dc_T.copy()
    d_prev_out = np.zeros((B, H), dtype=dt)
    dh_pass = np.zeros((B, H), dtype=dt)
    dz = np.empty((B, H4), dtype=dt)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            m = (not has_mask) or mask[b, t]
            for j in range(H):
                d_output = d_out[b, t, j] + d_prev_out[b, j]
                zi = z_all[b, t, j]
                zf = z_all[b, t, H + j]
                zc = z_all[b, t, 2 * H + j]
                zo = z_all[b, t, 3 * H + j]
                cn = c_all[b, t, j]
                # A masked step is computed and then discarded (Keras: ops.where in
                # backend/torch/rnn.py), so it receives zero gradient, times its derivatives:
                # 0 unless the step overflowed (then NaN, as Keras' autograd and the NumPy
                # engine give).
                g_h = dh[b, j] + d_output if m else 0.0
                g_c = (dc[b, j] if m else 0.0) + g_h * apply_scalar(ract, zo) * \
                    derivative_scalar(act, cn)
                dz[b, j] = g_c * apply_scalar(act, zc) * derivative_scalar(ract, zi)
                dz[b, H + j] = g_c * cprev_all[b, t, j] * derivative_scalar(ract, zf)
                dz[b, 2 * H + j] = g_c * apply_scalar(ract, zi) * derivative_scalar(act, zc)
                dz[b, 3 * H + j] = g_h * apply_scalar(act, cn) * derivative_scalar(ract, zo)
                if m:
                    dc[b, j] = g_c * apply_scalar(ract, zf)
                    dh_pass[b, j] = 0.0
                    d_prev_out[b, j] = 0.0
                else:
                    dc[b, j] += g_c * apply_scalar(ract, zf)  # carried, plus 0 * f
                    dh_pass[b, j] = dh[b, j]  # state carried: its gradient passes through
                    d_prev_out[b, j] = 0.0 if zero_out else d_output
        dz_all[:, t, :] = dz
        dh = _recurrent_product_backward(dz, U, rdp, has_rdp) + dh_pass
    return dz_all, dh, dc


def forward(x, kernel, recurrent_kernel, bias, h0, c0, mask, zero_output_for_mask,
            dropout_mask, recurrent_dropout_mask, act_id, ract_id, keep):
    """Entry point used by :func:`lstm_np.ops.lstm.lstm_forward` for ``engine="numba"``."""
    B, T, F = x.shape
    H = recurrent_kernel.shape[0]
    xw = gate_project(x.reshape(B * T, F) if dropout_mask is None else x, kernel,
                      None if dropout_mask is None else dropout_mask[:, :, None, :])
    xw = xw.reshape(B, T, 4 * H)  # (B, T, 4H)
    if bias is not None:
        xw = xw + bias
    mask_arr, has_mask = _mask_args(mask, B, T)
    rdp, has_rdp = _rdp_args(recurrent_dropout_mask, x.dtype, H)
    outputs, h, c, z_all, c_all, cprev_all, hprev_all = _forward(
        np.ascontiguousarray(xw, dtype=x.dtype), np.ascontiguousarray(recurrent_kernel),
        np.ascontiguousarray(h0), np.ascontiguousarray(c0), mask_arr, has_mask,
        zero_output_for_mask, rdp, has_rdp, act_id, ract_id, keep)
    steps = dict(z=z_all, c=c_all, c_prev=cprev_all, h_prev=hprev_all) if keep else None
    return outputs, h, c, steps


def backward(d_outputs, dh_T, dc_T, cache):
    """Entry point used by :func:`lstm_np.ops.lstm.lstm_backward` for ``engine="numba"``."""
    x = cache.x
    B, T, F = x.shape
    H = cache.recurrent_kernel.shape[0]
    s = cache.steps
    mask_arr, has_mask = _mask_args(cache.mask, B, T)
    rdp, has_rdp = _rdp_args(cache.recurrent_dropout_mask, x.dtype, H)
    dz, dh0, dc0 = _backward(
        np.ascontiguousarray(d_outputs, dtype=x.dtype), np.ascontiguousarray(dh_T, dtype=x.dtype),
        np.ascontiguousarray(dc_T, dtype=x.dtype), np.ascontiguousarray(cache.recurrent_kernel),
        s["z"], s["c"], s["c_prev"], mask_arr, has_mask, cache.zero_output_for_mask, rdp,
        has_rdp, cache.activation.id, cache.recurrent_activation.id)
    dz2 = dz.reshape(B * T, 4 * H)  # (B·T, 4H)
    # Hoisted products: one GEMM each instead of T small ones.
    dp = cache.dropout_mask
    if dp is None:
        dx, dW = gate_project_backward(dz2, x.reshape(B * T, F), cache.kernel, None)
    else:
        dpx = np.repeat(dp, T, axis=1)  # (G, B·T, F): the same mask at every step
        dx, dW = gate_project_backward(dz2, x.reshape(B * T, F), cache.kernel, dpx)
    rdp_m = cache.recurrent_dropout_mask
    rdpx = None if rdp_m is None else np.repeat(rdp_m, T, axis=1)  # (G, B·T, H)
    if rdpx is None:
        dU = s["h_prev"].reshape(B * T, H).T @ dz2
    else:
        dU = gate_project_backward(dz2, s["h_prev"].reshape(B * T, H), cache.recurrent_kernel,
                                   rdpx)[1]
    db = dz2.sum(axis=0)
    return dx.reshape(B, T, F), dW, dU, db, dh0, dc0
