"""Numba kernels for the SimpleRNN: the whole time loop in compiled code.

Private ``_...`` kernels behind :func:`forward` and :func:`backward`, which
:mod:`lstm_np.kernels.api` calls. The equations are those
of :mod:`lstm_np.ops.simple_rnn`; the masking rules those of :mod:`lstm_np.ops.recurrence`
and :mod:`lstm_np.kernels.lstm`. Only ``h_{t-1} @ U`` (forward) and ``da_t @ U^T``
(backward) are sequential; ``x @ W + b`` and the weight gradients are single large GEMMs.

Training cache, per B·T·H element: ``a`` (1) + ``h_{t-1}`` (1) = 2 floats, plus the input.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import config
from ..activations import apply_scalar
from ..arrays import gate_project, gate_project_backward
from ..config import JIT
from .blas import gemm
from .common import (
    _emit_masked_row,
    _mask_args,
    _rdp_args,
    _recurrent_product,
    _recurrent_product_backward,
)
from .fastmath import tanh32
from .lstm_cells import KJIT


@njit(inline="always", **KJIT)
def _activate(ar, hn, H, fast, act):
    """``hn = act(ar)``; ``fast``: the vectorised float32 tanh (the test is outside the loop:
    a libm call inside one stops vectorisation)."""
    if fast:
        for j in range(H):
            hn[j] = tanh32(ar[j])
    else:
        for j in range(H):
            hn[j] = apply_scalar(act, ar[j])


@njit(**KJIT)
def _forward(xp, U, h0, mask, has_mask, zero_out, rdp, has_rdp, fast, act, keep):
    """Forward over all steps. xp (B, T, H) is x @ W + b in processing order. Without
    recurrent dropout ``h @ U`` is one BLAS call per step into a buffer allocated once."""
    B, T, H = xp.shape
    dt = xp.dtype
    scal = np.zeros(2, dtype=dt)
    scal[0] = 1  # [alpha, beta] = [1, 0]
    outputs = np.empty((B, T, H), dtype=dt)  # (B, T, H)
    h = h0.copy()  # (B, H)
    h_next = np.empty((B, H), dtype=dt)
    rh = np.empty((B, H), dtype=dt)  # h_{t-1} @ U
    nk = T if keep else 0
    a_all = np.empty((B, nk, H), dtype=dt)  # (B, T, H) pre-activations
    hprev_all = np.empty((B, nk, H), dtype=dt)  # (B, T, H) h_{t-1}
    a_s = np.empty(H, dtype=dt)
    for t in range(T):
        if has_rdp:
            rh[:] = _recurrent_product(h, U, rdp, has_rdp)
        else:
            gemm(h, U, rh, False, False, scal)  # (B, H)
        for b in range(B):
            ar = a_all[b, t] if keep else a_s  # (H,)
            xr = xp[b, t]
            rr = rh[b]
            hp = h[b]
            hn = h_next[b]
            for j in range(H):
                ar[j] = xr[j] + rr[j]
            _activate(ar, hn, H, fast, act)
            if keep:
                hpr = hprev_all[b, t]
                for j in range(H):
                    hpr[j] = hp[j]
            _emit_masked_row(outputs, b, t, hn, hp, (not has_mask) or mask[b, t], zero_out, H)
        h, h_next = h_next, h
    return outputs, h, a_all, hprev_all


@njit(**JIT)
def _backward(d_out, dh_T, U, dact_all, mask, has_mask, zero_out, rdp, has_rdp):
    """The sequential sweep: returns da (B, T, H) and dh0. dact_all (B, T, H) is φ'(a) for
    every step, computed before the sweep (it depends on the cached a only)."""
    B, T, H = dact_all.shape
    dt = dact_all.dtype
    da_all = np.empty((B, T, H), dtype=dt)
    dh = dh_T.copy()
    d_prev_out = np.zeros((B, H), dtype=dt)
    dh_pass = np.zeros((B, H), dtype=dt)
    da = np.empty((B, H), dtype=dt)
    acc = np.ones(2, dtype=dt)  # [alpha, beta] = [1, 1]: c += a @ b
    for t in range(T - 1, -1, -1):
        for b in range(B):
            keep_b = (not has_mask) or mask[b, t]
            for j in range(H):
                d_output = d_out[b, t, j] + d_prev_out[b, j]
                if keep_b:
                    da[b, j] = (dh[b, j] + d_output) * dact_all[b, t, j]
                    dh_pass[b, j] = 0.0
                    d_prev_out[b, j] = 0.0
                else:
                    da[b, j] = 0.0
                    dh_pass[b, j] = dh[b, j]  # state carried: its gradient passes through
                    d_prev_out[b, j] = 0.0 if zero_out else d_output
        da_all[:, t, :] = da
        if has_rdp:
            dh = _recurrent_product_backward(da, U, rdp, has_rdp) + dh_pass
        else:
            dh[:] = dh_pass
            gemm(da, U, dh, False, True, acc)  # dh = da @ U^T + dh_pass, in place
    return da_all, dh


def forward(x, kernel, recurrent_kernel, bias, h0, mask, zero_output_for_mask, dropout_mask,
            recurrent_dropout_mask, act_id, keep):
    """Called by :func:`lstm_np.kernels.api.simple_rnn_forward`."""
    B, T, F = x.shape
    H = recurrent_kernel.shape[0]
    xp = gate_project(x.reshape(B * T, F) if dropout_mask is None else x, kernel,
                      None if dropout_mask is None else dropout_mask[:, :, None, :])
    xp = xp.reshape(B, T, H)  # (B, T, H)
    if bias is not None:
        xp = xp + bias
    mask_arr, has_mask = _mask_args(mask, B, T)
    rdp, has_rdp = _rdp_args(recurrent_dropout_mask, x.dtype, H)
    fast = act_id == 0 and config.FAST_MATH and x.dtype.itemsize == 4  # vectorised tanh
    outputs, h, a_all, hprev_all = _forward(
        np.ascontiguousarray(xp, dtype=x.dtype),
        np.ascontiguousarray(recurrent_kernel, dtype=x.dtype),
        np.ascontiguousarray(h0, dtype=x.dtype), mask_arr, has_mask, bool(zero_output_for_mask),
        rdp, has_rdp, fast, act_id, keep)
    steps = dict(a=a_all, h_prev=hprev_all) if keep else None
    return outputs, h, steps


def backward(d_outputs, dh_T, cache):
    """Called by :func:`lstm_np.kernels.api.simple_rnn_backward`.
    Returns dx, dW, dU, db, dh0."""
    x = cache.x
    B, T, F = x.shape
    H = cache.recurrent_kernel.shape[0]
    s = cache.steps
    mask_arr, has_mask = _mask_args(cache.mask, B, T)
    rdp, has_rdp = _rdp_args(cache.recurrent_dropout_mask, x.dtype, H)
    da, dh0 = _backward(
        np.ascontiguousarray(d_outputs, dtype=x.dtype), np.ascontiguousarray(dh_T, dtype=x.dtype),
        np.ascontiguousarray(cache.recurrent_kernel, dtype=x.dtype),
        np.ascontiguousarray(cache.activation.derivative(s["a"]), dtype=x.dtype),  # vectorised
        mask_arr, has_mask, bool(cache.zero_output_for_mask), rdp, has_rdp)
    da2 = da.reshape(B * T, H)  # (B·T, H)
    # Hoisted products: one GEMM each instead of T small ones (masks repeat along time).
    dp, rdm = cache.dropout_mask, cache.recurrent_dropout_mask
    dpx = None if dp is None else np.repeat(dp, T, axis=1)  # (1, B·T, F)
    rdpx = None if rdm is None else np.repeat(rdm, T, axis=1)  # (1, B·T, H)
    dx, dW = gate_project_backward(da2, x.reshape(B * T, F), cache.kernel, dpx)
    dU = gate_project_backward(da2, s["h_prev"].reshape(B * T, H), cache.recurrent_kernel,
                               rdpx)[1]
    return dx.reshape(B, T, F), dW, dU, da2.sum(axis=0), dh0
