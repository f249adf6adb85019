"""A layer as a JSON-able dict and back: ``{"class_name": ..., "config": layer.get_config()}``.

Classes are found by name in :mod:`lstm_np.layers`, then in a registry that other parts fill
with :func:`register` (the models register ``Sequential`` and ``Model``), as Keras'
``serialization_lib`` looks classes up in its registered-objects table; a layer never
imports the models. A class with a ``from_config`` classmethod rebuilds itself from its
config; any other is called with the config as keyword arguments.

Keras doc: https://keras.io/api/models/model_saving_apis/serialization_utils/
"""

from __future__ import annotations

import numpy as np

#: Class name -> class, for classes outside lstm_np.layers (Sequential, Model).
_REGISTERED: dict[str, type] = {}


def register(cls: type) -> type:
    """Make ``cls`` known to :func:`layer_from_config` under its class name (a decorator)."""
    _REGISTERED[cls.__name__] = cls
    return cls


def jsonable(value):
    """``value`` with tuples as lists and NumPy scalars as Python numbers (for ``json``)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _class_name(layer) -> str:
    """The layer's class name, or that of the registered class it derives from (a subclassed
    model is saved as its graph, a ``Model``)."""
    for klass in type(layer).__mro__:
        if _REGISTERED.get(klass.__name__) is klass:
            return klass.__name__
    return type(layer).__name__


def layer_to_config(layer) -> dict:
    """``{"class_name": ..., "config": layer.get_config()}``, JSON-able."""
    return {"class_name": _class_name(layer), "config": jsonable(layer.get_config())}


def layer_from_config(spec: dict):
    """Rebuild the layer (or model) that :func:`layer_to_config` described."""
    from .. import layers as layers_mod  # the package whose __init__ imports this module

    name, cfg = spec["class_name"], dict(spec["config"])
    cls = _REGISTERED.get(name) or getattr(layers_mod, name, None)
    if cls is None:
        known = sorted({*layers_mod.__all__, *_REGISTERED})
        raise ValueError(f"Unknown layer class {name!r} in the saved file; this lstm_np has "
                         f"{', '.join(known)}.")
    if hasattr(cls, "from_config"):
        return cls.from_config(cfg)
    for key in ("batch_input_shape", "batch_shape", "noise_shape"):
        if cfg.get(key) is not None:
            cfg[key] = tuple(cfg[key])
    return cls(**cfg)
