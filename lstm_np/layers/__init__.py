"""Layers with Keras' names, arguments and weight layouts."""

from .base import Layer
from .bidirectional import Bidirectional
from .gru import GRU
from .lstm import LSTM
from .recurrent import Recurrent
from .simple_rnn import SimpleRNN

__all__ = ["Layer", "Recurrent", "LSTM", "GRU", "SimpleRNN", "Bidirectional"]
