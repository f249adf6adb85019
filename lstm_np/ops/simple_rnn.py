"""The simple (Elman) RNN, forward and backward, as functions on arrays.

Notation, with Keras' weight layout (``keras/src/layers/rnn/simple_rnn.py``):

    B batch, T time steps, F input features, H units; φ = activation.
    W = kernel (F, H), U = recurrent_kernel (H, H), b = bias (H,).

    a_t = x_t @ W + b + h_{t-1} @ U            (B, H)
    h_t = φ(a_t)                               (B, H)   the output of step t

Backward, for one step, given dh = dL/dh_t:

    da = dh * φ'(a_t)                          (B, H)
    dW += x_t^T da     dU += h_{t-1}^T da      db += Σ_batch da
    dx_t = da @ W^T    dh_{t-1} = da @ U^T

Dropout (training only): one input mask (1, B, F) and one recurrent mask (1, B, H), drawn
once per call and reused at every step; the recurrent mask multiplies h_{t-1} before U.

Keras doc: https://keras.io/api/layers/recurrent_layers/simple_rnn/
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import activations
from ..arrays import gate_project, gate_project_backward
from .checks import check_backward, check_forward
from .recurrence import scan_backward, scan_forward


class SimpleRNNCache(NamedTuple):
    """What backward needs from the forward pass."""

    x: np.ndarray  # (B, T, F) processing order
    kernel: np.ndarray  # (F, H)
    recurrent_kernel: np.ndarray  # (H, H)
    use_bias: bool
    mask: np.ndarray | None  # (B, T) bool
    zero_output_for_mask: bool
    dropout_mask: np.ndarray | None  # (1, B, F)
    recurrent_dropout_mask: np.ndarray | None  # (1, B, H)
    activation: activations.Activation
    steps: list  # one cache per step, from simple_rnn_cell_forward


def simple_rnn_cell_forward(x_t, h_prev, kernel, recurrent_kernel, bias, act,
                            dropout_mask=None, recurrent_dropout_mask=None):
    """One step. Returns ``h_t, cache_t``."""
    a = gate_project(x_t, kernel, dropout_mask)  # (B, H)
    if bias is not None:
        a = a + bias
    a = a + gate_project(h_prev, recurrent_kernel, recurrent_dropout_mask)  # (B, H)
    return act(a), (x_t, h_prev, a)


def simple_rnn_cell_backward(dh, cache_t, kernel, recurrent_kernel, act,
                             dropout_mask=None, recurrent_dropout_mask=None):
    """Backward of one step. Returns ``dx_t, dh_prev, [dW, dU, db]``."""
    x_t, h_prev, a = cache_t
    da = dh * act.derivative(a)  # (B, H)
    dx_t, dW = gate_project_backward(da, x_t, kernel, dropout_mask)  # (B, F), (F, H)
    dh_prev, dU = gate_project_backward(da, h_prev, recurrent_kernel, recurrent_dropout_mask)
    return dx_t, dh_prev, [dW, dU, da.sum(axis=0)]


def simple_rnn_forward(x, kernel, recurrent_kernel, bias=None, h0=None, *, mask=None,
                       activation="tanh", zero_output_for_mask=False, dropout_mask=None,
                       recurrent_dropout_mask=None):
    """Run a SimpleRNN over a whole sequence.

    Parameters
    ----------
    x : (B, T, F) input in processing order (flip it yourself for ``go_backwards``).
    kernel (F, H), recurrent_kernel (H, H), bias (H,) or None: Keras' weights.
    h0 : (B, H) initial state (zeros when None).
    mask : (B, T) bool, False skips a step (Keras' masking semantics).
    dropout_mask (1, B, F), recurrent_dropout_mask (1, B, H): see the module docstring.

    Returns
    -------
    outputs (B, T, H), h_T (B, H), cache (a :class:`SimpleRNNCache`, for the backward pass)
    """
    act = activations.get(activation)
    (x, kernel, recurrent_kernel, bias, (h0,), mask, dropout_mask,
     recurrent_dropout_mask) = check_forward(
        "simple_rnn_forward", 1, x, kernel, recurrent_kernel, bias, [h0], lambda H: [(H,)],
        mask, dropout_mask, recurrent_dropout_mask)
    B, T, _ = x.shape
    H = recurrent_kernel.shape[0]
    h0 = np.zeros((B, H), x.dtype) if h0 is None else h0  # (B, H)

    def step(x_t, states):
        h, cache_t = simple_rnn_cell_forward(x_t, states[0], kernel, recurrent_kernel, bias,
                                             act, dropout_mask, recurrent_dropout_mask)
        return [h], cache_t

    outputs, (h,), steps = scan_forward(step, x, [h0], mask, zero_output_for_mask)
    cache = SimpleRNNCache(x, kernel, recurrent_kernel, bias is not None, mask,
                           zero_output_for_mask, dropout_mask, recurrent_dropout_mask, act, steps)
    return outputs, h, cache


def simple_rnn_backward(d_outputs, dh_T, cache: SimpleRNNCache):
    """Back-propagation through time for :func:`simple_rnn_forward`.

    Returns dx (B, T, F), [dkernel, drecurrent_kernel(, dbias)], dh0 (B, H).
    """
    d_outputs, (dh_T,) = check_backward("simple_rnn_backward", cache, d_outputs, [dh_T])

    def step_backward(d_new, cache_t):
        dx_t, dh_prev, dp = simple_rnn_cell_backward(
            d_new[0], cache_t, cache.kernel, cache.recurrent_kernel, cache.activation,
            cache.dropout_mask, cache.recurrent_dropout_mask)
        return dx_t, [dh_prev], dp

    dx, (dh0,), (dW, dU, db) = scan_backward(step_backward, d_outputs, [dh_T], cache.steps,
                                             cache.mask, cache.zero_output_for_mask)
    grads = [dW, dU, db] if cache.use_bias else [dW, dU]
    return dx, grads, dh0
