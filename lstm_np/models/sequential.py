"""``Sequential``: a stack of layers, each feeding the next.

It is a functional :class:`~lstm_np.models.functional.Model` underneath: once the
input shape is known (an ``Input``/``InputLayer`` first, the first layer's
``input_shape``/``batch_input_shape``, or the first data it sees) it calls its layers
on a symbolic input and keeps that graph, so training, masks and saving are shared.

Keras doc: https://keras.io/api/models/sequential/
"""

from __future__ import annotations

from ..layers.base import Layer
from ..layers.core import InputLayer
from ..layers.serialization import layer_from_config, layer_to_config, register
from ..layers.symbolic import Input, SymbolicTensor
from .functional import Model
from .training import Trainer


@register
class Sequential(Model):
    """``Sequential([LSTM(4, batch_input_shape=(1, 3, 1), stateful=True), Dense(1)])`` or
    ``model = Sequential(); model.add(...)``."""

    def __init__(self, layers=None, name=None, trainable=True):
        Layer.__init__(self, name=name, trainable=trainable)
        Trainer.__init__(self)
        self._stack: list[Layer] = []
        self._input_tensor: SymbolicTensor | None = None
        self._layers, self._nodes, self._inputs, self._outputs = [], [], [], []
        self._shared = set()
        self._single_input = self._single_output = True
        self._last_out_masks = [None]
        self.built = False
        for layer in layers or []:
            self.add(layer)

    def add(self, layer) -> None:
        """Append a layer (an ``Input(...)`` or ``InputLayer`` only as the first item)."""
        if isinstance(layer, SymbolicTensor):
            if self._stack or self._input_tensor is not None:
                raise ValueError("An Input can only be the first item of a Sequential model.")
            self._input_tensor = layer
            return
        if isinstance(layer, InputLayer):
            if self._stack or self._input_tensor is not None:
                raise ValueError("An InputLayer can only be the first item of a Sequential.")
            self._input_tensor = Input(batch_shape=layer.batch_input_shape, name=layer.name)
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add() takes an lstm_np layer; got {layer!r}.")
        self._stack.append(layer)
        self.built = False
        if self._known_input_shape() is not None:
            self._build_graph(self._known_input_shape())

    def _known_input_shape(self):
        if self._input_tensor is not None:
            return self._input_tensor.shape
        if not self._stack:
            return None
        first = self._stack[0]
        if isinstance(first, Model):
            return first.input_shape
        shape = getattr(first, "batch_input_shape", None)
        return shape if shape is not None and len(shape) >= 2 else None  # (batch,) alone

    def _build_graph(self, batch_shape):
        if self._input_tensor is not None and tuple(batch_shape) == self._input_tensor.shape:
            x = self._input_tensor
        else:  # one input tensor for every rebuild, so layer.output stays connected to it
            auto = getattr(self, "_auto_input", None)
            if auto is None or auto.shape != tuple(batch_shape):
                auto = self._auto_input = Input(batch_shape=batch_shape)
            x = auto
        inp = x
        for layer in self._stack:
            layer_input = x
            x = layer(x)
            if not isinstance(layer, Model):  # Keras 2's layer.input/.output: this graph's
                layer.__dict__.update(input=layer_input, output=x)
            if isinstance(x, list):
                raise ValueError(f"Layer {layer.name!r} returns several tensors (return_state?); "
                                 "Sequential needs one output per layer: use the functional API.")
        self._init_graph(inp, x)
        self._resolved = False  # losses/metrics follow the (new) outputs

    def ensure_built(self, x_shape=None):
        if self.built:
            return
        shape = self._known_input_shape()
        if shape is None and x_shape is not None:
            declared = getattr(self._stack[0], "batch_input_shape", None) if self._stack else None
            shape = (declared[0] if declared else None, *tuple(x_shape)[1:])
        if shape is None or not self._stack:
            raise ValueError(
                "This Sequential model is not built: give the first layer an input shape "
                "(input_shape=(timesteps, features) or batch_input_shape=(batch, timesteps, "
                "features)), start with Input(shape=...), or fit/call it on data first.")
        self._build_graph(shape)

    @property
    def layers(self) -> list:
        return list(self._stack)

    def get_config(self) -> dict:
        """The stack: every layer's config, and the input shape when one was given."""
        self.ensure_built()
        inp = self._input_tensor
        return {"name": self.name, "trainable": self.trainable,
                "input_shape": None if inp is None else list(inp.shape),
                "layers": [layer_to_config(la) for la in self._stack]}

    @classmethod
    def from_config(cls, config: dict):
        """Rebuild a Sequential model from :meth:`get_config`."""
        model = cls(name=config["name"], trainable=config.get("trainable", True))
        if config.get("input_shape") is not None:
            model.add(Input(batch_shape=tuple(config["input_shape"])))
        for sub in config["layers"]:
            model.add(layer_from_config(sub))
        return model

    def pop(self):
        layer = self._stack.pop()
        self.built = False
        if self._stack and self._known_input_shape() is not None:
            self._build_graph(self._known_input_shape())
        return layer

    def call(self, x, mask=None, training=False):
        import numpy as np

        self.ensure_built(np.shape(x))
        return super().call(x, mask=mask, training=training)

    def __call__(self, x, *args, **kwargs):
        if isinstance(x, SymbolicTensor):
            self.ensure_built(x.shape)
        return super().__call__(x, *args, **kwargs)

    def predict_classes(self, x, batch_size=None, verbose=0):
        """Keras 2's class predictions: argmax over several units, ``p > 0.5`` for one."""
        proba = self.predict(x, batch_size=batch_size)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    def predict_proba(self, x, batch_size=None, verbose=0):
        """Keras 2's name for ``predict`` on a probability output."""
        return self.predict(x, batch_size=batch_size)

    @property
    def weights(self):
        return [w for layer in self._stack for w in layer.weights] if not self.built \
            else super().weights
