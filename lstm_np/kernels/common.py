"""Numba helpers every recurrent kernel shares (LSTM, GRU, SimpleRNN).

* :func:`_recurrent_product` / :func:`_recurrent_product_backward`: ``h @ U`` with optional
  per-gate recurrent dropout masks, and its gradient w.r.t. ``h``;
* :func:`_mask_args` / :func:`_rdp_args`: turn optional arrays into the fixed-type arguments a
  compiled kernel needs (an all-True mask and a flag, a ones mask and a flag).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..config import JIT


@njit(**JIT)
def _recurrent_product(h, U, rdp, has_rdp):
    """(h * rdp[g]) @ U[:, g-th quarter] for each gate g  ->  (B, 4H)."""
    if not has_rdp:
        return np.dot(h, U)
    G = rdp.shape[0]
    if G == 1:
        return np.dot(h * rdp[0], U)
    H4 = U.shape[1]
    Hg = H4 // G
    out = np.empty((h.shape[0], H4), dtype=h.dtype)
    for g in range(G):
        out[:, g * Hg:(g + 1) * Hg] = np.dot(h * rdp[g], np.ascontiguousarray(
            U[:, g * Hg:(g + 1) * Hg]))
    return out


@njit(**JIT)
def _recurrent_product_backward(dz, U, rdp, has_rdp):
    """Gradient w.r.t. h of :func:`_recurrent_product`: (B, 4H) -> (B, H)."""
    if not has_rdp:
        return np.dot(dz, U.T)
    G = rdp.shape[0]
    if G == 1:
        return np.dot(dz, U.T) * rdp[0]
    H4 = U.shape[1]
    Hg = H4 // G
    out = np.zeros((dz.shape[0], U.shape[0]), dtype=dz.dtype)
    for g in range(G):
        Ug = np.ascontiguousarray(U[:, g * Hg:(g + 1) * Hg])
        out += np.dot(np.ascontiguousarray(dz[:, g * Hg:(g + 1) * Hg]), Ug.T) * rdp[g]
    return out


def _mask_args(mask, B, T):
    if mask is None:
        return np.ones((B, T), dtype=np.bool_), False
    return np.ascontiguousarray(mask, dtype=np.bool_), True


def _rdp_args(rdp, dtype, H):
    if rdp is None:
        return np.ones((1, 1, H), dtype=dtype), False
    return np.ascontiguousarray(rdp, dtype=dtype), True


@njit(inline="always", **JIT)
def _emit_masked_row(outputs, b, t, hn, hp, keep_step, zero_out, H):
    """Keras' masking for one batch row of one step of a single-state cell (GRU, SimpleRNN),
    as :mod:`lstm_np.ops.recurrence` states it: an unmasked step outputs its new state; a
    masked one carries the state (``hn`` <- ``hp``) and outputs the previous output, or
    zeros with ``zero_output_for_mask`` (zeros too before the first step)."""
    out = outputs[b, t]
    if keep_step:
        for j in range(H):
            out[j] = hn[j]
        return
    for j in range(H):
        hn[j] = hp[j]  # state carried
        if zero_out or t == 0:
            out[j] = 0
        else:
            out[j] = outputs[b, t - 1, j]
