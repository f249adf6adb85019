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
from .time_distributed import TimeDistributed


def Input(shape=None, batch_size=None, dtype=None, batch_shape=None, name=None, **kwargs):
    """``keras.layers.Input`` spelling of :func:`lstm_np.Input` (a symbolic model input)."""
    from ..models.symbolic import Input as _Input  # late: models build on layers

    return _Input(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape,
                  name=name, **kwargs)


__all__ = ["Activation", "Bidirectional", "Concatenate", "Dense", "Dropout", "Embedding",
           "Flatten", "GRU", "Input", "InputLayer", "Layer", "LSTM", "Masking", "Permute",
           "Recurrent", "RepeatVector", "Reshape", "SimpleRNN", "TimeDistributed", "concatenate"]
