"""Keras model configs (Keras 3 ``config.json`` and Keras 2 ``model_config``) -> lstm_np objects.

A Keras config is a tree of ``{"class_name": ..., "config": {...}}`` entries (Keras 3 adds
``"module"``). :func:`build` turns one entry into the lstm_np layer or model of the same class,
with the same arguments; the weights are set afterwards by the file readers
(:mod:`.keras_weights`). Arguments that only matter to training in Keras and that lstm_np does
not implement (regularizers, constraints) are dropped with a warning; initializers are dropped
silently (the loaded weights replace them); any other argument lstm_np does not know is refused
unless it holds its default-like value (None/False).

Keras docs: https://keras.io/api/models/model_saving_apis/model_saving_and_loading/
"""

from __future__ import annotations

import inspect
import warnings

from .. import layers
from ..models import Input, Model, Sequential

#: Keras layer classes with an lstm_np twin of the same name in lstm_np.layers.
_LAYER_CLASSES = ("LSTM", "GRU", "SimpleRNN", "Bidirectional", "TimeDistributed", "Dense",
                  "Embedding", "RepeatVector", "Dropout", "Activation", "Masking", "Flatten",
                  "Concatenate", "Reshape", "Permute")
_MODEL_CLASSES = ("Sequential", "Functional", "Model")


def supported_classes() -> list[str]:
    """The Keras classes this lstm_np installation can load (those it implements)."""
    found = [n for n in _LAYER_CLASSES if hasattr(layers, n)]
    return sorted(found) + ["InputLayer", *_MODEL_CLASSES]


def unsupported(class_name: str, where: str) -> ValueError:
    return ValueError(
        f"{where}: layer class {class_name!r} is not supported by lstm_np. Supported Keras "
        f"classes: {', '.join(supported_classes())}."
    )


def _accepted_args(cls) -> set[str]:
    """Keyword arguments ``cls(...)`` accepts, through every ``__init__`` that forwards **kwargs."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    names.discard("self")
    return names


def policy_dtype(dtype, where: str) -> str:
    """A Keras ``dtype`` entry (string or serialized DTypePolicy) -> "float32"/"float64"."""
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name", "float32")
    if dtype is None:
        return "float32"
    if dtype in ("float32", "float64"):
        return dtype
    if dtype in ("mixed_float16", "mixed_bfloat16", "float16", "bfloat16"):
        warnings.warn(f"{where}: Keras dtype policy {dtype!r} is computed in float32 by lstm_np "
                      "(it has no half precision); expect ~1e-3 differences.", stacklevel=3)
        return "float32"
    return "float32"  # int inputs (InputLayer dtype int32) and the like


def layer_kwargs(cls, class_name: str, config: dict, where: str, legacy: bool) -> dict:
    """The lstm_np constructor arguments for a Keras layer config."""
    accepted = _accepted_args(cls)
    kwargs = {}
    for key, value in config.items():
        if key.endswith("_initializer") or key in ("quantization_config", "build_config"):
            continue  # the loaded weights replace initial values; quantization is not kept
        if key.endswith(("_regularizer", "_constraint")):
            if value is not None:
                warnings.warn(f"{where}: {key} is a training-time option lstm_np does not "
                              "implement; it is dropped (outputs are unaffected).", stacklevel=3)
            continue
        if key == "dtype":
            kwargs["dtype"] = policy_dtype(value, where)
            continue
        if key in ("activation", "recurrent_activation"):
            if isinstance(value, dict):
                raise ValueError(f"{where}: {key} is a custom object {value.get('class_name')!r}"
                                 "; lstm_np supports the named Keras activations only.")
            if legacy and value == "hard_sigmoid":
                value = "hard_sigmoid_keras2"  # Keras 1/2's clip(0.2x + 0.5): see KERAS_NOTES
        if key in accepted:
            kwargs[key] = value
        elif value not in (None, False, "", [], {}) and key not in _IGNORED:
            raise ValueError(
                f"{where}: Keras option {key}={value!r} of {class_name} is not supported by "
                f"lstm_np (it accepts: {', '.join(sorted(accepted))})."
            )
    if "batch_shape" in kwargs and "batch_input_shape" in accepted:
        kwargs["batch_input_shape"] = kwargs.pop("batch_shape")
    return kwargs


#: Keys Keras writes that carry nothing lstm_np computes differently without them.
_IGNORED = {"trainable", "sparse", "ragged", "optional", "time_major", "input_length",
            "use_cudnn", "implementation", "lora_rank", "lora_alpha", "noise_shape",
            "data_format", "registered_name", "module"}


def _entry(entry: dict) -> tuple[str, dict]:
    return entry["class_name"], dict(entry.get("config", {}))


def build(entry: dict, legacy: bool = False, where: str = "model"):
    """Build the lstm_np layer/model for one Keras config entry (weights not set)."""
    class_name, config = _entry(entry)
    name = config.get("name", class_name)
    here = f"{where}/{name}" if where else name
    if class_name == "Sequential":
        return _build_sequential(config, legacy, here)
    if class_name in ("Functional", "Model"):
        return build_functional(config, legacy, here)
    if class_name not in _LAYER_CLASSES or not hasattr(layers, class_name):
        raise unsupported(class_name, here)
    cls = getattr(layers, class_name)
    if class_name in ("TimeDistributed", "Bidirectional"):
        inner = build(config.pop("layer"), legacy, here)
        backward = config.pop("backward_layer", None)
        kwargs = layer_kwargs(cls, class_name, config, here, legacy)
        if backward is not None and "backward_layer" in _accepted_args(cls):
            kwargs["backward_layer"] = build(backward, legacy, here)
        return _built(cls(inner, **kwargs), entry)
    return _built(cls(**layer_kwargs(cls, class_name, config, here, legacy)), entry)


def _built(layer, entry: dict):
    """Build a layer from the input shape Keras recorded, so its weights can be set now."""
    shape = (entry.get("build_config") or {}).get("input_shape")
    if shape is not None and not layer.built and all(isinstance(d, (int, type(None)))
                                                     for d in shape):
        layer.build(tuple(shape))
    return layer


def _input(config: dict, legacy: bool, where: str):
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    dtype = config.get("dtype")
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name")
    if not (isinstance(dtype, str) and dtype.startswith(("int", "uint"))):
        dtype = policy_dtype(dtype, where)  # token ids stay integers (Embedding inputs)
    return Input(batch_shape=tuple(shape), name=config.get("name"), dtype=dtype)


def _build_sequential(config: dict, legacy: bool, where: str):
    items = []
    for entry in config.get("layers", []):
        class_name, cfg = _entry(entry)
        if class_name == "InputLayer":
            items.append(_input(cfg, legacy, where))
        else:
            items.append(build(entry, legacy, where))
    shape = config.get("build_input_shape")
    if shape is not None and not any(_entry(e)[0] == "InputLayer" for e in config["layers"]) \
            and not _has_declared_shape(items):
        # A Sequential Keras built by calling it (no Input): replay that build.
        items.insert(0, Input(batch_shape=tuple(shape)))
    return Sequential(items, name=config.get("name"))


def _has_declared_shape(items) -> bool:
    return bool(items) and getattr(items[0], "batch_input_shape", None) is not None


# ---------------------------------------------------------------------- functional graphs
def _history_refs(node, legacy: bool):
    """The (layer_name, node_index, tensor_index) triples a node's inputs come from."""
    if not isinstance(node, dict):  # Keras 2: [[name, node, tensor, kwargs], ...]
        return [tuple(ref[:3]) for ref in node]
    refs = []

    def walk(obj):
        if isinstance(obj, dict):
            if obj.get("class_name") == "__keras_tensor__":
                refs.append(tuple(obj["config"]["keras_history"]))
            else:
                for v in obj.values():
                    walk(v)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                walk(v)

    walk(node)
    return refs


