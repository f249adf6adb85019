"""Which code reads and writes a model file: a table of file formats, and the model methods
that look a file up in it (``save``, ``save_weights``, ``load_weights``, ``save_keras``,
:func:`load_model`).

The table is filled by :mod:`lstm_np.saving` (imported by ``import lstm_np``), the one
routing module, with lstm_np's own format (:mod:`lstm_np.saving.native`) and Keras'
(:mod:`lstm_np.interop`); the models never import a format. As in Keras
(``keras/src/saving/saving_api.py``), the format is chosen per file:

* reading: by content (a format's ``detect``), so a Keras file loads whatever its name;
  anything no format recognises goes to the default format (lstm_np's), which says
  clearly what is wrong with it;
* writing: by extension, among the formats that claim one for that operation; any other
  name is written in the default format (``model.save("m.keras")`` writes lstm_np's format;
  ``model.save_keras(path)`` writes a Keras 3 file).

A new format is one :func:`register_format` call in :mod:`lstm_np.saving`.

Keras doc: https://keras.io/api/models/model_saving_apis/model_saving_and_loading/
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass

from ..layers.serialization import layer_from_config, layer_to_config
from .summary import summary

#: The ``format``/``version`` tags of lstm_np's own files and JSON.
NATIVE_FORMAT = "lstm_np"
NATIVE_VERSION = 1

READS = ("load_model", "load_weights")
WRITES = ("save_model", "save_weights")


@dataclass(frozen=True)
class FileFormat:
    """One file format: how to recognise it and the functions that read and write it.

    ``save_model(model, path, overwrite)``, ``load_model(path, compile)``,
    ``save_weights(model, path, overwrite)``, ``load_weights(model, path)``; None where the
    format cannot do it. ``extensions`` route writes; ``detect(path)`` routes reads.
    """

    name: str
    extensions: tuple[str, ...] = ()
    detect: Callable[[str], bool] | None = None
    save_model: Callable | None = None
    load_model: Callable | None = None
    save_weights: Callable | None = None
    load_weights: Callable | None = None


_FORMATS: list[FileFormat] = []
_DEFAULT: list[FileFormat] = []


def register_format(file_format: FileFormat, default: bool = False) -> None:
    """Add a format to the table (``default``: the one for names no other format claims)."""
    _FORMATS[:] = [f for f in _FORMATS if f.name != file_format.name] + [file_format]
    if default:
        _DEFAULT[:] = [file_format]


def known_formats() -> str:
    """``"keras (.keras, ...), lstm_np (.npz)"``: for error messages."""
    return ", ".join(f"{f.name} ({', '.join(f.extensions) or 'recognised by content'})"
                     for f in _FORMATS) or "none (import lstm_np.saving to register them)"


def format_named(name: str) -> FileFormat:
    """The registered format called ``name``, or a ValueError listing the known ones."""
    for f in _FORMATS:
        if f.name == name:
            return f
    raise ValueError(f"No file format named {name!r}; known formats: {known_formats()}.")


def find_format(filepath, operation: str) -> FileFormat:
    """The format that performs ``operation`` (``"load_model"``, ``"save_weights"``, ...) on
    ``filepath``: by content for reads, by extension for writes, else the default format."""
    path = os.fspath(filepath)
    if operation in READS:
        for f in _FORMATS:
            if f.detect is not None and getattr(f, operation) and f.detect(path):
                return f
    elif operation in WRITES:
        for f in _FORMATS:
            if getattr(f, operation) and f.extensions and path.lower().endswith(f.extensions):
                return f
    else:
        raise ValueError(f"Unknown file operation {operation!r}; expected one of "
                         f"{READS + WRITES}.")
    if _DEFAULT and getattr(_DEFAULT[0], operation):
        return _DEFAULT[0]
    raise ValueError(f"No file format can {operation.replace('_', ' ')} {path!r}; known "
                     f"formats: {known_formats()}.")


def load_model(filepath, compile=True):
    """Load a model file: lstm_np's ``model.save`` format, or a Keras ``.keras`` / Keras 2
    ``.h5`` file (what ``keras.models.load_model`` opens)."""
    return find_format(filepath, "load_model").load_model(os.fspath(filepath), compile=compile)


def model_to_json(model) -> str:
    """The architecture alone, as JSON (Keras 2's ``model.to_json()``)."""
    model.ensure_built()
    return json.dumps({"format": NATIVE_FORMAT, "version": NATIVE_VERSION,
                       "model": layer_to_config(model)})


def model_from_json(json_string: str):
    """Rebuild an (uncompiled, freshly initialised) model from :func:`model_to_json`."""
    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"model_from_json needs the string model.to_json() returned: {exc}"
                         ) from None
    if not isinstance(config, dict) or config.get("format") != NATIVE_FORMAT:
        raise ValueError("model_from_json reads lstm_np's model.to_json() output (Keras' JSON "
                         "names Keras classes and configs lstm_np does not read).")
    return layer_from_config(config["model"])


class FileMethods:
    """``summary``, ``save``, ``save_weights``, ``load_weights``, ``save_keras``, ``to_json``
    on models; the file methods route through :func:`find_format`."""

    def summary(self, line_length=80, positions=None, print_fn=None, **kwargs) -> None:
        """Print the layers, their output shapes and parameter counts, as Keras."""
        summary(self, line_length=line_length, print_fn=print_fn)

    def save(self, filepath, overwrite=True, **kwargs) -> None:
        """Save architecture, weights, optimizer state and stateful states (lstm_np format)."""
        find_format(filepath, "save_model").save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite=True) -> None:
        """Save only the weights (``get_weights()`` order), in lstm_np's format."""
        find_format(filepath, "save_weights").save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False) -> None:
        """Load weights: lstm_np's :meth:`save_weights` / :meth:`save` files, or Keras'
        ``.weights.h5`` / ``.keras`` / Keras 2 ``.h5`` (into a model built like the Keras
        one; see :func:`lstm_np.interop.load_weights`)."""
        if skip_mismatch:
            raise ValueError("skip_mismatch=True is not supported: lstm_np loads every weight "
                             "or fails with the layer that does not fit.")
        find_format(filepath, "load_weights").load_weights(self, filepath)

    def save_keras(self, filepath, overwrite=False) -> None:
        """Write this model as a Keras 3 ``.keras`` file (see lstm_np.interop.save_keras)."""
        format_named("keras").save_model(self, filepath, overwrite=overwrite)

    def to_json(self, **kwargs) -> str:
        """The architecture as JSON; ``lstm_np.models.model_from_json`` rebuilds it."""
        return model_to_json(self)
