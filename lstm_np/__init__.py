"""lstm_np: Keras-exact recurrent layers in NumPy, with the time loop compiled by Numba.

>>> import numpy as np, lstm_np
>>> lstm_np.LSTM(4)(np.ones((1, 3, 2))).shape
(1, 4)
"""

from . import (
    activations,
    callbacks,
    data,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    ops,
    optimizers,
    saving,
    utils,
)
from .interop import from_keras, from_torch, load_keras, to_keras
from .layers import (
    GRU,
    LSTM,
    Activation,
    Bidirectional,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    InputLayer,
    Layer,
    Masking,
    Recurrent,
    RepeatVector,
    SimpleRNN,
    TimeDistributed,
)
from .models import Input, Model, Sequential, load_model
from .tools.trace import Trace, trace

__version__ = "0.1.0"

#: The teaching tools' modules, reachable as ``lstm_np.demo``, ``lstm_np.plot`` ... (they live
#: in :mod:`lstm_np.tools`; imported on first use: plot needs matplotlib, cli click).
_TOOLS = ("cli", "demo", "explain", "plot")


def __getattr__(name):
    if name in _TOOLS:
        import importlib

        return importlib.import_module(f".tools.{name}", __name__)
    raise AttributeError(f"module 'lstm_np' has no attribute {name!r}")
__all__ = ["GRU", "LSTM", "Activation", "Bidirectional", "Dense", "Dropout", "Embedding",
           "Flatten", "Input", "InputLayer", "Layer", "Masking", "Model", "Recurrent",
           "RepeatVector", "Sequential", "SimpleRNN", "TimeDistributed", "Trace", "activations",
           "callbacks", "data", "datasets", "from_keras", "from_torch", "initializers", "layers",
           "load_keras", "load_model", "losses", "metrics", "ops", "optimizers", "saving",
           "to_keras",
           "trace", "utils"]
