"""lstm_np: Keras-exact recurrent layers in NumPy, with the time loop compiled by Numba.

>>> import numpy as np, lstm_np
>>> lstm_np.LSTM(4)(np.ones((1, 3, 2))).shape
(1, 4)
"""

from . import activations, initializers, ops
from .layers import GRU, LSTM, Bidirectional, Layer, Recurrent, SimpleRNN

__version__ = "0.1.0"
__all__ = ["LSTM", "GRU", "SimpleRNN", "Bidirectional", "Layer", "Recurrent", "activations",
           "initializers", "ops"]
