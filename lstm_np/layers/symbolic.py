"""Symbolic tensors for the functional API: ``Input(...)`` and layers called on them.

A layer called on a :class:`SymbolicTensor` builds itself for that shape and records a
:class:`Node` (layer, inputs, keyword arguments, outputs) instead of computing;
``Model(inputs, outputs)`` walks the recorded nodes back from its outputs and replays
them on arrays (forward in order, backward in reverse).

Keras doc: https://keras.io/guides/functional_api/
"""

from __future__ import annotations

import inspect


class SymbolicTensor:
    """A placeholder with a shape (batch dimension first, ``None`` where unknown).

    ``node`` is the call that produced it (``None`` for an ``Input``), ``index`` its
    position among that call's outputs (``return_state`` layers have several).
    """

    def __init__(self, shape, dtype="float32", node=None, index=0, name=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype
        self.node = node
        self.index = index
        self.name = name

    @property
    def layer(self):
        return None if self.node is None else self.node.layer

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<SymbolicTensor shape={self.shape} name={self.name!r}>"


class Node:
    """One call of a layer on symbolic inputs.

    ``args``/``kwargs`` keep the call's structure with SymbolicTensors inside
    (e.g. ``initial_state=[h, c]``); ``inputs`` lists those tensors flat, in order.
    """

    def __init__(self, layer, args, kwargs, outputs):
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs
        self.inputs = flatten_symbolic((args, kwargs))


def flatten_symbolic(structure) -> list[SymbolicTensor]:
    """Every SymbolicTensor inside nested lists/tuples/dicts, in order."""
    if isinstance(structure, SymbolicTensor):
        return [structure]
    if isinstance(structure, (list, tuple)):
        return [t for s in structure for t in flatten_symbolic(s)]
    if isinstance(structure, dict):
        return [t for v in structure.values() for t in flatten_symbolic(v)]
    return []


def substitute(structure, values: dict):
    """Replace each SymbolicTensor in ``structure`` by ``values[id(tensor)]``."""
    if isinstance(structure, SymbolicTensor):
        return values[id(structure)]
    if isinstance(structure, (list, tuple)):
        return type(structure)(substitute(s, values) for s in structure)
    if isinstance(structure, dict):
        return {k: substitute(v, values) for k, v in structure.items()}
    return structure


def is_symbolic(x) -> bool:
    if isinstance(x, SymbolicTensor):
        return True
    return isinstance(x, (list, tuple)) and any(isinstance(v, SymbolicTensor) for v in x)


def _shape_of(x):
    if isinstance(x, SymbolicTensor):
        return x.shape
    return [_shape_of(v) for v in x]


def call_layer(layer, x, *args, **kwargs):
    """Record ``layer(x, ...)`` on symbolic tensors: build the layer, infer the output
    shape(s), and return new SymbolicTensor(s) (a list for multi-output calls)."""
    if args:  # positional extras (e.g. initial_state) become keywords, as Keras binds them
        params = [p for p in inspect.signature(layer.call).parameters][1:]
        kwargs.update(dict(zip(params, args, strict=False)))
    kwargs.pop("training", None)  # decided when the model runs, not when it is built
    input_shape = _shape_of(x)
    if not layer.built:
        layer.build(tuple(input_shape) if isinstance(x, SymbolicTensor) else input_shape)
        layer.built = True
    shape_arg = tuple(input_shape) if isinstance(x, SymbolicTensor) else input_shape
    if hasattr(layer, "compute_output_shape"):
        out_shape = layer.compute_output_shape(shape_arg)
    else:
        out_shape = _dry_run_shape(layer, x, kwargs)
    multi = isinstance(out_shape, list)
    shapes = out_shape if multi else [out_shape]
    node = Node(layer, (x,), kwargs, [])
    base = layer.name
    node.outputs = [SymbolicTensor(s, node=node, index=i,
                                   name=base if not multi else f"{base}_{i}")
                    for i, s in enumerate(shapes)]
    result = node.outputs if multi else node.outputs[0]
    # Keras 2's layer.input / layer.output (first call), e.g. to cut a model at a layer:
    # Model(model.input, model.layers[1].output). Models have their own properties.
    if not isinstance(getattr(type(layer), "output", None), property):
        layer.__dict__.setdefault("input", x)
        layer.__dict__.setdefault("output", result)
    return result


def _dry_run_shape(layer, x, kwargs):
    """Output shape(s) of a layer without ``compute_output_shape``: run it once on zeros
    (unknown sizes as 1, stored states put back), keep the batch axis unknown."""
    import numpy as np

    def zeros(t):
        if isinstance(t, SymbolicTensor):
            return np.zeros([1 if d is None else d for d in t.shape], "float32")
        return [zeros(v) for v in t]

    saved = getattr(layer, "_states", None)
    saved = None if saved is None else [s.copy() for s in saved]
    out = layer.call(zeros(x), **{k: zeros(v) if is_symbolic(v) else v
                                  for k, v in kwargs.items()})
    if saved is not None:
        layer._states = saved
    first = x if isinstance(x, SymbolicTensor) else x[0]
    batch = first.shape[0]
    if isinstance(out, (list, tuple)):
        return [(batch, *np.shape(o)[1:]) for o in out]
    return (batch, *np.shape(out)[1:])


def Input(shape=None, batch_size=None, dtype=None, batch_shape=None, name=None,
          sparse=None, tensor=None, **kwargs) -> SymbolicTensor:
    """A model input: ``Input(shape=(timesteps, features))`` (batch size free) or
    ``Input(batch_shape=(batch, timesteps, features))`` (fixed, as stateful layers need).

    Keras doc: https://keras.io/api/layers/core_layers/input/
    """
    from .core import InputLayer  # late: core's layers import this module through base

    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype or "float32",
                       batch_shape=batch_shape, name=name, **kwargs)
    node = Node(layer, (), {}, [])
    tensor_ = SymbolicTensor(layer.batch_input_shape, dtype=layer.input_dtype, node=node,
                             name=layer.name)
    node.outputs = [tensor_]
    return tensor_
