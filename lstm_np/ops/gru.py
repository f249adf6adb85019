"""The GRU, forward and backward, as functions on arrays: the part a teacher reads.

Notation (Cho et al. 2014), with Keras' weight layout and gate order **z, r, h**:

    B batch, T time steps, F input features, H units; blocks stacked z, r, h along 3H.
    W = kernel (F, 3H), U = recurrent_kernel (H, 3H); σ = recurrent_activation, φ = activation.

    x_z, x_r, x_h = split(x_t @ W + b_in)                    each (B, H)

reset_after=True (Keras' default; bias (2, 3H): row 0 b_in, row 1 b_rec)

    m_z, m_r, m_h = split(h_{t-1} @ U + b_rec)               each (B, H)
    z_t  = σ(x_z + m_z)          update gate
    r_t  = σ(x_r + m_r)          reset gate
    h~_t = φ(x_h + r_t * m_h)    candidate: the reset gate scales U_h's *output*

reset_after=False (Keras 2.2 and before; bias (3H,) = b_in, no recurrent bias)

    z_t  = σ(x_z + h_{t-1} @ U_z)
    r_t  = σ(x_r + h_{t-1} @ U_r)
    h~_t = φ(x_h + (r_t * h_{t-1}) @ U_h)     the reset gate scales U_h's *input*

both

    h_t  = z_t * h_{t-1} + (1 - z_t) * h~_t                  (B, H)   the output of step t

Backward, for one step, given dh = dL/dh_t (a_· are the pre-activations above):

    da_z = dh * (h_{t-1} - h~_t) * σ'(a_z)       da_h = dh * (1 - z_t) * φ'(a_h)
    reset_after=True:   dr = da_h * m_h                     d m = [da_z, da_r, da_h * r_t]
    reset_after=False:  dq = da_h @ U_h^T  (q = r_t * h_{t-1})    dr = dq * h_{t-1}
    da_r = dr * σ'(a_r)
    dW  += x_t^T [da_z, da_r, da_h]      db_in  += Σ_batch [da_z, da_r, da_h]
    dU  += h_{t-1}^T d m  (reset_after)  or  [h^T da_z, h^T da_r, q^T da_h]
    db_rec += Σ_batch d m                (reset_after only)
    dx_t = [da_z, da_r, da_h] @ W^T
    dh_{t-1} = dh * z_t + d m @ U^T  (reset_after)  or  dh * z_t + [da_z, da_r] @ U_zr^T + dq * r_t

Dropout (training only, Keras' scheme, ``keras/src/layers/rnn/gru.py``): masks are drawn
once per call and reused at every step. ``dropout_mask`` is (G, B, F) and
``recurrent_dropout_mask`` (G, B, H) with G = 1 (one input mask for all gates: Keras'
implementation 2) or G = 3 (one per gate z, r, h: implementation 1, what Keras switches to
once ``recurrent_dropout > 0``). Recurrent masks act on h_{t-1} inside the gates only,
never on the ``z_t * h_{t-1}`` carry.

Keras doc: https://keras.io/api/layers/recurrent_layers/gru/
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import activations
from ..arrays import gate_mask, gate_project, gate_project_backward, split_bias
from .checks import check_backward, check_forward
from .recurrence import scan_backward, scan_forward


class GRUCache(NamedTuple):
    """What backward needs from the forward pass."""

    x: np.ndarray  # (B, T, F) processing order
    kernel: np.ndarray  # (F, 3H)
    recurrent_kernel: np.ndarray  # (H, 3H)
    bias: np.ndarray | None  # (2, 3H) reset_after, (3H,) otherwise
    reset_after: bool
    mask: np.ndarray | None  # (B, T) bool
    zero_output_for_mask: bool
    dropout_mask: np.ndarray | None  # (G, B, F)
    recurrent_dropout_mask: np.ndarray | None  # (G, B, H)
    activation: activations.Activation
    recurrent_activation: activations.Activation
    steps: list  # one cache per step, from gru_cell_forward


def _dropped(v, masks, g):
    m = gate_mask(masks, g)
    return v if m is None else v * m


def gru_cell_forward(x_t, h_prev, kernel, recurrent_kernel, bias, reset_after, act, ract,
                     dropout_mask=None, recurrent_dropout_mask=None):
    """One GRU step. Returns ``h_t, cache_t`` (see the module docstring)."""
    H = h_prev.shape[1]
    b_in, b_rec = split_bias(bias, reset_after)
    xp = gate_project(x_t, kernel, dropout_mask)  # (B, 3H)
    if b_in is not None:
        xp = xp + b_in
    U = recurrent_kernel
    rdp = recurrent_dropout_mask
    if reset_after:
        m = gate_project(h_prev, U, rdp)  # (B, 3H)
        if b_rec is not None:
            m = m + b_rec
        a_z = xp[:, :H] + m[:, :H]  # (B, H)
        a_r = xp[:, H:2 * H] + m[:, H:2 * H]
        m_h = m[:, 2 * H:]  # (B, H): U_h's output before the reset gate
        r = ract(a_r)
        a_h = xp[:, 2 * H:] + r * m_h
    else:
        a_z = xp[:, :H] + _dropped(h_prev, rdp, 0) @ U[:, :H]  # (B, H)
        a_r = xp[:, H:2 * H] + _dropped(h_prev, rdp, 1) @ U[:, H:2 * H]
        r = ract(a_r)
        m_h = None
        a_h = xp[:, 2 * H:] + (r * _dropped(h_prev, rdp, 2)) @ U[:, 2 * H:]
    z = ract(a_z)
    hh = act(a_h)  # (B, H) candidate
    h = z * h_prev + (1 - z) * hh  # (B, H)
    return h, (x_t, h_prev, np.concatenate([a_z, a_r, a_h], axis=1), m_h)


def gru_cell_backward(dh, cache_t, kernel, recurrent_kernel, reset_after, act, ract,
                      dropout_mask=None, recurrent_dropout_mask=None):
    """Backward of one step. Returns ``dx_t, dh_prev, [dW, dU, db_in, db_rec]``
    (``db_rec`` is None when ``reset_after=False``)."""
    x_t, h_prev, a, m_h = cache_t
    H = h_prev.shape[1]
    a_z, a_r, a_h = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
    z, r, hh = ract(a_z), ract(a_r), act(a_h)
    U = recurrent_kernel
    rdp = recurrent_dropout_mask
    da_z = dh * (h_prev - hh) * ract.derivative(a_z)  # (B, H)
    da_h = dh * (1 - z) * act.derivative(a_h)  # (B, H)
    dh_prev = dh * z  # (B, H): the direct path through the z * h_{t-1} carry
    if reset_after:
        da_r = da_h * m_h * ract.derivative(a_r)
        dm = np.concatenate([da_z, da_r, da_h * r], axis=1)  # (B, 3H) grad of h @ U + b_rec
        dh_rec, dU = gate_project_backward(dm, h_prev, U, rdp)
        dh_prev = dh_prev + dh_rec
        db_rec = dm.sum(axis=0)  # (3H,)
    else:
        h_h = _dropped(h_prev, rdp, 2)  # (B, H)
        dq = da_h @ U[:, 2 * H:].T  # (B, H): grad of q = r * h_h
        da_r = dq * h_h * ract.derivative(a_r)
        dzr = np.concatenate([da_z, da_r], axis=1)  # (B, 2H)
        rdp_zr = rdp if rdp is None or rdp.shape[0] == 1 else rdp[:2]  # z's and r's masks
        dh_zr, dU_zr = gate_project_backward(dzr, h_prev, U[:, :2 * H], rdp_zr)
        dq_h = dq * r
        dh_prev = dh_prev + dh_zr + (dq_h if rdp is None else dq_h * gate_mask(rdp, 2))
        dU = np.concatenate([dU_zr, (r * h_h).T @ da_h], axis=1)  # (H, 3H)
        db_rec = None
    da = np.concatenate([da_z, da_r, da_h], axis=1)  # (B, 3H) grad of x_t @ W + b_in
    dx_t, dW = gate_project_backward(da, x_t, kernel, dropout_mask)
    return dx_t, dh_prev, [dW, dU, da.sum(axis=0), db_rec]


def gru_forward(x, kernel, recurrent_kernel, bias=None, h0=None, *, reset_after=True,
                mask=None, activation="tanh", recurrent_activation="sigmoid",
                zero_output_for_mask=False, dropout_mask=None, recurrent_dropout_mask=None):
    """Run a GRU over a whole sequence.

    Parameters
    ----------
    x : (B, T, F) input, in the order the steps are processed (flip it yourself for
        ``go_backwards``).
    kernel (F, 3H), recurrent_kernel (H, 3H): Keras' weights, gates z, r, h.
    bias : (2, 3H) with ``reset_after=True``, (3H,) with ``reset_after=False``, or None.
    h0 : (B, H) initial state (zeros when None).
    mask : (B, T) bool, False skips a step (Keras' masking semantics).
    dropout_mask (G, B, F), recurrent_dropout_mask (G, B, H): see the module docstring.

    Returns
    -------
    outputs (B, T, H), h_T (B, H), cache (a :class:`GRUCache`, for :func:`gru_backward`)
    """
    act = activations.get(activation)
    ract = activations.get(recurrent_activation)
    (x, kernel, recurrent_kernel, bias, (h0,), mask, dropout_mask,
     recurrent_dropout_mask) = check_forward(
        "gru_forward", 3, x, kernel, recurrent_kernel, bias, [h0],
        lambda H: [(2, 3 * H)] if reset_after else [(3 * H,)], mask, dropout_mask,
        recurrent_dropout_mask)
    B, T, _ = x.shape
    H = recurrent_kernel.shape[0]
    h0 = np.zeros((B, H), x.dtype) if h0 is None else h0  # (B, H)

    def step(x_t, states):
        h, cache_t = gru_cell_forward(x_t, states[0], kernel, recurrent_kernel, bias,
                                      reset_after, act, ract, dropout_mask,
                                      recurrent_dropout_mask)
        return [h], cache_t

    outputs, (h,), steps = scan_forward(step, x, [h0], mask, zero_output_for_mask)
    cache = GRUCache(x, kernel, recurrent_kernel, bias, reset_after, mask, zero_output_for_mask,
                     dropout_mask, recurrent_dropout_mask, act, ract, steps)
    return outputs, h, cache


def gru_backward(d_outputs, dh_T, cache: GRUCache):
    """Back-propagation through time for :func:`gru_forward`.

    Parameters
    ----------
    d_outputs : (B, T, H) gradient w.r.t. every output (zeros where unused).
    dh_T : (B, H) gradient w.r.t. the final state (zeros when unused).
    cache : from :func:`gru_forward`.

    Returns
    -------
    dx (B, T, F), [dkernel, drecurrent_kernel(, dbias)], dh0 (B, H);
    dbias has the bias' own shape: (2, 3H) or (3H,).
    """
    d_outputs, (dh_T,) = check_backward("gru_backward", cache, d_outputs, [dh_T])

    def step_backward(d_new, cache_t):
        dx_t, dh_prev, dp = gru_cell_backward(
            d_new[0], cache_t, cache.kernel, cache.recurrent_kernel, cache.reset_after,
            cache.activation, cache.recurrent_activation, cache.dropout_mask,
            cache.recurrent_dropout_mask)
        if dp[3] is None:
            dp = dp[:3]
        return dx_t, [dh_prev], dp

    dx, (dh0,), dp = scan_backward(step_backward, d_outputs, [dh_T], cache.steps, cache.mask,
                                   cache.zero_output_for_mask)
    dW, dU, db_in = dp[:3]
    db_rec = dp[3] if cache.reset_after else None
    grads = [dW, dU]
    if cache.bias is not None:
        grads.append(np.stack([db_in, db_rec]) if cache.reset_after else db_in)
    return dx, grads, dh0