def _resolve(obj, tensor):
    """Replace serialized Keras tensors in a node's args/kwargs by the lstm_np ones."""
    if isinstance(obj, dict):
        if obj.get("class_name") == "__keras_tensor__":
            return tensor(*obj["config"]["keras_history"])
        return {k: _resolve(v, tensor) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_resolve(v, tensor) for v in obj]
    return obj


def _map_refs(refs, tensor):
    """``input_layers``/``output_layers``: one [name, node, tensor] triple or a list of them."""
    if isinstance(refs, list) and len(refs) == 3 and isinstance(refs[0], str):
        return tensor(*refs)
    if isinstance(refs, dict):
        return {k: _map_refs(v, tensor) for k, v in refs.items()}
    return [_map_refs(r, tensor) for r in refs]


#: Stands for a mask Keras computed with ops (see :func:`_mask_ops`); lstm_np's layers derive
#: the same masks themselves, so a ``mask=`` argument holding it is dropped.
_KERAS_MASK = object()


def _is_op(entry: dict) -> bool:
    """A ``keras.ops`` operation recorded in the graph (not a layer)."""
    return str(entry.get("module", "")).startswith("keras.src.ops")


def _mask_ops(config: dict, where: str) -> set[str]:
    """Names of the op nodes that only compute masks.

    Keras 3 records the mask plumbing between layers as ops (``not_equal`` for
    ``Embedding(mask_zero=True)``, ``expand_dims``/``logical_or``/``any`` for Concatenate...)
    and passes the result as ``mask=``. lstm_np propagates masks itself, so these nodes are
    skipped. An op whose result is used any other way is real computation lstm_np cannot
    replay: refused, with its name.
    """
    ops = {e.get("name", e.get("config", {}).get("name")): e["class_name"]
           for e in config["layers"] if _is_op(e)}
    if not ops:
        return set()

    def refs(obj):
        found = []
        _collect_refs(obj, found)
        return {r[0] for r in found}

    used_otherwise = set(refs(config["output_layers"])) & set(ops)
    for entry in config["layers"]:
        if _is_op(entry):
            continue
        for node in entry.get("inbound_nodes", []):
            kwargs = {k: v for k, v in node.get("kwargs", {}).items() if k != "mask"}
            used_otherwise |= (refs(node.get("args", [])) | refs(kwargs)) & set(ops)
    if used_otherwise:
        name = sorted(used_otherwise)[0]
        raise ValueError(
            f"{where}: the graph computes {name!r} with the Keras op {ops[name]!r} "
            "(keras.ops) and uses the result as data; lstm_np replays layers only (it skips "
            f"ops that merely compute masks). Supported Keras classes: "
            f"{', '.join(supported_classes())}."
        )
    return set(ops)


