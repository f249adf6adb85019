"""Models: Sequential, the functional Model and Input, training, saving."""

from .callbacks import Callback, EarlyStopping, History, LambdaCallback
from .functional import Model
from .sequential import Sequential
from .symbolic import Input, SymbolicTensor

__all__ = ["Callback", "EarlyStopping", "History", "Input", "LambdaCallback", "Model",
           "Sequential", "SymbolicTensor", "load_model"]


def load_model(filepath, compile=True):
    """Load a model written by ``model.save(path)``."""
    from .saving import load_model as _load

    return _load(filepath, compile=compile)
