"""The layer base class: weights in Keras order, build-on-first-call, forward/backward.

Every layer (recurrent or not) follows one contract, so models and training can
treat them alike:

* ``y = layer(x, mask=None, training=False)``; with ``training=True`` the layer keeps
  what ``backward`` needs, and only then;
* ``dx = layer.backward(dy)`` returns the gradient w.r.t. the input and sets
  ``layer.grads`` (aligned with ``get_weights()``; replaced, not accumulated);
* ``get_weights()`` / ``set_weights()`` in Keras' layout and order.

Keras doc: https://keras.io/api/layers/base_layer/
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np

from .. import initializers
from ..arrays import as_float_array
from ..config import resolve_dtype
from . import symbolic

_name_counters: dict[str, itertools.count] = {}


def _snake(name: str) -> str:
    """Keras' ``to_snake_case``: LSTM -> lstm, SimpleRNN -> simple_rnn, TimeDistributed ->
    time_distributed (layer names and the paths inside saved weight files use it)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _unique_name(prefix: str) -> str:
    counter = _name_counters.setdefault(prefix, itertools.count())
    n = next(counter)
    return prefix if n == 0 else f"{prefix}_{n}"


class Layer:
    """Base class: name, dtype, weights, and the Keras 2 shape arguments.

    Subclasses implement ``build(input_shape)`` (calling :meth:`add_weight`), ``call``
    and, when trainable, ``backward``.
    """

    #: Whether this layer's output carries an input mask further (Keras' supports_masking).
    supports_masking = False

    def __init__(self, name: str | None = None, dtype="float32", trainable: bool = True,
                 input_shape=None, input_dim=None, batch_input_shape=None, batch_size=None,
                 batch_shape=None, **kwargs: Any):
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}() got unexpected keyword argument(s) "
                f"{', '.join(sorted(kwargs))}."
            )
        self.name = name or _unique_name(_snake(type(self).__name__))
        self.dtype = resolve_dtype(dtype)
        self.trainable = trainable
        self.built = False
        self._weights: dict[str, np.ndarray] = {}
        self.grads: list[np.ndarray] | None = None
        self._cache = None
        # Keras 2 spellings that fix the build shape (and the stateful batch size).
        if batch_shape is not None:
            batch_input_shape = batch_shape
        if batch_input_shape is not None:
            self.batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None or input_dim is not None:
            shape = tuple(input_shape) if input_shape is not None else (None, input_dim)
            self.batch_input_shape = (batch_size, *shape)
        elif batch_size is not None:
            self.batch_input_shape = (batch_size,)  # the batch size alone (stateful layers)
        else:
            self.batch_input_shape = None

    # ------------------------------------------------------------------ weights
    #: Mixed into a fixed ``seed`` for weight initialisation, so that copies made from one
    #: configuration (Bidirectional's forward and backward halves) do not start identical.
    _init_salt = 0

    def _init_rng(self) -> np.random.Generator:
        """The generator that draws this layer's initial weights (from ``self.seed``)."""
        seed = getattr(self, "seed", None)
        if seed is None:
            return np.random.default_rng()
        return np.random.default_rng([seed, self._init_salt] if self._init_salt else seed)

    def add_weight(self, name: str, shape, initializer="zeros", seed_rng=None) -> np.ndarray:
        init = initializers.get(initializer)
        rng = seed_rng if seed_rng is not None else np.random.default_rng()
        value = np.ascontiguousarray(init(tuple(shape), self.dtype, rng), dtype=self.dtype)
        self._weights[name] = value
        return value

    @property
    def weight_names(self) -> list[str]:
        return list(self._weights)

    @property
    def weights(self) -> list[np.ndarray]:
        """The weight arrays themselves (not copies), in Keras order."""
        return list(self._weights.values())

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        return self.weights if self.trainable else []

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights, in Keras' layout and order."""
        return [w.copy() for w in self._weights.values()]

    def set_weights(self, weights) -> None:
        """Set every weight from a list in Keras order; the count and shapes must match."""
        if not self.built:
            raise ValueError(
                f"Layer {self.name!r} has no weights yet: build it first "
                "(call it on an input, or call layer.build(input_shape))."
            )
        weights = list(weights)
        expected = [(n, w.shape) for n, w in self._weights.items()]
        listing = ", ".join(f"{n} {s}" for n, s in expected)
        if len(weights) != len(expected):
            raise ValueError(
                f"Layer {self.name!r} expects {len(expected)} weight arrays ({listing}); "
                f"got {len(weights)}."
            )
        new = []
        for (n, shape), w in zip(expected, weights, strict=True):
            w = as_float_array(w, self.dtype, what=f"weight {n!r}")
            if w.shape != shape:
                raise ValueError(
                    f"Layer {self.name!r}: weight {n!r} must have shape {shape}; got {w.shape}. "
                    f"Expected shapes, in order: {listing}."
                )
            new.append(w)
        for (n, _), w in zip(expected, new, strict=True):
            # A copy: optimizers update weights in place, never the caller's arrays.
            self._weights[n] = w.copy()

    def count_params(self) -> int:
        return int(sum(w.size for w in self._weights.values()))

    # ------------------------------------------------------------------ calling
    def build(self, input_shape) -> None:
        self.built = True

    def _maybe_build(self, input_shape) -> None:
        if not self.built:
            self.build(tuple(input_shape))
            self.built = True

    def compute_mask(self, inputs, mask=None):
        """The mask this layer passes downstream (None by default, as Keras)."""
        return mask if self.supports_masking else None

    def __call__(self, x, *args, **kwargs):
        if type(x) is not np.ndarray:  # arrays are never symbolic: skip the check (~1 µs)
            if symbolic.is_symbolic(x):
                return symbolic.call_layer(self, x, *args, **kwargs)
        return self.call(x, *args, **kwargs)

    def call(self, x, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, dy):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no backward pass.")

    def _grad_like(self, dy, y, what="dy (the output's gradient)") -> np.ndarray:
        """``dy`` as a float array of ``y``'s shape (the output it is the gradient of)."""
        dy = as_float_array(dy, self.dtype, what=what)
        if dy.shape != np.shape(y):
            raise ValueError(f"{self.name}: {what} must have shape {np.shape(y)} (the shape of "
                             f"what the forward pass returned); got {dy.shape}.")
        return dy

    def _require_cache(self):
        if self._cache is None:
            raise RuntimeError(
                f"{self.name}.backward() needs the cache of a forward pass made with "
                "training=True; call layer(x, training=True) first (an inference call keeps "
                "nothing, and each backward consumes the cache of one forward)."
            )
        cache, self._cache = self._cache, None
        return cache

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype.name, "trainable": self.trainable}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"