def _collect_refs(obj, found: list) -> None:
    if isinstance(obj, dict):
        if obj.get("class_name") == "__keras_tensor__":
            found.append(tuple(obj["config"]["keras_history"]))
        else:
            for v in obj.values():
                _collect_refs(v, found)
    elif isinstance(obj, (list, tuple)):
        if len(obj) >= 3 and isinstance(obj[0], str) and isinstance(obj[1], int):
            found.append(tuple(obj[:3]))  # an input_layers/output_layers triple
        else:
            for v in obj:
                _collect_refs(v, found)


def build_functional(config: dict, legacy: bool, where: str):
    """Replay a Keras functional graph with lstm_np layers on lstm_np symbolic tensors."""
    created: dict = {}       # layer name -> lstm_np layer, model or Input tensor
    outputs: dict = {}       # layer name -> [outputs of call 0, call 1, ...]
    pending: dict = {}       # layer name -> node data not yet replayed
    mask_ops = set() if legacy else _mask_ops(config, where)
    for entry in config["layers"]:
        class_name, cfg = _entry(entry)
        name = entry.get("name", cfg.get("name"))
        if name in mask_ops:
            continue
        if class_name == "InputLayer":
            created[name] = None
            outputs[name] = [_input(cfg, legacy, where)]
            continue
        created[name] = build(entry, legacy, where)
        pending[name] = list(entry.get("inbound_nodes", []))

    def tensor(layer_name, node_index, tensor_index):
        if layer_name in mask_ops:
            return _KERAS_MASK
        if layer_name not in outputs:
            raise ValueError(f"{where}: the graph refers to an unknown layer {layer_name!r}.")
        out = outputs[layer_name][node_index]
        if isinstance(out, (list, tuple)):
            return out[tensor_index]
        if tensor_index != 0:
            raise ValueError(f"{where}: layer {layer_name!r} has one output; the graph asks "
                             f"for output {tensor_index}.")
        return out

    while any(pending.values()):
        progressed = False
        for name, nodes in pending.items():
            while nodes and all(ref[0] in mask_ops or _ready(ref, outputs)
                                for ref in _history_refs(nodes[0], legacy)):
                node = nodes.pop(0)
                outputs.setdefault(name, []).append(_replay(created[name], node, tensor, legacy))
                progressed = True
        if not progressed:
            stuck = {n: len(v) for n, v in pending.items() if v}
            raise ValueError(f"{where}: the functional graph cannot be resolved (loops or "
                             f"missing layers); calls left for {stuck}.")
    return Model(_single(_map_refs(config["input_layers"], tensor)),
                 _single(_map_refs(config["output_layers"], tensor)), name=config.get("name"))


def _single(refs):
    """Keras calls a model whose inputs/outputs are a one-item list with (and returns) a bare
    array (``unpack_singleton`` in keras/src/models/functional.py); so does lstm_np."""
    return refs[0] if isinstance(refs, list) and len(refs) == 1 else refs


def _ready(ref, outputs) -> bool:
    # Node indices count only the calls made in this model (Keras' serialize_node drops a
    # nested model's own internal node), so they index our replayed calls directly.
    name, node_index = ref[0], ref[1]
    return len(outputs.get(name, [])) > node_index


def _replay(layer, node, tensor, legacy: bool):
    if not isinstance(node, dict):  # Keras 2's node format (Keras 3 writes dicts, also in .h5)
        args = [tensor(*ref[:3]) for ref in node]
        kwargs = dict(node[0][3]) if node and len(node[0]) > 3 and node[0][3] else {}
        kwargs = _resolve_legacy_kwargs(kwargs, tensor)
        recurrent = hasattr(layer, "state_names") or type(layer).__name__ == "Bidirectional"
        if recurrent and len(args) > 1:
            # Keras 2.2 called an RNN on [x, *initial_state] and recorded every input.
            return layer(args[0], initial_state=args[1:], **kwargs)
        return layer(args[0] if len(args) == 1 else args, **kwargs)
    args = _resolve(node.get("args", []), tensor)
    kwargs = {k: v for k, v in _resolve(node.get("kwargs", {}), tensor).items()
              if not (k in ("mask", "training") and (v is None or v is False
                                                     or v is _KERAS_MASK))}
    return layer(*args, **kwargs)


def _resolve_legacy_kwargs(kwargs: dict, tensor) -> dict:
    """Keras 2 writes tensor kwargs (``initial_state``) as [name, node, tensor] triples."""
    out = {}
    for key, value in kwargs.items():
        if key == "initial_state" and isinstance(value, list):
            out[key] = [tensor(*v[:3]) for v in value]
        elif key not in ("mask", "training"):
            out[key] = value
    return out
