"""``TimeDistributed(layer)``: one layer, shared weights, applied at every timestep.

``(B, T, ...) -> (B*T, ...) -> layer -> (B, T, ...)``: folding time into the batch is
exactly "the same layer at every step", and lets the inner layer's own backward do
the work (its weight gradients sum over all steps). The mask passes through.

Keras doc: https://keras.io/api/layers/recurrent_layers/time_distributed/
"""

from __future__ import annotations

import inspect

import numpy as np

from .base import Layer
from .serialization import layer_from_config, layer_to_config


class TimeDistributed(Layer):
    """Apply ``layer`` to every ``x[:, t]``. Weights are the inner layer's (same order)."""

    supports_masking = True

    def __init__(self, layer: Layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise TypeError(f"TimeDistributed wraps an lstm_np layer; got {layer!r}.")
        self.layer = layer
        self._weights = layer._weights  # one dict: get/set_weights see the inner weights
        self._inner_takes_mask = "mask" in inspect.signature(layer.call).parameters

    def _child_shape(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f"TimeDistributed expects input of at least 3 dimensions "
                             f"(batch, timesteps, ...); got shape {tuple(input_shape)}.")
        return (None, *input_shape[2:])

    def build(self, input_shape) -> None:
        if not self.layer.built:
            self.layer.build(self._child_shape(input_shape))
            self.layer.built = True
        self._weights = self.layer._weights
        self.built = True

    def compute_output_shape(self, input_shape):
        child = self.layer.compute_output_shape(self._child_shape(input_shape))
        return (input_shape[0], input_shape[1], *child[1:])

    @property
    def trainable(self):
        return self.layer.trainable

    @trainable.setter
    def trainable(self, value):
        if hasattr(self, "layer"):
            self.layer.trainable = value

    def call(self, x, mask=None, training=False):
        x = np.asarray(x)
        if x.ndim < 3:
            self._child_shape(x.shape)
        B, T = x.shape[:2]
        kwargs = {"training": training}
        if self._inner_takes_mask and mask is not None:
            kwargs["mask"] = np.asarray(mask).reshape(B * T)
        y = self.layer(x.reshape(B * T, *x.shape[2:]), **kwargs)  # (B*T, ...)
        self._weights = self.layer._weights
        self.built = True
        self._cache = (B, T, x.shape) if training else None
        return y.reshape(B, T, *y.shape[1:])  # (B, T, ...)

    def backward(self, dy):
        B, T, x_shape = self._require_cache()
        dy = np.asarray(dy)
        dx = self.layer.backward(dy.reshape(B * T, *dy.shape[2:]))
        self.grads = self.layer.grads
        return None if dx is None else dx.reshape(x_shape)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg["layer"] = layer_to_config(self.layer)
        if self.batch_input_shape is not None:
            cfg["batch_input_shape"] = self.batch_input_shape
        return cfg

    @classmethod
    def from_config(cls, cfg):
        cfg = dict(cfg)
        cfg["layer"] = layer_from_config(cfg["layer"])
        return cls(**cfg)
