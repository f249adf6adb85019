"""Engine choice, in one place: the recurrent layers call these functions with their
``engine`` ("numpy" or "numba") and get the same results from either.

* ``engine="numpy"`` runs :mod:`lstm_np.ops` (the readable equations, step by step);
* ``engine="numba"`` runs :mod:`lstm_np.kernels` (the whole sequence in one compiled call),
  with the engine's own ``keep``/``workspace``/``check`` arguments (see
  :mod:`lstm_np.kernels.api`).

A backward pass follows the engine that made its cache. The kernels are imported on first
use, once, and kept in a module global: ``import lstm_np`` does not load the compiled code
for a program that never runs it, and an import statement inside every call would cost
about 0.3 µs (a tenth of a batch-1 step).
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


def lstm_forward(*args, engine="numpy", keep=True, workspace=None, check=True, **kwargs):
    """:func:`lstm_np.ops.lstm.lstm_forward` on ``engine``; the cache is None unless keep."""
    if engine == "numba":
        return _kernels().lstm_forward(*args, keep=keep, workspace=workspace, check=check,
                                       **kwargs)
    outputs, states, cache = ops_lstm.lstm_forward(*args, **kwargs)
    return outputs, states, cache if keep else None


def lstm_backward(d_outputs, dh_T, dc_T, cache, check=True):
    """:func:`lstm_np.ops.lstm.lstm_backward` on the engine that made ``cache``."""
    if type(cache) is ops_lstm.LSTMCache:
        return ops_lstm.lstm_backward(d_outputs, dh_T, dc_T, cache)
    return _kernels().lstm_backward(d_outputs, dh_T, dc_T, cache, check=check)


def gru_forward(*args, engine="numpy", keep=True, workspace=None, check=True, **kwargs):
    """:func:`lstm_np.ops.gru.gru_forward` on ``engine``; the cache is None unless keep."""
    if engine == "numba":
        return _kernels().gru_forward(*args, keep=keep, workspace=workspace, check=check,
                                      **kwargs)
    outputs, h, cache = ops_gru.gru_forward(*args, **kwargs)
    return outputs, h, cache if keep else None


def gru_backward(d_outputs, dh_T, cache, check=True):
    """:func:`lstm_np.ops.gru.gru_backward` on the engine that made ``cache``."""
    if type(cache) is ops_gru.GRUCache:
        return ops_gru.gru_backward(d_outputs, dh_T, cache)
    return _kernels().gru_backward(d_outputs, dh_T, cache, check=check)


def simple_rnn_forward(*args, engine="numpy", keep=True, check=True, **kwargs):
    """:func:`lstm_np.ops.simple_rnn.simple_rnn_forward` on ``engine``; the cache is None
    unless keep."""
    if engine == "numba":
        return _kernels().simple_rnn_forward(*args, keep=keep, check=check, **kwargs)
    outputs, h, cache = ops_simple_rnn.simple_rnn_forward(*args, **kwargs)
    return outputs, h, cache if keep else None


def simple_rnn_backward(d_outputs, dh_T, cache, check=True):
    """:func:`lstm_np.ops.simple_rnn.simple_rnn_backward` on the engine that made ``cache``."""
    if type(cache) is ops_simple_rnn.SimpleRNNCache:
        return ops_simple_rnn.simple_rnn_backward(d_outputs, dh_T, cache)
    return _kernels().simple_rnn_backward(d_outputs, dh_T, cache, check=check)
