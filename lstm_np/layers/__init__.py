"""Layers with Keras' names, arguments and weight layouts."""

from .base import Layer
from .core import Activation, Dense, Dropout, Flatten, InputLayer, RepeatVector
from .embedding import Embedding, Masking
from .lstm import LSTM
from .recurrent import Recurrent
from .time_distributed import TimeDistributed

__all__ = ["Activation", "Dense", "Dropout", "Embedding", "Flatten", "InputLayer", "Layer",
           "LSTM", "Masking", "Recurrent", "RepeatVector", "TimeDistributed"]
