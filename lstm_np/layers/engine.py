"""Engine choice, in one place: the recurrent layers call these functions with their
``engine`` ("numpy" or "numba") and get the same results from either.

* ``engine="numpy"`` runs :mod:`lstm_np.ops` (the readable equations, step by step);
* ``engine="numba"`` runs :mod:`lstm_np.kernels` (the whole sequence in one compiled call),
  with the engine's own ``keep``/``workspace``/``check`` arguments (see
  :mod:`lstm_np.kernels.api`).

The arguments are those of the ``ops`` functions, plus ``engine``, ``keep`` (on the numpy
engine the cache is dropped when False), ``workspace`` and ``check``. A backward pass follows
the engine that made its cache.

The kernels are imported on first use and kept in a module global: ``import lstm_np`` does
not load the compiled code for a program that never runs it. The arguments are spelled out
(no ``*args``/``**kwargs``) because these calls sit on every layer call: a batch-1 step
costs a few microseconds, and repacking keyword dictionaries would add a tenth of that.
"""

from __future__ import annotations

from ..ops import gru as ops_gru
from ..ops import lstm as ops_lstm
from ..ops import simple_rnn as ops_simple_rnn

_KERNELS = None


def _kernels():
    """:mod:`lstm_np.kernels`, imported once on first use."""
    global _KERNELS
    if _KERNELS is None:
        from .. import kernels

        _KERNELS = kernels
    return _KERNELS


def lstm_forward(x, kernel, recurrent_kernel, bias=None, h0=None, c0=None, *, mask=None,
                 activation="tanh", recurrent_activation="sigmoid", zero_output_for_mask=False,
                 dropout_mask=None, recurrent_dropout_mask=None, engine="numpy", keep=True,
                 workspace=None, check=True):
    """:func:`lstm_np.ops.lstm.lstm_forward` on ``engine``; the cache is None unless keep."""
    if engine == "numba":
        return (_KERNELS or _kernels()).lstm_forward(
            x, kernel, recurrent_kernel, bias, h0, c0, mask=mask, activation=activation,
            recurrent_activation=recurrent_activation,
            zero_output_for_mask=zero_output_for_mask, dropout_mask=dropout_mask,
            recurrent_dropout_mask=recurrent_dropout_mask, keep=keep, workspace=workspace,
            check=check)
    outputs, states, cache = ops_lstm.lstm_forward(
        x, kernel, recurrent_kernel, bias, h0, c0, mask=mask, activation=activation,
        recurrent_activation=recurrent_activation, zero_output_for_mask=zero_output_for_mask,
        dropout_mask=dropout_mask, recurrent_dropout_mask=recurrent_dropout_mask)
    return outputs, states, cache if keep else None


def lstm_backward(d_outputs, dh_T, dc_T, cache, check=True):
    """:func:`lstm_np.ops.lstm.lstm_backward` on the engine that made ``cache``."""
    if type(cache) is ops_lstm.LSTMCache:
        return ops_lstm.lstm_backward(d_outputs, dh_T, dc_T, cache)
    return _kernels().lstm_backward(d_outputs, dh_T, dc_T, cache, check=check)


def gru_forward(x, kernel, recurrent_kernel, bias=None, h0=None, *, reset_after=True,
                mask=None, activation="tanh", recurrent_activation="sigmoid",
                zero_output_for_mask=False, dropout_mask=None, recurrent_dropout_mask=None,
                engine="numpy", keep=True, workspace=None, check=True):
    """:func:`lstm_np.ops.gru.gru_forward` on ``engine``; the cache is None unless keep."""
    if engine == "numba":
        return (_KERNELS or _kernels()).gru_forward(
            x, kernel, recurrent_kernel, bias, h0, reset_after=reset_after, mask=mask,
            activation=activation, recurrent_activation=recurrent_activation,
            zero_output_for_mask=zero_output_for_mask, dropout_mask=dropout_mask,
            recurrent_dropout_mask=recurrent_dropout_mask, keep=keep, workspace=workspace,
            check=check)
    outputs, h, cache = ops_gru.gru_forward(
        x, kernel, recurrent_kernel, bias, h0, reset_after=reset_after, mask=mask,
        activation=activation, recurrent_activation=recurrent_activation,
        zero_output_for_mask=zero_output_for_mask, dropout_mask=dropout_mask,
        recurrent_dropout_mask=recurrent_dropout_mask)
    return outputs, h, cache if keep else None


def gru_backward(d_outputs, dh_T, cache, check=True):
    """:func:`lstm_np.ops.gru.gru_backward` on the engine that made ``cache``."""
    if type(cache) is ops_gru.GRUCache:
        return ops_gru.gru_backward(d_outputs, dh_T, cache)
    return _kernels().gru_backward(d_outputs, dh_T, cache, check=check)


def simple_rnn_forward(x, kernel, recurrent_kernel, bias=None, h0=None, *, mask=None,
                       activation="tanh", zero_output_for_mask=False, dropout_mask=None,
                       recurrent_dropout_mask=None, engine="numpy", keep=True, check=True):
    """:func:`lstm_np.ops.simple_rnn.simple_rnn_forward` on ``engine``; the cache is None
    unless keep."""
    if engine == "numba":
        return (_KERNELS or _kernels()).simple_rnn_forward(
            x, kernel, recurrent_kernel, bias, h0, mask=mask, activation=activation,
            zero_output_for_mask=zero_output_for_mask, dropout_mask=dropout_mask,
            recurrent_dropout_mask=recurrent_dropout_mask, keep=keep, check=check)
    outputs, h, cache = ops_simple_rnn.simple_rnn_forward(
        x, kernel, recurrent_kernel, bias, h0, mask=mask, activation=activation,
        zero_output_for_mask=zero_output_for_mask, dropout_mask=dropout_mask,
        recurrent_dropout_mask=recurrent_dropout_mask)
    return outputs, h, cache if keep else None


def simple_rnn_backward(d_outputs, dh_T, cache, check=True):
    """:func:`lstm_np.ops.simple_rnn.simple_rnn_backward` on the engine that made ``cache``."""
    if type(cache) is ops_simple_rnn.SimpleRNNCache:
        return ops_simple_rnn.simple_rnn_backward(d_outputs, dh_T, cache)
    return _kernels().simple_rnn_backward(d_outputs, dh_T, cache, check=check)
