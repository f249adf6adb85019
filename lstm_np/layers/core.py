"""The feed-forward layers around the recurrent ones: Dense, Activation, Dropout,
RepeatVector, Flatten and InputLayer, each with its forward and backward side by side.

Every layer follows the contract of :class:`lstm_np.layers.base.Layer`:
``y = layer(x, mask=None, training=False)``, ``dx = layer.backward(dy)`` with
``layer.grads`` aligned with ``get_weights()``.

Keras docs: https://keras.io/api/layers/core_layers/ and
https://keras.io/api/layers/reshaping_layers/
"""

from __future__ import annotations

import numpy as np

from .. import activations, initializers
from ..arrays import as_float_array
from .base import Layer


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))  # shifted: exp never overflows
    return e / e.sum(axis=-1, keepdims=True)


class _Act:
    """An activation for the feed-forward layers: the element-wise ones of
    :mod:`lstm_np.activations`, plus ``softmax`` over the last axis.

    ``vjp(dy, z, y)``: the gradient w.r.t. the pre-activation ``z`` given ``y = f(z)``.
    """

    def __init__(self, identifier):
        name = getattr(identifier, "__name__", identifier)
        self.is_softmax = name == "softmax"
        if self.is_softmax:
            self.name = "softmax"
        else:
            try:
                self.fn = activations.get(identifier)
            except ValueError as exc:
                raise ValueError(f"{exc} (Dense and Activation also take 'softmax'.)") from None
            self.name = self.fn.name
        self.is_linear = self.name == "linear"

    def __call__(self, z):
        if self.is_softmax:
            return _softmax(z)
        return z if self.is_linear else self.fn.forward(z)

    def vjp(self, dy, z, y):
        if self.is_linear:
            return dy
        if self.is_softmax:  # J^T dy for y = softmax(z): y * (dy - <dy, y>)
            return y * (dy - (dy * y).sum(axis=-1, keepdims=True))
        return dy * self.fn.derivative(z)


class Dense(Layer):
    """``y = activation(x @ kernel + bias)`` on the last axis (any leading axes, as Keras 3).

    Weights (Keras order): ``kernel (in, units)``, ``bias (units,)``.
    Keras doc: https://keras.io/api/layers/core_layers/dense/
    """

    supports_masking = True

    def __init__(self, units: int | None = None, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, seed=None, output_dim=None,
                 **kwargs):
        if units is None:
            units = output_dim  # Keras 1 spelling
        if kwargs.get("input_dim") is not None and kwargs.get("input_shape") is None:
            kwargs["input_shape"] = (kwargs.pop("input_dim"),)  # Keras 2: a 2-D input
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Dense units must be a positive integer; got {units!r}.")
        for what, value in (("kernel_regularizer", kernel_regularizer),
                            ("bias_regularizer", bias_regularizer),
                            ("activity_regularizer", activity_regularizer),
                            ("kernel_constraint", kernel_constraint),
                            ("bias_constraint", bias_constraint)):
            if value is not None:
                raise NotImplementedError(f"{what} is not supported by lstm_np (got {value!r}).")
        self.units = int(units)
        self.activation = _Act(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.seed = seed

    def build(self, input_shape) -> None:
        features = input_shape[-1]
        if features is None:
            raise ValueError(f"{self.name}: the last axis of the input must be known; "
                             f"got input shape {tuple(input_shape)}.")
        rng = self._init_rng()
        self.add_weight("kernel", (int(features), self.units), self.kernel_initializer, rng)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer, rng)
        self.built = True

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def call(self, x, mask=None, training=False):
        x = as_float_array(x, self.dtype)
        if not self.built:
            self.build(x.shape)
        kernel = self._weights["kernel"]
        if x.ndim == 0 or x.shape[-1] != kernel.shape[0]:
            raise ValueError(f"{self.name} expects inputs whose last axis has {kernel.shape[0]} "
                             f"features; got shape {x.shape}.")
        z = x @ kernel  # (..., units)
        if self.use_bias:
            z += self._weights["bias"]
        y = self.activation(z)
        self._cache = (x, z, y) if training else None
        return y

    def backward(self, dy):
        x, z, y = self._require_cache()
        dz = self.activation.vjp(self._grad_like(dy, y), z, y)  # (..., units)
        kernel = self._weights["kernel"]
        x2 = x.reshape(-1, kernel.shape[0])
        dz2 = dz.reshape(-1, self.units)
        grads = [x2.T @ dz2]  # (in, units)
        if self.use_bias:
            grads.append(dz2.sum(axis=0))
        self.grads = grads
        return dz @ kernel.T  # (..., in)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(units=self.units, activation=self.activation.name, use_bias=self.use_bias,
                   seed=self.seed)
        return _with_input_shape(self, cfg)


class Activation(Layer):
    """``y = activation(x)``, element-wise or softmax over the last axis.

    Keras doc: https://keras.io/api/layers/core_layers/activation/
    """

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = _Act(activation)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def call(self, x, mask=None, training=False):
        x = as_float_array(x, self.dtype)
        self.built = True
        y = self.activation(x)
        self._cache = (x, y) if training else None
        return y

    def backward(self, dy):
        x, y = self._require_cache()
        self.grads = []
        return self.activation.vjp(self._grad_like(dy, y), x, y)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(activation=self.activation.name)
        return _with_input_shape(self, cfg)


