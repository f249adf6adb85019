"""``Model(inputs, outputs)``: a graph of layer calls, run forward in order and backward
in reverse, and itself a layer (so a model can be called inside another model).

Forward keeps, for every symbolic tensor, its array and its mask (a layer's
``compute_mask`` decides what it passes on). Backward hands each node the gradients of
its outputs (a list, ``None`` for an unused one, for ``return_state`` layers), routes
``dx`` to its inputs (and ``state_grads`` to an ``initial_state=`` given as tensors),
and sums where a tensor or a layer is used twice.

Keras doc: https://keras.io/api/models/model/
"""

from __future__ import annotations

import inspect

import numpy as np

from ..layers.base import Layer, _unique_name
from ..layers.core import InputLayer
from ..layers.serialization import register
from ..layers.symbolic import Input, SymbolicTensor, flatten_symbolic, substitute
from .file_formats import FileMethods
from .graph import graph_config, graph_from_config, map_graph
from .training import Trainer

_CALL_ARGS: dict[type, tuple[bool, bool]] = {}


def call_args(layer) -> tuple[bool, bool]:
    """Whether ``layer.call`` takes ``mask=`` and ``training=`` (looked up once per class)."""
    key = type(layer)
    if key not in _CALL_ARGS:
        params = inspect.signature(layer.call).parameters
        var_kw = any(p.kind == p.VAR_KEYWORD for p in params.values())
        _CALL_ARGS[key] = ("mask" in params or var_kw, "training" in params or var_kw)
    return _CALL_ARGS[key]


def _sublayers(layer) -> list:
    """The layers inside a layer (a model's layers, a wrapper's inner layer), one level."""
    subs = [v for v in vars(layer).values() if isinstance(v, Layer)]
    return subs + [v for v in getattr(layer, "_layers", []) if isinstance(v, Layer)]


def _leaves(layer) -> list:
    """The layer and every layer inside it, recursively."""
    return [layer] + [leaf for sub in _sublayers(layer) for leaf in _leaves(sub)]


def _snapshot(layer):
    """Everything a layer keeps for its backward (sub-layers included), to restore later."""
    return (layer._cache, getattr(layer, "_snaps", None),
            [(s, _snapshot(s)) for s in _sublayers(layer)])


def _restore(layer, snap):
    layer._cache, snaps, subs = snap
    if snaps is not None:
        layer._snaps = snaps
    for s, sub_snap in subs:
        _restore(s, sub_snap)


def _accumulate(store, tensor, grad):
    if grad is None:
        return
    key = id(tensor)
    store[key] = grad if key not in store else store[key] + grad


