"""The Numba engine: each recurrence of :mod:`lstm_np.ops` in one compiled call.

The entry points (:mod:`lstm_np.kernels.api`) take the ``ops`` functions' arguments plus the
engine's own (``keep``, ``workspace``, ``check``); the ``_...`` kernels behind them are
private. Layers reach them through :mod:`lstm_np.layers.engine`.
"""

from .api import (
    gru_backward,
    gru_forward,
    lstm_backward,
    lstm_forward,
    simple_rnn_backward,
    simple_rnn_forward,
)

__all__ = ["gru_backward", "gru_forward", "lstm_backward", "lstm_forward",
           "simple_rnn_backward", "simple_rnn_forward"]
