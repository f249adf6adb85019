"""Where Keras keeps each weight in its HDF5 files, read and written for lstm_np models.

Keras 3 (``model.weights.h5`` inside a ``.keras`` zip, and ``.weights.h5``), read off
``keras/src/saving/saving_lib.py`` (``_save_state``, ``_save_container_state``):

* a model's layers sit under ``layers/<name>``, ``<name>`` being the snake_case class name,
  ``_1``, ``_2``... for the second, third layer of the same class, in the order of
  ``model.layers`` (the layers' own names play no part); nested models recurse
  (``layers/sequential/layers/lstm``; a functional model is ``functional``);
* a layer's own variables are ``<path>/vars/0``, ``1``, ... (sorted as integers, in creation
  order); a recurrent layer keeps them in its cell (``lstm/cell/vars``), Bidirectional in
  ``forward_layer/cell/vars`` then ``backward_layer/cell/vars``, TimeDistributed in
  ``layer/vars``.

Keras 2 full-model ``.h5``: ``model_weights`` lists ``layer_names`` (attribute); each
``model_weights/<layer>`` lists its ``weight_names`` (attribute, in ``get_weights()`` order) and
holds the datasets at those relative paths (``lstm_1/kernel:0``, or ``lstm/lstm_cell/kernel:0``
in tf.keras). A nested model's group holds all its weights, flat.
"""

from __future__ import annotations

import numpy as np

from ..layers import Recurrent
from ..layers.base import _snake


def keras_class(obj) -> str:
    """The Keras class name whose snake_case names ``obj``'s group (Model -> Functional)."""
    name = type(obj).__name__
    return "Functional" if name == "Model" else name


def is_model(obj) -> bool:
    return keras_class(obj) in ("Sequential", "Functional")


def children(model) -> list:
    """A model's layers in Keras' ``model.layers`` order, less the input layers (they have
    no weights): lstm_np's ``model.layers`` follows Keras' ``map_graph`` order
    (:func:`lstm_np.models.graph.map_graph`)."""
    return [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]


def named_children(model) -> list[tuple[str, object]]:
    """``(h5 group name, layer)`` pairs with Keras' ``_1``, ``_2`` suffixes."""
    used: dict[str, int] = {}
    out = []
    for layer in children(model):
        base = _snake(keras_class(layer))
        if base in used:
            used[base] += 1
            out.append((f"{base}_{used[base]}", layer))
        else:
            used[base] = 0
            out.append((base, layer))
    return out


def _is_recurrent(layer) -> bool:
    return isinstance(layer, Recurrent)


def _wrapped(layer, role: str):
    """The inner layer of a wrapper: ``layer`` (TimeDistributed) or forward/backward."""
    return getattr(layer, role)


def layer_slots(layer, path: str) -> list[tuple[str, object]]:
    """``(vars group path, leaf layer)`` pairs for one non-model layer, in get_weights order."""
    kind = keras_class(layer)
    if kind == "Bidirectional":
        return (layer_slots(_wrapped(layer, "forward_layer"), f"{path}/forward_layer")
                + layer_slots(_wrapped(layer, "backward_layer"), f"{path}/backward_layer"))
    if kind == "TimeDistributed":
        return layer_slots(_wrapped(layer, "layer"), f"{path}/layer")
    if _is_recurrent(layer):
        return [(f"{path}/cell/vars", layer)]
    return [(f"{path}/vars", layer)]


# ---------------------------------------------------------------------- Keras 3 reading
def _group(h5, path: str):
    if path in h5:
        return h5[path]
    # Files written by Keras 2.13-2.15 name the container "_layer_checkpoint_dependencies".
    alt = path.replace("layers", "_layer_checkpoint_dependencies")
    if alt in h5:
        return h5[alt]
    return None


def _read_vars(h5, path: str) -> list[np.ndarray]:
    group = _group(h5, path)
    if group is None:
        return []
    keys = sorted(group.keys(), key=int)  # "10" sorts after "9"
    return [np.asarray(group[k]) for k in keys]


def _set(layer, arrays, where: str) -> None:
    expected = layer.count_params() if getattr(layer, "built", True) else None
    if not arrays and not _has_weights(layer):
        return
    try:
        layer.set_weights(arrays)
    except ValueError as exc:
        raise ValueError(f"Weights at {where!r} do not fit lstm_np layer {layer.name!r} "
                         f"({type(layer).__name__}, {expected} parameters): {exc}") from None


