"""Layers with Keras' names, arguments and weight layouts."""

from .base import Layer
from .bidirectional import Bidirectional
from .core import Activation, Dense, Dropout, Flatten, InputLayer, RepeatVector
from .embedding import Embedding, Masking
from .gru import GRU
from .lstm import LSTM
from .recurrent import Recurrent
from .reshaping import Concatenate, Permute, Reshape, concatenate
from .simple_rnn import SimpleRNN
from .symbolic import Input
from .time_distributed import TimeDistributed

__all__ = ["Activation", "Bidirectional", "Concatenate", "Dense", "Dropout", "Embedding",
           "Flatten", "GRU", "Input", "InputLayer", "Layer", "LSTM", "Masking", "Permute",
           "Recurrent", "RepeatVector", "Reshape", "SimpleRNN", "TimeDistributed", "concatenate"]
