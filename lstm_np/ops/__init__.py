"""The functional core: recurrent layers as plain NumPy functions on arrays, the equations
a learner reads.

``lstm_forward`` / ``lstm_backward`` (and their ``gru_`` / ``simple_rnn_`` twins) run a
whole sequence (processing order) one step at a time; :mod:`lstm_np.kernels` computes the
same in one compiled call. The layers in :mod:`lstm_np.layers` add Keras' bookkeeping
around them (go_backwards, stateful carry, return_sequences/return_state, dropout masks).
"""

from .gru import gru_backward, gru_cell_backward, gru_cell_forward, gru_forward
from .lstm import lstm_backward, lstm_cell_backward, lstm_cell_forward, lstm_forward
from .recurrence import scan_backward, scan_forward
from .simple_rnn import (
    simple_rnn_backward,
    simple_rnn_cell_backward,
    simple_rnn_cell_forward,
    simple_rnn_forward,
)

__all__ = ["lstm_forward", "lstm_backward", "lstm_cell_forward", "lstm_cell_backward",
           "gru_forward", "gru_backward", "gru_cell_forward", "gru_cell_backward",
           "simple_rnn_forward", "simple_rnn_backward", "simple_rnn_cell_forward",
           "simple_rnn_cell_backward", "scan_forward", "scan_backward"]