@register
class Model(Trainer, FileMethods, Layer):
    """A functional model: ``Model(inputs, outputs)`` (Keras 2: ``Model(input=, output=)``).

    ``inputs``/``outputs`` are SymbolicTensors (or lists of them) from :func:`Input`
    and layer calls. A model is a layer: ``model(x)`` on arrays predicts, on a
    SymbolicTensor it becomes a node of a bigger model.
    """

    def __init__(self, inputs=None, outputs=None, name=None, input=None, output=None,
                 trainable=True, **kwargs):
        Layer.__init__(self, name=name or _unique_name("functional"), trainable=trainable)
        Trainer.__init__(self)
        if kwargs:
            raise TypeError(f"Model() got unexpected argument(s) {', '.join(sorted(kwargs))}.")
        inputs = input if inputs is None else inputs
        outputs = output if outputs is None else outputs
        if inputs is None and outputs is None and type(self).call is not Model.call:
            # A subclassed model (layers in __init__, call(x) written by the user): its
            # graph is traced from call() on the first data (see ensure_built).
            self._layers, self._nodes, self._inputs, self._outputs = [], [], [], []
            self._shared, self._single_input, self._single_output = set(), True, True
            self._last_out_masks = [None]
            self._subclassed, self.built = True, False
            return
        if inputs is None or outputs is None:
            raise ValueError("Model needs inputs and outputs: Model(inputs=Input(...), "
                             "outputs=layer(...)(...)) (or Sequential for a stack of layers).")
        self._init_graph(inputs, outputs)

    def get_config(self) -> dict:
        """The graph: every layer's config and which layer is called on which tensors."""
        return graph_config(self)

    @classmethod
    def from_config(cls, config: dict):
        """Rebuild a model from :meth:`get_config`."""
        return graph_from_config(config, cls)

    # ------------------------------------------------------------------ graph
    def _init_graph(self, inputs, outputs):
        for what, given in (("inputs", inputs), ("outputs", outputs)):
            items = list(given) if isinstance(given, (list, tuple)) else [given]
            bad = [v for v in items if not isinstance(v, SymbolicTensor)]
            if bad or not items:
                raise TypeError(
                    f"Model {what} must be symbolic tensors from Input() and layer calls; got "
                    f"{type(bad[0]).__name__ if bad else 'an empty list'}. Build the graph "
                    "first: inp = Input(shape=...); out = Dense(1)(LSTM(4)(inp)).")
        self._single_input = isinstance(inputs, SymbolicTensor)
        self._single_output = isinstance(outputs, SymbolicTensor)
        self._inputs = flatten_symbolic(inputs)
        self._outputs = flatten_symbolic(outputs)
        known = {id(t) for t in self._inputs}
        nodes, seen = [], set()

        def visit(tensor):
            if id(tensor) in known:
                return
            node = tensor.node
            if node is None or isinstance(node.layer, InputLayer):
                raise ValueError(
                    f"Graph disconnected: the output depends on input {tensor.name!r}, "
                    "which is not in the model's inputs. Pass every Input() the outputs use.")
            if id(node) in seen:
                return
            for t in node.inputs:
                visit(t)
            seen.add(id(node))
            nodes.append(node)

        for t in self._outputs:
            visit(t)
        self._nodes = nodes
        for node in nodes:  # the common node (one tensor in, one out) takes a short path
            node.simple = (isinstance(node.args[0], SymbolicTensor) and not node.kwargs
                           and len(node.outputs) == 1)
            node.call_args = call_args(node.layer)
        counts = {}
        for node in nodes:
            for leaf in _leaves(node.layer):
                counts[id(leaf)] = counts.get(id(leaf), 0) + 1
        self._layers = map_graph(self._inputs, self._outputs)
        # A layer met twice (called twice, or inside two sub-models) keeps only its last
        # forward's cache: those nodes save and restore their caches around the backward.
        self._shared = {id(n.layer) for n in nodes
                        if any(counts[id(leaf)] > 1 for leaf in _leaves(n.layer))}
        self._last_out_masks = [None] * len(self._outputs)
        self.built = True

    def ensure_built(self, x_shape=None):
        if self.built:
            return
        if x_shape is None:
            raise ValueError(f"{self.name} is a subclassed model: it is built by its first "
                             "call on data (fit, predict or model(x)).")
        inp = Input(batch_shape=(None, *tuple(x_shape)[1:]))
        self._init_graph(inp, type(self).call(self, inp))
        self._resolved = False

    @property
    def layers(self) -> list:
        if getattr(self, "_subclassed", False):  # Keras lists only the user's layers
            return [la for la in self._layers if not isinstance(la, InputLayer)]
        return list(self._layers)

    @property
    def nodes(self) -> list:
        """The layer calls of the graph (:class:`lstm_np.layers.symbolic.Node`), in the
        order they run; the model's inputs are not among them."""
        return list(self._nodes)

    @property
    def inputs(self):
        return list(self._inputs)

    @property
    def outputs(self):
        return list(self._outputs)

    @property
    def input(self):
        """The input tensor (a list for several inputs), as Keras' ``model.input``."""
        return self._inputs[0] if self._single_input else list(self._inputs)

    @property
    def output(self):
        return self._outputs[0] if self._single_output else list(self._outputs)

    @property
    def input_shape(self):
        shapes = [t.shape for t in self._inputs]
        return shapes[0] if self._single_input else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self._outputs]
        return shapes[0] if self._single_output else shapes

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No layer named {name!r}; layers: {[la.name for la in self.layers]}.")

    # ------------------------------------------------------------------ forward / backward
    def _run(self, xs, masks=None, training=False):
        """Arrays in (one per input), ``(outputs, output masks)`` out (lists)."""
        values, mvals = {}, {}
        for i, t in enumerate(self._inputs):
            values[id(t)] = xs[i]
            mvals[id(t)] = None if masks is None else masks[i]
        snaps = self._snaps = {} if training and self._shared else None
        for node in self._nodes:
            layer = node.layer
            arg = node.args[0]
            if node.simple and snaps is None:
                x, mask = values[id(arg)], mvals[id(arg)]
                takes_mask, takes_training = node.call_args
                kwargs = {"training": training} if takes_training else {}
                if takes_mask and mask is not None:
                    kwargs["mask"] = mask
                key = id(node.outputs[0])
                values[key] = layer.call(x, **kwargs)
                mvals[key] = layer.compute_mask(x, mask)
                continue
            x = substitute(arg, values)
            mask = substitute(arg, mvals)
            if isinstance(mask, list) and all(m is None for m in mask):
                mask = None
            kwargs = substitute(node.kwargs, values) if node.kwargs else {}
            takes_mask, takes_training = node.call_args
            if takes_mask and mask is not None and "mask" not in kwargs:
                kwargs["mask"] = mask
            if takes_training:
                kwargs["training"] = training
            out = layer.call(x, **kwargs)
            out_mask = layer.compute_mask(x, mask)
            if snaps is not None and id(layer) in self._shared:
                snaps[id(node)] = _snapshot(layer)
            outs = out if len(node.outputs) > 1 else [out]
            out_masks = out_mask if isinstance(out_mask, list) else [out_mask] * len(outs)
            for t, o, m in zip(node.outputs, outs, out_masks, strict=False):
                values[id(t)] = o
                mvals[id(t)] = m
        return ([values[id(t)] for t in self._outputs], [mvals[id(t)] for t in self._outputs])

    def _backprop(self, d_outputs):
        """Gradients of the outputs in (list, None allowed); gradients of the inputs out.

        Sets ``self.grads`` aligned with ``self.weights``.
        """
        grads = {}
        for t, g in zip(self._outputs, d_outputs, strict=False):
            _accumulate(grads, t, g)
        layer_grads = {}
        for node in reversed(self._nodes):
            layer = node.layer
            if node.simple and id(layer) not in self._shared:
                dy = grads.get(id(node.outputs[0]))
                if dy is None:
                    continue
                dx = layer.backward(dy)
                if layer.grads:
                    prev = layer_grads.get(id(layer))
                    layer_grads[id(layer)] = layer.grads if prev is None else \
                        [a + b for a, b in zip(prev, layer.grads, strict=False)]
                _accumulate(grads, node.args[0], dx)
                continue
            dys = [grads.get(id(o)) for o in node.outputs]
            if all(d is None for d in dys):
                continue
            if id(layer) in self._shared:
                _restore(layer, self._snaps[id(node)])
            dx = layer.backward(dys if len(node.outputs) > 1 else dys[0])
            if layer.grads:
                prev = layer_grads.get(id(layer))
                layer_grads[id(layer)] = list(layer.grads) if prev is None else \
                    [a + b for a, b in zip(prev, layer.grads, strict=False)]
            arg = node.args[0]
            if isinstance(arg, SymbolicTensor):
                _accumulate(grads, arg, dx)
            elif dx is not None:
                for t, d in zip(arg, dx, strict=False):
                    _accumulate(grads, t, d)
            init = node.kwargs.get("initial_state") if node.kwargs else None
            if init is not None and getattr(layer, "state_grads", None) is not None:
                for t, d in zip(flatten_symbolic(init), layer.state_grads, strict=False):
                    _accumulate(grads, t, d)
        flat = []
        for layer in self._layers:
            ws = layer.weights
            g = layer_grads.get(id(layer))
            flat += g if g is not None else [np.zeros_like(w) for w in ws]
        self.grads = flat
        return [grads.get(id(t)) for t in self._inputs]

    # ------------------------------------------------------------------ the layer contract
    def call(self, x, mask=None, training=False):
        xs = [x] if self._single_input else list(x)
        if len(xs) != len(self._inputs):
            raise ValueError(f"{self.name} takes {len(self._inputs)} inputs; got {len(xs)}.")
        masks = None if mask is None else ([mask] if self._single_input else list(mask))
        outs, out_masks = self._run(xs, masks, training)
        self._last_out_masks = out_masks
        return outs[0] if self._single_output else outs

    def compute_mask(self, inputs, mask=None):
        m = self._last_out_masks
        return m[0] if self._single_output else list(m)

    def backward(self, dy):
        d_outs = [dy] if self._single_output else list(dy)
        d_in = self._backprop(d_outs)
        return d_in[0] if self._single_input else d_in

    def build(self, input_shape=None):
        self.built = True

    def compute_output_shape(self, input_shape):
        first = input_shape if self._single_input else input_shape[0]
        batch = first[0] if first else None
        shapes = [(batch, *t.shape[1:]) for t in self._outputs]
        return shapes[0] if self._single_output else shapes

    # ------------------------------------------------------------------ weights
    @property
    def weights(self) -> list[np.ndarray]:
        return [w for layer in self._layers for w in layer.weights]

    def _trainable_flags(self) -> list[bool]:
        flags = []
        for layer in self._layers:
            if isinstance(layer, Model):
                flags += [f and layer.trainable and self.trainable
                          for f in layer._trainable_flags()]
            else:
                flags += [bool(layer.trainable and self.trainable)] * len(layer.weights)
        return flags

    @property
    def trainable_weights(self):
        return [w for w, f in zip(self.weights, self._trainable_flags(), strict=False) if f]

    @property
    def non_trainable_weights(self):
        return [w for w, f in zip(self.weights, self._trainable_flags(), strict=False) if not f]

    def get_weights(self):
        """Copies of every weight, layer by layer in Keras' order (``model.layers``)."""
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        weights = list(weights)
        expected = sum(len(layer.weights) for layer in self._layers)
        if len(weights) != expected:
            listing = ", ".join(f"{la.name}: {len(la.weights)}" for la in self._layers
                                if la.weights)
            raise ValueError(f"{self.name} has {expected} weight arrays ({listing}); "
                             f"got {len(weights)}.")
        i = 0
        for layer in self._layers:
            n = len(layer.weights)
            if n:
                layer.set_weights(weights[i:i + n])
            i += n

    def count_params(self) -> int:
        return int(sum(w.size for w in self.weights))

    def stateful_layers(self) -> list:
        """Every layer made with ``stateful=True`` (inside nested models and wrappers too),
        each once, in model order."""
        found = []
        for layer in self._layers:
            if isinstance(layer, Model):
                candidates = layer.stateful_layers()
            else:
                candidates = [leaf for leaf in _leaves(layer) if getattr(leaf, "stateful", False)
                              and callable(getattr(leaf, "reset_state", None))]
            found += [la for la in candidates if all(la is not f for f in found)]
        return found

    def reset_states(self) -> None:
        """Zero the states of every stateful layer (Keras 2's ``model.reset_states()``)."""
        for layer in self.stateful_layers():
            layer.reset_state()

    reset_state = reset_states
