"""The Numba engine's entry points: the functions of :mod:`lstm_np.ops`, whole sequence in one
compiled call, with the same arguments and results, plus three that only an engine needs.

* ``keep``: keep what the backward pass needs (training) or not (inference: less memory);
* ``workspace``: a dict in which the engine keeps the training cache's buffers from call to
  call (a layer passes its own), so they are not re-allocated (and page-faulted) every call;
  the cache of the previous call made with the same dict becomes invalid;
* ``check``: validate and cast the arguments (:mod:`lstm_np.ops.checks`); the layers pass
  False, having validated them already.

The equations are those of :mod:`lstm_np.ops` (read them there); every entry point here is
checked against its ``ops`` twin by the kernel tests (``tests/test_kernels_*.py``). The layers
reach these functions through :mod:`lstm_np.layers.engine`.
"""

from __future__ import annotations

import numpy as np

from .. import activations
from ..ops.checks import check_backward, check_forward
from ..ops.gru import GRUCache
from ..ops.lstm import LSTMCache
from ..ops.simple_rnn import SimpleRNNCache
from . import gru as _gru
from . import lstm as _lstm
from . import simple_rnn as _simple_rnn


class LSTMKernelCache(LSTMCache):
    """:class:`lstm_np.ops.lstm.LSTMCache` whose ``steps`` are the kernels' (B, T, ·) arrays."""

    __slots__ = ()


class GRUKernelCache(GRUCache):
    """:class:`lstm_np.ops.gru.GRUCache` whose ``steps`` are the kernels' (B, T, ·) arrays."""

    __slots__ = ()


class SimpleRNNKernelCache(SimpleRNNCache):
    """:class:`lstm_np.ops.simple_rnn.SimpleRNNCache` with the kernels' (B, T, ·) arrays."""

    __slots__ = ()


def lstm_forward(x, kernel, recurrent_kernel, bias=None, h0=None, c0=None, *, mask=None,
                 activation="tanh", recurrent_activation="sigmoid", zero_output_for_mask=False,
                 dropout_mask=None, recurrent_dropout_mask=None, keep=True, workspace=None,
                 check=True):
    """:func:`lstm_np.ops.lstm.lstm_forward` on the Numba engine. Returns
    ``outputs (B, T, H), (h_T, c_T), cache`` (an :class:`LSTMKernelCache`, None if not keep)."""
    act = activations.get(activation)
    ract = activations.get(recurrent_activation)
    if check:
        (x, kernel, recurrent_kernel, bias, (h0, c0), mask, dropout_mask,
         recurrent_dropout_mask) = check_forward(
            "lstm_forward", 4, x, kernel, recurrent_kernel, bias, [h0, c0],
            lambda H: [(4 * H,)], mask, dropout_mask, recurrent_dropout_mask)
    B, T, _ = x.shape
    H = recurrent_kernel.shape[0]
    h0 = np.zeros((B, H), x.dtype) if h0 is None else h0
    c0 = np.zeros((B, H), x.dtype) if c0 is None else c0
    outputs, h, c, steps = _lstm.forward(
        x, kernel, recurrent_kernel, bias, h0, c0, mask, zero_output_for_mask,
        dropout_mask, recurrent_dropout_mask, act.id, ract.id, keep, workspace)
    cache = None
    if keep:
        cache = LSTMKernelCache(x, kernel, recurrent_kernel, bias is not None, mask,
                                zero_output_for_mask, dropout_mask, recurrent_dropout_mask, act,
                                ract, steps)
    return outputs, (h, c), cache


def lstm_backward(d_outputs, dh_T, dc_T, cache: LSTMKernelCache, *, check=True):
    """:func:`lstm_np.ops.lstm.lstm_backward` on the Numba engine: ``dx (B, T, F),
    [dkernel, drecurrent_kernel(, dbias)], (dh0, dc0)``."""
    if check:
        d_outputs, (dh_T, dc_T) = check_backward("lstm_backward", cache, d_outputs,
                                                 [dh_T, dc_T])
    dx, dW, dU, db, dh0, dc0 = _lstm.backward(d_outputs, dh_T, dc_T, cache)
    grads = [dW, dU, db] if cache.use_bias else [dW, dU]
    return dx, grads, (dh0, dc0)


