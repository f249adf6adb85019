"""Models: Sequential, the functional Model and Input, training, saving."""

from .callbacks import Callback, EarlyStopping, History, LambdaCallback
from .functional import Model
from .sequential import Sequential
from .symbolic import Input, SymbolicTensor

__all__ = ["Callback", "EarlyStopping", "History", "Input", "LambdaCallback", "Model",
           "Sequential", "SymbolicTensor", "load_model", "model_from_json"]


def load_model(filepath, compile=True):
    """Load a model written by ``model.save(path)``."""
    from .saving import load_model as _load

    return _load(filepath, compile=compile)


def model_from_json(json_string):
    """Rebuild a model from ``model.to_json()`` (then ``load_weights``), Keras 2 style."""
    from .saving import model_from_json as _from_json

    return _from_json(json_string)
