"""Keras files and live Keras objects into lstm_np: load_keras, load_weights, from_keras.

Formats
-------
* Keras 3 ``.keras``: a zip of ``metadata.json``, ``config.json`` (the architecture) and
  ``model.weights.h5`` (the weights, laid out as :mod:`.keras_weights` describes).
* Keras 3 ``.weights.h5``: the same HDF5 on its own (weights only, no architecture):
  ``load_weights(model, path)`` into an lstm_np model built like the Keras one.
* Keras 2 full-model ``.h5``: one HDF5 with the architecture in the ``model_config``
  attribute and the weights under ``model_weights`` (layers matched by name).

The format is told by the file's first bytes, not its name. h5py is needed for the HDF5
parts: ``pip install lstm_np[keras]``.

Keras docs: https://keras.io/api/models/model_saving_apis/model_saving_and_loading/
"""

from __future__ import annotations

import io
import json
import os
import zipfile
import zlib

from ..config import resolve_engine
from ..layers import Recurrent
from . import keras_arch, keras_optimizer, keras_weights

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def require_h5py():
    """Import h5py or explain how to get it."""
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is installed in the test environment
        raise ImportError(
            "Reading and writing Keras files needs h5py, an optional dependency of lstm_np: "
            "pip install 'lstm_np[keras]' (or pip install h5py)."
        ) from None
    return h5py


def is_keras_weights_file(path) -> bool:
    """True for an HDF5 file or a ``.keras`` zip (one holding ``model.weights.h5``)."""
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