def gru_forward(x, kernel, recurrent_kernel, bias=None, h0=None, *, reset_after=True,
                mask=None, activation="tanh", recurrent_activation="sigmoid",
                zero_output_for_mask=False, dropout_mask=None, recurrent_dropout_mask=None,
                keep=True, workspace=None, check=True):
    """:func:`lstm_np.ops.gru.gru_forward` on the Numba engine. Returns
    ``outputs (B, T, H), h_T (B, H), cache`` (a :class:`GRUKernelCache`, None if not keep)."""
    act = activations.get(activation)
    ract = activations.get(recurrent_activation)
    if check:
        (x, kernel, recurrent_kernel, bias, (h0,), mask, dropout_mask,
         recurrent_dropout_mask) = check_forward(
            "gru_forward", 3, x, kernel, recurrent_kernel, bias, [h0],
            lambda H: [(2, 3 * H)] if reset_after else [(3 * H,)], mask, dropout_mask,
            recurrent_dropout_mask)
    B, T, _ = x.shape
    H = recurrent_kernel.shape[0]
    h0 = np.zeros((B, H), x.dtype) if h0 is None else h0
    outputs, h, steps = _gru.forward(
        x, kernel, recurrent_kernel, bias, reset_after, h0, mask, zero_output_for_mask,
        dropout_mask, recurrent_dropout_mask, act.id, ract.id, keep, workspace)
    cache = None
    if keep:
        cache = GRUKernelCache(x, kernel, recurrent_kernel, bias, reset_after, mask,
                               zero_output_for_mask, dropout_mask, recurrent_dropout_mask, act,
                               ract, steps)
    return outputs, h, cache


def gru_backward(d_outputs, dh_T, cache: GRUKernelCache, *, check=True):
    """:func:`lstm_np.ops.gru.gru_backward` on the Numba engine: ``dx (B, T, F),
    [dkernel, drecurrent_kernel(, dbias)], dh0``; dbias has the bias' own shape."""
    if check:
        d_outputs, (dh_T,) = check_backward("gru_backward", cache, d_outputs, [dh_T])
    dx, dW, dU, db_in, db_rec, dh0 = _gru.backward(d_outputs, dh_T, cache)
    grads = [dW, dU]
    if cache.bias is not None:
        grads.append(np.stack([db_in, db_rec]) if cache.reset_after else db_in)
    return dx, grads, dh0


def simple_rnn_forward(x, kernel, recurrent_kernel, bias=None, h0=None, *, mask=None,
                       activation="tanh", zero_output_for_mask=False, dropout_mask=None,
                       recurrent_dropout_mask=None, keep=True, check=True):
    """:func:`lstm_np.ops.simple_rnn.simple_rnn_forward` on the Numba engine. Returns
    ``outputs (B, T, H), h_T (B, H), cache`` (a :class:`SimpleRNNKernelCache`, or None)."""
    act = activations.get(activation)
    if check:
        (x, kernel, recurrent_kernel, bias, (h0,), mask, dropout_mask,
         recurrent_dropout_mask) = check_forward(
            "simple_rnn_forward", 1, x, kernel, recurrent_kernel, bias, [h0], lambda H: [(H,)],
            mask, dropout_mask, recurrent_dropout_mask)
    B, T, _ = x.shape
    H = recurrent_kernel.shape[0]
    h0 = np.zeros((B, H), x.dtype) if h0 is None else h0
    outputs, h, steps = _simple_rnn.forward(
        x, kernel, recurrent_kernel, bias, h0, mask, zero_output_for_mask, dropout_mask,
        recurrent_dropout_mask, act.id, keep)
    cache = None
    if keep:
        cache = SimpleRNNKernelCache(x, kernel, recurrent_kernel, bias is not None, mask,
                                     zero_output_for_mask, dropout_mask, recurrent_dropout_mask,
                                     act, steps)
    return outputs, h, cache


def simple_rnn_backward(d_outputs, dh_T, cache: SimpleRNNKernelCache, *, check=True):
    """:func:`lstm_np.ops.simple_rnn.simple_rnn_backward` on the Numba engine: ``dx (B, T, F),
    [dkernel, drecurrent_kernel(, dbias)], dh0``."""
    if check:
        d_outputs, (dh_T,) = check_backward("simple_rnn_backward", cache, d_outputs, [dh_T])
    dx, dW, dU, db, dh0 = _simple_rnn.backward(d_outputs, dh_T, cache)
    grads = [dW, dU, db] if cache.use_bias else [dW, dU]
    return dx, grads, dh0