def load_keras3(model, h5, path: str = "") -> None:
    """Set every weight of ``model`` (a model or a single layer) from a Keras 3 weights file."""
    if not is_model(model):
        arrays = [a for p, _ in layer_slots(model, path or "") for a in
                  _read_vars(h5, p.lstrip("/"))]
        _set(model, arrays, path or "/")
        return
    prefix = f"{path}/layers" if path else "layers"
    container = _group(h5, prefix)
    stored = set(container.keys()) if container is not None else set()
    named = named_children(model)
    expected_with_weights = {n for n, layer in named if _has_weights(layer)}
    missing = sorted(expected_with_weights - stored)
    if missing:
        raise ValueError(
            f"The weights file has no entry for {', '.join(missing)} under {prefix!r} (it has: "
            f"{', '.join(sorted(stored)) or 'nothing'}). Build the lstm_np model with the same "
            "layers, in the same order, as the Keras model that saved the file."
        )
    extra = sorted(n for n in stored - {n for n, _ in named} if _stores_weights(container, n))
    if extra:
        raise ValueError(
            f"The weights file has weights for {', '.join(extra)} under {prefix!r}, which the "
            f"lstm_np model does not have (its layers: {', '.join(n for n, _ in named)})."
        )
    for name, layer in named:
        sub = f"{prefix}/{name}"
        if is_model(layer):
            load_keras3(layer, h5, sub)
            continue
        arrays = []
        for vars_path, _leaf in layer_slots(layer, sub):
            arrays += _read_vars(h5, vars_path)
        _set(layer, arrays, sub)


def _has_weights(layer) -> bool:
    if is_model(layer):
        return any(_has_weights(child) for child in children(layer))
    return bool(layer.weights)


def _stores_weights(container, name: str) -> bool:
    found = []
    container[name].visititems(lambda n, o: found.append(1) if hasattr(o, "shape")
                                      else None)
    return bool(found)


# ---------------------------------------------------------------------- Keras 3 writing
def save_keras3(model, h5, path: str = "") -> None:
    """Write ``model``'s weights in Keras 3's layout (the inverse of :func:`load_keras3`)."""
    h5.require_group(f"{path}/vars" if path else "vars").attrs["name"] = model.name
    for name, layer in named_children(model):
        sub = f"{path}/layers/{name}" if path else f"layers/{name}"
        if is_model(layer):
            save_keras3(layer, h5, sub)
            continue
        h5.require_group(f"{sub}/vars").attrs["name"] = layer.name
        weights = layer.get_weights()
        for vars_path, leaf in layer_slots(layer, sub):
            group = h5.require_group(vars_path)
            # Keras names a cell's group after the cell ("lstm_cell"), others after the layer.
            cell = vars_path.endswith("/cell/vars")
            group.attrs["name"] = f"{_snake(keras_class(leaf))}_cell" if cell else leaf.name
            for i in range(len(leaf.weights)):
                group.create_dataset(str(i), data=weights.pop(0))


# ---------------------------------------------------------------------- Keras 2 reading
def _attr_names(group, attr: str) -> list[str]:
    values = group.attrs.get(attr, [])
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]


def load_legacy(model, h5) -> None:
    """Set weights from a Keras 2 full-model ``.h5`` (``model_weights`` group), by layer name."""
    root = h5["model_weights"] if "model_weights" in h5 else h5
    stored = _attr_names(root, "layer_names")
    by_name = {layer.name: layer for layer in children(model)}
    for name in stored:
        group = root[name]
        arrays = [np.asarray(group[w]) for w in _attr_names(group, "weight_names")]
        if not arrays:
            continue
        if name not in by_name:
            raise ValueError(f"The Keras 2 file has weights for layer {name!r}, which the "
                             f"lstm_np model does not have (its layers: {', '.join(by_name)}).")
        _set(by_name[name], arrays, f"model_weights/{name}")
    missing = [n for n, layer in by_name.items() if _has_weights(layer) and n not in stored]
    if missing:
        raise ValueError(f"The Keras 2 file has no weights for layer(s) {', '.join(missing)}.")
