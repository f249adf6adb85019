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


def is_keras_weights_file(path) -> bool:
    """True for an HDF5 file or a ``.keras`` zip (one holding ``model.weights.h5``)."""
    import os
    import zipfile

    from .keras_files import HDF5_MAGIC, ZIP_MAGIC

    path = os.fspath(path)
    if not os.path.isfile(path):
        return False
    with open(path, "rb") as f:
        head = f.read(8)
    if head == HDF5_MAGIC:
        return True
    if head.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                return "model.weights.h5" in archive.namelist()
        except zipfile.BadZipFile:
            return path.endswith(".keras")  # a damaged .keras: let our loader say so
    return False


def _install_model_methods() -> None:
    """Teach lstm_np models' ``load_weights(path)`` Keras' weight files and add
    ``save_keras(path)``.

    ``Model.load_weights`` of :mod:`lstm_np.models` reads lstm_np's own ``.npz``; Keras files
    (HDF5 ``.weights.h5`` / Keras 2 ``.h5``, and ``.keras``) are routed to
    :func:`load_weights` here, everything else to the original method.
    """
    from ..models import Model

    original = getattr(Model, "load_weights", None)  # maybe inherited from a mixin
    if getattr(original, "_reads_keras_files", False):
        return

    def load_weights_method(self, filepath, *args, **kwargs):
        if original is not None and not is_keras_weights_file(filepath):
            return original(self, filepath, *args, **kwargs)
        if kwargs.get("skip_mismatch"):
            raise ValueError("skip_mismatch=True is not supported: lstm_np loads every weight "
                             "or fails with the layer that does not fit.")
        return load_weights(self, filepath)

    load_weights_method.__doc__ = (
        "Load weights: Keras' ``.weights.h5`` / ``.keras`` / Keras 2 ``.h5`` (into a model built "
        "like the Keras one; see lstm_np.interop.load_weights)"
        + (", or lstm_np's own weights file." if original is not None else "."))
    load_weights_method._reads_keras_files = True
    Model.load_weights = load_weights_method

    def save_keras_method(self, filepath, overwrite=False):
        """Write this model as a Keras 3 ``.keras`` file (see lstm_np.interop.save_keras)."""
        save_keras(self, filepath, overwrite=overwrite)

    if not hasattr(Model, "save_keras"):
        Model.save_keras = save_keras_method


_install_model_methods()
