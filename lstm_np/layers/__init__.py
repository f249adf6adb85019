"""Layers with Keras' names, arguments and weight layouts."""

from .base import Layer
from .lstm import LSTM
from .recurrent import Recurrent

__all__ = ["Layer", "Recurrent", "LSTM"]
