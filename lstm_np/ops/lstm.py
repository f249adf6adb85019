"""The LSTM, forward and backward, as functions on arrays: the part a teacher reads.

Notation (Olah, "Understanding LSTM Networks"), with Keras' weight layout:

    B batch, T time steps, F input features, H units; gates stacked i, f, c, o along 4H.

    z_t   = x_t @ W + h_{t-1} @ U + b            (B, 4H)   W = kernel (F, 4H), U = (H, 4H)
    i_t   = σ(z_i)      input gate               (B, H)    σ = recurrent_activation
    f_t   = σ(z_f)      forget gate              (B, H)
    c~_t  = φ(z_c)      candidate cell           (B, H)    φ = activation
    o_t   = σ(z_o)      output gate              (B, H)
    c_t   = f_t * c_{t-1} + i_t * c~_t           (B, H)
    h_t   = o_t * φ(c_t)                         (B, H)    the output of step t

Backward, for one step, given dh = dL/dh_t and dc = dL/dc_t from later steps:

    do    = dh * φ(c_t)
    dc   += dh * o_t * φ'(c_t)
    di    = dc * c~_t          df = dc * c_{t-1}        dc~ = dc * i_t
    dz    = [di σ'(z_i), df σ'(z_f), dc~ φ'(z_c), do σ'(z_o)]       (B, 4H)
    dW   += x_t^T dz           dU += h_{t-1}^T dz       db += Σ_batch dz
    dx_t  = dz W^T             dh_{t-1} = dz U^T        dc_{t-1} = dc * f_t

Dropout (training only, Keras' scheme): masks are drawn once per call and reused at every
step. ``dropout_mask`` is (G, B, F) and ``recurrent_dropout_mask`` (G, B, H), with G = 1
(one mask for all gates) or G = 4 (one per gate, what Keras does once
``recurrent_dropout > 0``).

Keras doc: https://keras.io/api/layers/recurrent_layers/lstm/
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import activations
from ..arrays import gate_project, gate_project_backward
from .checks import check_backward, check_forward
from .recurrence import scan_backward, scan_forward


class LSTMCache(NamedTuple):
    """What backward needs from the forward pass."""

    x: np.ndarray  # (B, T, F) processing order
    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    use_bias: bool
    mask: np.ndarray | None  # (B, T) bool
    zero_output_for_mask: bool
    dropout_mask: np.ndarray | None  # (G, B, F)
    recurrent_dropout_mask: np.ndarray | None  # (G, B, H)
    activation: activations.Activation
    recurrent_activation: activations.Activation
    steps: list  # one cache per step, from lstm_cell_forward


def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias, act, ract,
                      dropout_mask=None, recurrent_dropout_mask=None):
    """One LSTM step. Returns ``h_t, c_t, cache_t`` (see the module docstring)."""
    z = gate_project(x_t, kernel, dropout_mask) \
        + gate_project(h_prev, recurrent_kernel, recurrent_dropout_mask)  # (B, 4H)
    if bias is not None:
        z = z + bias
    z_i, z_f, z_c, z_o = np.split(z, 4, axis=1)  # each (B, H)
    i = ract(z_i)
    f = ract(z_f)
    c_tilde = act(z_c)
    o = ract(z_o)
    c = f * c_prev + i * c_tilde  # (B, H)
    h = o * act(c)  # (B, H)
    return h, c, (x_t, h_prev, c_prev, z, c)


def lstm_cell_backward(dh, dc, cache_t, kernel, recurrent_kernel, act, ract,
                       dropout_mask=None, recurrent_dropout_mask=None):
    """Backward of one step. Returns ``dx_t, dh_prev, dc_prev, [dW, dU, db]``."""
    x_t, h_prev, c_prev, z, c = cache_t
    z_i, z_f, z_c, z_o = np.split(z, 4, axis=1)
    i, f, c_tilde, o = ract(z_i), ract(z_f), act(z_c), ract(z_o)
    do = dh * act(c)
    dc = dc + dh * o * act.derivative(c)
    di = dc * c_tilde
    df = dc * c_prev
    dc_tilde = dc * i
    dz = np.concatenate(
        [di * ract.derivative(z_i), df * ract.derivative(z_f),
         dc_tilde * act.derivative(z_c), do * ract.derivative(z_o)], axis=1)  # (B, 4H)
    dx_t, dW = gate_project_backward(dz, x_t, kernel, dropout_mask)  # (B, F), (F, 4H)
    dh_prev, dU = gate_project_backward(dz, h_prev, recurrent_kernel, recurrent_dropout_mask)
    db = dz.sum(axis=0)  # (4H,)
    return dx_t, dh_prev, dc * f, [dW, dU, db]


def lstm_forward(x, kernel, recurrent_kernel, bias=None, h0=None, c0=None, *, mask=None,
                 activation="tanh", recurrent_activation="sigmoid", zero_output_for_mask=False,
                 dropout_mask=None, recurrent_dropout_mask=None):
    """Run an LSTM over a whole sequence.

    Parameters
    ----------
    x : (B, T, F) input, in the order the steps are processed (flip it yourself for
        ``go_backwards``).
    kernel (F, 4H), recurrent_kernel (H, 4H), bias (4H,) or None: Keras' weights.
    h0, c0 : (B, H) initial states (zeros when None).
    mask : (B, T) bool, False skips a step (Keras' masking semantics).
    dropout_mask (G, B, F), recurrent_dropout_mask (G, B, H): see the module docstring.

    Returns
    -------
    outputs (B, T, H), (h_T, c_T), cache (an :class:`LSTMCache`, for :func:`lstm_backward`)
    """
    act = activations.get(activation)
    ract = activations.get(recurrent_activation)
    (x, kernel, recurrent_kernel, bias, (h0, c0), mask, dropout_mask,
     recurrent_dropout_mask) = check_forward(
        "lstm_forward", 4, x, kernel, recurrent_kernel, bias, [h0, c0],
        lambda H: [(4 * H,)], mask, dropout_mask, recurrent_dropout_mask)
    B, T, _ = x.shape
    H = recurrent_kernel.shape[0]
    h0 = np.zeros((B, H), x.dtype) if h0 is None else h0  # (B, H)
    c0 = np.zeros((B, H), x.dtype) if c0 is None else c0  # (B, H)

    def step(x_t, states):
        h, c, cache_t = lstm_cell_forward(
            x_t, states[0], states[1], kernel, recurrent_kernel, bias, act, ract,
            dropout_mask, recurrent_dropout_mask)
        return [h, c], cache_t

    outputs, (h, c), steps = scan_forward(step, x, [h0, c0], mask, zero_output_for_mask)
    cache = LSTMCache(x, kernel, recurrent_kernel, bias is not None, mask, zero_output_for_mask,
                      dropout_mask, recurrent_dropout_mask, act, ract, steps)
    return outputs, (h, c), cache


def lstm_backward(d_outputs, dh_T, dc_T, cache: LSTMCache):
    """Back-propagation through time for :func:`lstm_forward`.

    Parameters
    ----------
    d_outputs : (B, T, H) gradient w.r.t. every output (zeros where unused).
    dh_T, dc_T : (B, H) gradients w.r.t. the final states (zeros when unused).
    cache : from :func:`lstm_forward`.

    Returns
    -------
    dx (B, T, F), [dkernel, drecurrent_kernel(, dbias)], (dh0, dc0)
    """
    d_outputs, (dh_T, dc_T) = check_backward("lstm_backward", cache, d_outputs, [dh_T, dc_T])

    def step_backward(d_new, cache_t):
        dx_t, dh_prev, dc_prev, dp = lstm_cell_backward(
            d_new[0], d_new[1], cache_t, cache.kernel, cache.recurrent_kernel,
            cache.activation, cache.recurrent_activation, cache.dropout_mask,
            cache.recurrent_dropout_mask)
        return dx_t, [dh_prev, dc_prev], dp

    dx, (dh0, dc0), (dW, dU, db) = scan_backward(
        step_backward, d_outputs, [dh_T, dc_T], cache.steps, cache.mask,
        cache.zero_output_for_mask)
    grads = [dW, dU, db] if cache.use_bias else [dW, dU]
    return dx, grads, (dh0, dc0)
