"""The functional core: recurrent layers as plain functions on arrays.

``lstm_forward`` / ``lstm_backward`` run a whole sequence (processing order) on either
engine; the layers in :mod:`lstm_np.layers` add Keras' bookkeeping around them
(go_backwards, stateful carry, return_sequences/return_state, dropout masks).
"""

from .lstm import lstm_backward, lstm_cell_backward, lstm_cell_forward, lstm_forward
from .recurrence import scan_backward, scan_forward

__all__ = ["lstm_forward", "lstm_backward", "lstm_cell_forward", "lstm_cell_backward",
           "scan_forward", "scan_backward"]
