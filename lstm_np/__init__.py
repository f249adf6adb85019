"""lstm_np: Keras-exact recurrent layers in NumPy, with the time loop compiled by Numba.

>>> import numpy as np, lstm_np
>>> lstm_np.LSTM(4)(np.ones((1, 3, 2))).shape
(1, 4)
"""

from . import activations, data, datasets, initializers, ops
from .layers import LSTM, Layer, Recurrent
from .trace import Trace, trace

__version__ = "0.1.0"
__all__ = ["LSTM", "Layer", "Recurrent", "Trace", "activations", "data", "datasets",
           "initializers", "ops", "trace"]
