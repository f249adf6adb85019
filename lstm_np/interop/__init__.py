"""Interop: Keras files and live Keras objects in and out, PyTorch recurrent modules in.

* :func:`load_keras` (``.keras`` / Keras 2 ``.h5``), :func:`load_weights` (``.weights.h5``),
  :func:`from_keras` (a live Keras model or layer);
* :func:`save_keras` (a ``.keras`` file Keras 3 loads), :func:`to_keras` (a live Keras model);
* :func:`from_torch` (``torch.nn.LSTM`` / ``GRU`` / ``RNN``).

Torch and Keras are imported only when these functions run; h5py only for files.
:mod:`lstm_np.saving` routes ``model.save_keras``, ``model.load_weights`` and
:func:`lstm_np.load_model` here for Keras files.
"""

from .export import keras_config, save_keras, to_keras
from .keras_files import from_keras, is_keras_weights_file, load_keras, load_weights
from .torch import from_torch

__all__ = ["from_keras", "from_torch", "is_keras_weights_file", "keras_config", "load_keras",
           "load_weights", "save_keras", "to_keras"]