class Dropout(Layer):
    """Inverted dropout during training (``x * keep / (1 - rate)``), identity otherwise.

    ``noise_shape`` broadcasts one keep-mask over axes of size 1, as Keras.
    Keras doc: https://keras.io/api/layers/regularization_layers/dropout/
    """

    supports_masking = True

    def __init__(self, rate: float, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, (int, float, np.number)) or not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"Dropout rate must be a number in [0, 1]; got {rate!r}.")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def call(self, x, mask=None, training=False):
        x = as_float_array(x, self.dtype)
        self.built = True
        if not training or self.rate == 0.0:
            self._cache = None if not training else 1.0
            return x
        shape = x.shape if self.noise_shape is None else tuple(
            d if d is not None else s for d, s in zip(self.noise_shape, x.shape, strict=False))
        if self.rate == 1.0:
            scale = np.zeros(shape, self.dtype)
        else:
            scale = ((self._rng.random(shape) >= self.rate) / (1.0 - self.rate)).astype(self.dtype)
        self._cache = scale
        return x * scale

    def backward(self, dy):
        scale = self._require_cache()
        self.grads = []
        return as_float_array(dy, self.dtype, what="dy (the output's gradient)") * scale

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(rate=self.rate, noise_shape=self.noise_shape, seed=self.seed)
        return _with_input_shape(self, cfg)


class RepeatVector(Layer):
    """``(batch, features) -> (batch, n, features)``: the same vector at every step
    (the decoder input of one-to-many and autoencoder models).

    Keras doc: https://keras.io/api/layers/reshaping_layers/repeat_vector/
    """

    def __init__(self, n: int, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"RepeatVector n must be a positive integer; got {n!r}.")
        self.n = int(n)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"RepeatVector expects 2-D input (batch, features); got shape "
                             f"{tuple(input_shape)}.")
        return (input_shape[0], self.n, input_shape[1])

    def call(self, x, mask=None, training=False):
        x = as_float_array(x, self.dtype)
        self.compute_output_shape(x.shape)
        self.built = True
        self._cache = True if training else None
        return np.repeat(x[:, None, :], self.n, axis=1)  # (B, n, F)

    def backward(self, dy):
        self._require_cache()
        self.grads = []
        return np.asarray(dy, self.dtype).sum(axis=1)  # (B, F): every copy adds its gradient

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(n=self.n)
        return _with_input_shape(self, cfg)


class Flatten(Layer):
    """``(batch, d1, d2, ...) -> (batch, d1*d2*...)``.

    Keras doc: https://keras.io/api/layers/reshaping_layers/flatten/
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else int(np.prod(rest, dtype=np.int64))
        return (input_shape[0], size)

    def call(self, x, mask=None, training=False):
        x = as_float_array(x, self.dtype)
        self.built = True
        self._cache = x.shape if training else None
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        shape = self._require_cache()
        self.grads = []
        return np.asarray(dy, self.dtype).reshape(shape)

    def get_config(self) -> dict:
        return _with_input_shape(self, super().get_config())


class InputLayer(Layer):
    """The input of a model: holds its shape. ``InputLayer(shape=(T, F))`` (Keras 3),
    ``InputLayer(input_shape=(T, F))`` (Keras 2) or ``batch_shape=(B, T, F)`` (a fixed
    batch size, which stateful layers need).

    Keras doc: https://keras.io/api/layers/core_layers/input/
    """

    def __init__(self, shape=None, batch_size=None, dtype="float32", batch_shape=None,
                 name=None, sparse=None, input_tensor=None, **kwargs):
        if shape is not None and "input_shape" not in kwargs:
            kwargs["input_shape"] = shape
        self.input_dtype = "int64" if str(dtype).startswith("int") else "float32"
        super().__init__(name=name, dtype="float64" if str(dtype) == "float64" else "float32",
                         batch_size=batch_size, batch_shape=batch_shape, **kwargs)
        if self.batch_input_shape is None or len(self.batch_input_shape) < 2:
            raise ValueError("Input needs a shape: Input(shape=(timesteps, features)) or "
                             "Input(batch_shape=(batch, timesteps, features)).")
        for d in self.batch_input_shape:
            if d is not None and (isinstance(d, bool) or not isinstance(d, (int, np.integer))
                                  or d < 0):
                raise ValueError(
                    f"Input shape entries must be non-negative integers or None (any size); "
                    f"got {self.batch_input_shape}. Example: Input(shape=(timesteps, features))"
                    " or Input(shape=(None, features)) for sequences of any length.")
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def call(self, x, mask=None, training=False):
        return x

    def backward(self, dy):
        self.grads = []
        return dy

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg["batch_shape"] = self.batch_input_shape
        return cfg


def _with_input_shape(layer, cfg):
    if layer.batch_input_shape is not None:
        cfg["batch_input_shape"] = layer.batch_input_shape
    return cfg