def sniff(path) -> str:
    """``"zip"`` or ``"hdf5"`` from the file's first bytes; clear errors otherwise."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path!r}. Give the path of a Keras .keras, "
                                ".weights.h5 or Keras 2 .h5 file.")
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a directory; give the path of a Keras .keras, "
                         ".weights.h5 or .h5 file (a SavedModel directory is TensorFlow's "
                         "format, which lstm_np does not read).")
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head == HDF5_MAGIC:
        return "hdf5"
    raise ValueError(
        f"{path!r} is neither a Keras 3 .keras file (a zip archive) nor an HDF5 file "
        f"(.weights.h5 / Keras 2 .h5): it starts with {head!r}. Save the model with "
        "model.save('model.keras') or model.save_weights('model.weights.h5')."
    )


def _open_h5(source, path: str):
    h5py = require_h5py()
    try:
        return h5py.File(source, "r")
    except OSError as exc:
        raise ValueError(f"{path!r} is not a readable HDF5 file (truncated or damaged?): "
                         f"{exc}") from None


def read_keras_zip(path) -> tuple[dict, object]:
    """The parsed ``config.json`` and the open ``model.weights.h5`` of a ``.keras`` file."""
    path = os.fspath(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "config.json" not in names:
                raise ValueError(f"{path!r} is a zip but not a Keras 3 .keras file: it has no "
                                 f"config.json (it holds {names[:5]}).")
            config = json.loads(archive.read("config.json"))
            if "model.weights.h5" not in names:
                other = [n for n in names if n.startswith("model.weights")]
                raise ValueError(
                    f"{path!r} has no model.weights.h5 (it holds {names}). "
                    + ("lstm_np reads the default h5 weights format; re-save the model with "
                       "model.save(path) (weights_format='h5')." if other else "")
                )
            weights = archive.read("model.weights.h5")
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ValueError(f"{path!r} is not a valid .keras file: the zip archive is damaged or "
                         f"truncated ({exc}). Save it again from Keras.") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path!r}: config.json is not valid JSON ({exc}).") from None
    return config, _open_h5(io.BytesIO(weights), f"{path}!model.weights.h5")


def set_engine(obj, engine) -> None:
    """Run every recurrent layer inside ``obj`` on ``engine`` ("numba" or "numpy")."""
    if engine is None:
        return
    engine = resolve_engine(engine)
    if isinstance(obj, Recurrent):
        obj.engine = engine
    for attr in ("layers", "forward_layer", "backward_layer", "layer"):
        sub = getattr(obj, attr, None)
        for child in sub if isinstance(sub, list) else [sub]:
            if child is not None and child is not obj and hasattr(child, "name"):
                set_engine(child, engine)


def load_keras(path, engine: str | None = None, compile: bool = True):
    """Load a Keras model file as an lstm_np model with the same architecture and weights.

    Reads Keras 3 ``.keras`` files (Sequential, functional, models nested as layers) and
    Keras 2 full-model ``.h5`` files. A weights-only file (``.weights.h5``) has no architecture:
    build the lstm_np model and call ``model.load_weights(path)`` instead. ``engine`` picks
    the recurrent layers' engine ("numba", the default, or "numpy", the readable reference).

    A ``.keras`` file of a compiled model comes back compiled (``compile=False`` skips it):
    the loss and optimizer from its ``compile_config`` and the optimizer's state (iterations,
    learning rate, Adam's moments, SGD's momentum, ...) from ``optimizer/vars``, so training
    continues as Keras' would. An optimizer or loss lstm_np lacks leaves the model
    uncompiled, with a warning.

    >>> model = lstm_np.load_keras("model.keras")     # doctest: +SKIP
    >>> model.predict(x)                              # doctest: +SKIP
    """
    kind = sniff(path)
    if kind == "zip":
        config, h5 = read_keras_zip(path)
        with h5:
            model = _build_and_check(config, legacy=False, path=path)
            keras_weights.load_keras3(model, h5)
            if compile:
                keras_optimizer.compile_from_keras(model, config, h5, path)
        set_engine(model, engine)
        return model
    h5 = _open_h5(os.fspath(path), os.fspath(path))
    with h5:
        raw = h5.attrs.get("model_config")
        if raw is None:
            raise ValueError(
                f"{os.fspath(path)!r} holds weights only (no model_config: a .weights.h5 or "
                "save_weights file). Build the same model in lstm_np and call "
                "model.load_weights(path) (or lstm_np.interop.load_weights(model, path))."
            )
        config = json.loads(raw.decode("utf8") if isinstance(raw, bytes) else raw)
        version = h5.attrs.get("keras_version", b"")
        version = version.decode() if isinstance(version, bytes) else str(version)
        # Keras 3 still writes this legacy .h5 layout (model.save("m.h5")) but with Keras 3
        # semantics (hard_sigmoid is x/6 + 1/2 there); only Keras 1/2 files get Keras 2's.
        model = _build_and_check(config, legacy=not version.startswith("3"), path=path)
        keras_weights.load_legacy(model, h5)
    set_engine(model, engine)
    return model


def _build_and_check(config: dict, legacy: bool, path) -> object:
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"{os.fspath(path)!r}: the model config has no class_name; not a "
                         "Keras model file.")
    return keras_arch.build(config, legacy=legacy, where="")


def load_weights(model, path) -> None:
    """Load a Keras weights file into an lstm_np ``model`` (or layer) built like the Keras one.

    Accepts ``.weights.h5`` (Keras 3 ``save_weights``), the weights of a ``.keras`` file, and
    Keras 2 ``.h5`` files (matched by layer name). Layers with weights are matched by
    position and class, as Keras does; the shapes must fit. On any error the model keeps the
    weights it had.
    """
    kind = sniff(path)
    if not getattr(model, "built", True):
        raise ValueError(
            f"{type(model).__name__} {model.name!r} is not built, so it has no weights to load "
            "into yet (Keras refuses this too). Build it first: start it with "
            "Input(shape=(timesteps, features)), give the first layer input_shape=..., or call "
            "it once on data."
        )
    if kind == "zip":
        _, h5 = read_keras_zip(path)
    else:
        h5 = _open_h5(os.fspath(path), os.fspath(path))
    before = model.get_weights()
    try:
        with h5:
            if "model_weights" in h5 or "layer_names" in h5.attrs:
                keras_weights.load_legacy(model, h5)
            else:
                keras_weights.load_keras3(model, h5)
    except Exception:
        model.set_weights(before)  # all or nothing: no half-loaded model after an error
        raise


# ---------------------------------------------------------------------- live Keras objects
def from_keras(obj, engine: str | None = None):
    """An lstm_np copy (architecture and weights) of a live Keras 3 model or layer
    (``engine`` as in :func:`load_keras`)."""
    try:
        import keras
    except ImportError:  # pragma: no cover
        raise ImportError("from_keras needs Keras 3 (pip install keras).") from None
    if not isinstance(obj, keras.layers.Layer):
        raise TypeError(f"from_keras takes a Keras model or layer; got {type(obj).__name__}. "
                        "For a file, use lstm_np.load_keras(path).")
    if not obj.built:
        raise ValueError(f"The Keras {type(obj).__name__} {obj.name!r} is not built (it has no "
                         "weights yet): call it on an input or build it first.")
    entry = keras.saving.serialize_keras_object(obj)
    out = keras_arch.build(entry, legacy=False, where="")
    _copy_weights(obj, out)
    set_engine(out, engine)
    return out


def _copy_weights(k_obj, np_obj) -> None:
    if keras_weights.is_model(np_obj):
        k_layers = [layer for layer in k_obj.layers if type(layer).__name__ != "InputLayer"]
        for k_layer, np_layer in zip(k_layers, keras_weights.children(np_obj), strict=True):
            _copy_weights(k_layer, np_layer)
        return
    keras_weights._set(np_obj, [w for w in k_obj.get_weights()], k_obj.name)
