"""lstm_np models back to Keras: the config Keras 3 reads, ``save_keras``, ``to_keras``.

``save_keras(model, path)`` writes a Keras 3 ``.keras`` zip (``metadata.json``,
``config.json``, ``model.weights.h5``) that ``keras.models.load_model`` opens and that predicts
what the lstm_np model predicts. When Keras is installed the file is written by Keras itself
from :func:`to_keras`'s live model, so the weight layout is Keras' own; without Keras it is
written here from the same config and :mod:`.keras_weights`' layout (needs only h5py).

A compiled model also carries its compile state the Keras way: ``compile_config`` (loss,
optimizer config) and the optimizer's variables (``optimizer/vars/<i>``, see
:mod:`.keras_optimizer`), so ``keras.saving.load_model`` returns a compiled model whose
optimizer continues where lstm_np's stopped. A compile state Keras 3 cannot express (a
learning-rate schedule, Keras 2's ``decay``, a loss Keras lacks) is left out with a warning.

Only what Keras 3 can express is exported: an activation Keras 3 lacks (Keras 2's
``hard_sigmoid_keras2``) is refused with a ValueError.

Keras doc: https://keras.io/api/models/model_saving_apis/model_saving_and_loading/
"""

from __future__ import annotations

import datetime
import io
import json
import os
import tempfile
import warnings
import zipfile

from ..layers.symbolic import SymbolicTensor
from . import keras_optimizer, keras_weights
from .keras_files import require_h5py
from .keras_weights import children, is_model, keras_class

#: The Keras 3 config keys of each class that lstm_np layers also carry (anything else in
#: lstm_np's get_config, e.g. ``engine``, is lstm_np's own and not written).
_RNN = ("units", "activation", "use_bias", "dropout", "recurrent_dropout", "seed",
        "return_sequences", "return_state", "go_backwards", "stateful", "unroll",
        "zero_output_for_mask")
KERAS_KEYS = {
    "LSTM": _RNN + ("recurrent_activation", "unit_forget_bias"),
    "GRU": _RNN + ("recurrent_activation", "reset_after"),
    "SimpleRNN": _RNN,
    "Dense": ("units", "activation", "use_bias"),
    "Embedding": ("input_dim", "output_dim", "mask_zero"),
    "RepeatVector": ("n",),
    "Dropout": ("rate", "noise_shape", "seed"),
    "Activation": ("activation",),
    "Masking": ("mask_value",),
    "Flatten": (),
    "Concatenate": ("axis",),
    "Reshape": ("target_shape",),
    "Permute": ("dims",),
    "TimeDistributed": (),
    "Bidirectional": ("merge_mode",),
}


def _check_activation(layer, key, value):
    if key.endswith("activation") and value == "hard_sigmoid_keras2":
        raise ValueError(
            f"Layer {layer.name!r} uses {key}='hard_sigmoid_keras2' (Keras 1/2's 0.2x + 0.5), "
            "which Keras 3 does not have (its hard_sigmoid is x/6 + 1/2); it cannot be exported."
        )


def layer_config(layer) -> dict:
    """The Keras 3 serialized entry (module/class_name/config) of one lstm_np layer or model."""
    kind = keras_class(layer)
    if kind == "Sequential":
        return _sequential_config(layer)
    if kind == "Functional":
        return _functional_config(layer)
    if kind not in KERAS_KEYS:
        raise ValueError(f"Layer {layer.name!r} ({type(layer).__name__}) has no Keras 3 export; "
                         f"exportable: {', '.join(sorted(KERAS_KEYS))}, Sequential, Model.")
    config = {"name": layer.name, "trainable": bool(layer.trainable),
              "dtype": layer.dtype.name}
    for key in KERAS_KEYS[kind]:
        if not hasattr(layer, key):
            continue
        value = getattr(layer, key)
        if key.endswith("activation"):
            value = getattr(value, "name", value)
            _check_activation(layer, key, value)
        config[key] = list(value) if isinstance(value, tuple) else value
    if kind == "TimeDistributed":
        config["layer"] = layer_config(layer.layer)
    if kind == "Bidirectional":
        config["layer"] = layer_config(layer.forward_layer)
        config["backward_layer"] = layer_config(layer.backward_layer)
    entry = {"module": "keras.layers", "class_name": kind, "config": config,
             "registered_name": None}
    shape = _built_input_shape(layer)
    if shape is not None:
        entry["build_config"] = {"input_shape": list(shape)}
    return entry


def _built_input_shape(layer):
    """The input shape a built layer was made for, when lstm_np recorded it."""
    for attr in ("_build_input_shape", "batch_input_shape"):
        shape = getattr(layer, attr, None)
        if shape is not None and len(shape) > 1:
            return tuple(shape)
    return None


def _input_entry(tensor) -> dict:
    layer = tensor.node.layer if tensor.node is not None else None
    name = getattr(layer, "name", None) or tensor.name
    dtype = getattr(layer, "input_dtype", None) or tensor.dtype or "float32"
    return {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
            "config": {"batch_shape": list(tensor.shape), "dtype": str(dtype),
                       "sparse": False, "ragged": False, "name": name}}


