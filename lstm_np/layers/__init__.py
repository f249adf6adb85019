"""Layers with Keras' names, arguments and weight layouts."""

from .base import Layer
from .bidirectional import Bidirectional
from .core import Activation, Dense, Dropout, Flatten, InputLayer, RepeatVector
from .embedding import Embedding, Masking
from .gru import GRU
from .lstm import LSTM
from .recurrent import Recurrent
from .simple_rnn import SimpleRNN
from .time_distributed import TimeDistributed

__all__ = ["Activation", "Bidirectional", "Dense", "Dropout", "Embedding", "Flatten", "GRU",
           "InputLayer", "Layer", "LSTM", "Masking", "Recurrent", "RepeatVector", "SimpleRNN",
           "TimeDistributed"]
