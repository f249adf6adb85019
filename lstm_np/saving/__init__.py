"""The routing of model files, in one place: which format reads and writes which file.

It fills the table of :mod:`lstm_np.models.file_formats` that ``model.save``,
``save_weights``, ``load_weights``, ``save_keras`` and :func:`lstm_np.load_model` look up:

============  ==================================  ==========================================
format        reads (recognised by content)       writes
============  ==================================  ==========================================
``keras``     ``.keras`` zips, HDF5 ``.h5`` /     ``model.save_keras(path)`` (a ``.keras``
              ``.weights.h5`` (Keras 3 and 2)     file Keras 3 loads)
``lstm_np``   every other file (the default)      ``model.save`` / ``save_weights``, any name
============  ==================================  ==========================================

lstm_np's own format is :mod:`lstm_np.saving.native`; Keras' is :mod:`lstm_np.interop`.
A new format is a module with its four functions and one :func:`register_format` call here.

Keras doc: https://keras.io/api/models/model_saving_apis/model_saving_and_loading/
"""

from .. import interop
from ..models.file_formats import FileFormat, find_format, format_named, register_format
from . import native

KERAS = FileFormat(
    name="keras", detect=interop.is_keras_weights_file, save_model=interop.save_keras,
    load_model=interop.load_keras, load_weights=interop.load_weights)
NATIVE = FileFormat(
    name="lstm_np", extensions=(".npz",), save_model=native.save_model,
    load_model=native.load_model, save_weights=native.save_weights,
    load_weights=native.load_weights)

register_format(KERAS)
register_format(NATIVE, default=True)

__all__ = ["KERAS", "NATIVE", "FileFormat", "find_format", "format_named", "native",
           "register_format"]