def _sequential_config(model) -> dict:
    if not model.built:
        model.ensure_built()  # raises, with the fix, when the input shape is unknown
    layers = [_input_entry(model.inputs[0])] if model.inputs else []
    layers += [layer_config(layer) for layer in model.layers]
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": model.name, "trainable": bool(model.trainable),
                       "layers": layers}}


def _functional_config(model) -> dict:
    calls: dict[int, list] = {}  # id(layer) -> its nodes in this model, in call order
    for node in model.nodes:
        calls.setdefault(id(node.layer), []).append(node)

    def history(tensor):
        layer = tensor.node.layer
        nodes = calls.get(id(layer), [tensor.node])
        # Keras counts only the calls made in this model (not a nested model's own node).
        index = next(i for i, n in enumerate(nodes) if n is tensor.node)
        return [layer.name, index, tensor.index]

    def serialize(obj):
        if isinstance(obj, SymbolicTensor):
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(obj.shape), "dtype": str(obj.dtype or "float32"),
                               "keras_history": history(obj)}}
        if isinstance(obj, (list, tuple)):
            return [serialize(v) for v in obj]
        if isinstance(obj, dict):
            return {k: serialize(v) for k, v in obj.items()}
        return obj

    entries = [dict(_input_entry(t), name=t.node.layer.name, inbound_nodes=[])
               for t in model.inputs]
    for layer in children(model):
        entry = layer_config(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [{"args": serialize(list(n.args)),
                                   "kwargs": serialize(dict(n.kwargs))}
                                  for n in calls.get(id(layer), [])]
        entries.append(entry)
    refs = [history(t) for t in model.inputs], [history(t) for t in model.outputs]
    single_in, single_out = len(refs[0]) == 1, len(refs[1]) == 1
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "registered_name": "Functional",
            "config": {"name": model.name, "trainable": bool(model.trainable),
                       "layers": entries,
                       "input_layers": refs[0][0] if single_in else refs[0],
                       "output_layers": refs[1][0] if single_out else refs[1]}}


def keras_config(model) -> dict:
    """The ``config.json`` Keras 3 would write for this model."""
    if not is_model(model):
        raise TypeError(f"save_keras/to_keras export a Sequential or Model; got "
                        f"{type(model).__name__}. Wrap a layer: Sequential([Input(...), layer]).")
    return layer_config(model)


def _refuse_existing(path, overwrite: bool) -> str:
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ValueError(f"A Keras 3 model file must end in .keras (Keras refuses other names); "
                         f"got {path!r}.")
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path!r} already exists; pass overwrite=True to replace it.")
    return path


def save_keras(model, path, overwrite: bool = False) -> None:
    """Write ``model`` as a Keras 3 ``.keras`` file (never over an existing file unless
    ``overwrite=True``)."""
    path = _refuse_existing(path, overwrite)
    config = keras_config(model)
    compiled = _compile_state(model)
    try:
        import keras  # noqa: F401
    except ImportError:
        keras = None
    # Write next to the target, then rename: an error never leaves a half-written file, and
    # an existing file is replaced only by a complete one.
    fd, tmp = tempfile.mkstemp(suffix=".keras", prefix=".lstm_np-",
                               dir=os.path.dirname(os.path.abspath(path)))
    os.close(fd)
    try:
        if keras is None:
            _write_zip(model, config, tmp, compiled)
        else:
            live = to_keras(model)
            if compiled is not None:
                live.compile_from_config(compiled[0])  # builds the optimizer's variables
                keras_optimizer.set_keras_optimizer(live, compiled[1])
            live.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _compile_state(model):
    """``(compile_config, optimizer arrays)`` to write, or None (uncompiled, or not
    expressible in Keras 3: then a warning says why)."""
    if not getattr(model, "compiled", False):
        return None
    reason = keras_optimizer.why_not_exportable(model)
    if reason is not None:
        warnings.warn(f"save_keras writes the architecture and weights but not the compile "
                      f"state: {reason}. keras.saving.load_model will return an uncompiled "
                      "model.", stacklevel=3)
        return None
    return keras_optimizer.compile_config(model), keras_optimizer.optimizer_arrays(model)


def _write_zip(model, config: dict, path: str, compiled=None) -> None:
    h5py = require_h5py()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        keras_weights.save_keras3(model, h5)
        if compiled is not None:
            keras_optimizer.write_h5(h5, compiled[1], model.optimizer.name)
    metadata = {"keras_version": "3.0.0 (written by lstm_np)",
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps(metadata))
        if compiled is not None:
            config = dict(config, compile_config=compiled[0])
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", buffer.getvalue())


def to_keras(model):
    """A live Keras 3 model with ``model``'s architecture and weights (needs Keras)."""
    try:
        import keras
    except ImportError:
        raise ImportError("to_keras needs Keras 3 (pip install keras); save_keras works "
                          "without it.") from None
    live = keras.saving.deserialize_keras_object(keras_config(model))
    _copy_weights_to_keras(model, live)
    return live


def _copy_weights_to_keras(np_obj, k_obj) -> None:
    if is_model(np_obj):
        k_layers = {layer.name: layer for layer in k_obj.layers}
        for layer in children(np_obj):
            _copy_weights_to_keras(layer, k_layers[layer.name])
        return
    if np_obj.weights:
        k_obj.set_weights(np_obj.get_weights())
