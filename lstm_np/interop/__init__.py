"""Interop: Keras files and live Keras objects in and out, PyTorch recurrent modules in.

* :func:`load_keras` (``.keras`` / Keras 2 ``.h5``), :func:`load_weights` (``.weights.h5``),
  :func:`from_keras` (a live Keras model or layer);
* :func:`save_keras` (a ``.keras`` file Keras 3 loads), :func:`to_keras` (a live Keras model);
* :func:`from_torch` (``torch.nn.LSTM`` / ``GRU`` / ``RNN``).

Torch and Keras are imported only when these functions run; h5py only for files.
"""

from .export import keras_config, save_keras, to_keras
from .keras_files import from_keras, load_keras, load_weights
from .torch import from_torch

__all__ = ["from_keras", "from_torch", "keras_config", "load_keras", "load_weights",
           "save_keras", "to_keras"]


def _install_model_methods() -> None:
    """Give lstm_np models Keras' ``load_weights(path)`` and a ``save_keras(path)`` method,
    unless the models package defines its own (these delegate to this package)."""
    from ..models import Model

    def load_weights_method(self, filepath, skip_mismatch=False):
        """Load a Keras ``.weights.h5`` / ``.keras`` / Keras 2 ``.h5`` file's weights into this
        model, built like the Keras model that wrote it (see lstm_np.interop.load_weights)."""
        if skip_mismatch:
            raise ValueError("skip_mismatch=True is not supported: lstm_np loads every weight "
                             "or fails with the layer that does not fit.")
        load_weights(self, filepath)

    def save_keras_method(self, filepath, overwrite=False):
        """Write this model as a Keras 3 ``.keras`` file (see lstm_np.interop.save_keras)."""
        save_keras(self, filepath, overwrite=overwrite)

    if not hasattr(Model, "load_weights"):
        Model.load_weights = load_weights_method
    if not hasattr(Model, "save_keras"):
        Model.save_keras = save_keras_method


_install_model_methods()
