"""Shape plumbing between recurrent layers: ``Reshape``, ``Permute`` and ``Concatenate``
(the autoencoder answers reshape a code vector into a sequence; encoder-decoder models
concatenate). Each backward undoes its forward.

Keras docs: https://keras.io/api/layers/reshaping_layers/ and
https://keras.io/api/layers/merging_layers/concatenate/
"""

from __future__ import annotations

import numpy as np

from ..arrays import as_float_array
from .base import Layer


class Reshape(Layer):
    """``(batch, ...) -> (batch, *target_shape)``; one entry of ``target_shape`` may be -1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ValueError(f"Reshape: at most one -1 in target_shape; got {target_shape}.")

    def compute_output_shape(self, input_shape):
        shape = list(self.target_shape)
        rest = input_shape[1:]
        if -1 in shape:
            known = int(np.prod([d for d in shape if d != -1]))
            if any(d is None for d in rest):
                shape[shape.index(-1)] = None
            else:
                shape[shape.index(-1)] = int(np.prod(rest)) // known
        if all(d is not None for d in rest) and None not in shape \
                and int(np.prod(rest)) != int(np.prod(shape)):
            raise ValueError(f"Reshape: cannot reshape input {tuple(input_shape)} "
                             f"({int(np.prod(rest))} values per sample) into {self.target_shape}.")
        return (input_shape[0], *shape)

    def call(self, x, mask=None, training=False):
        x = as_float_array(x, self.dtype)
        if x.ndim == 0:
            raise ValueError("Reshape needs a batch axis; got a scalar.")
        self.compute_output_shape(x.shape)  # a clear error when the sizes do not agree
        self.built = True
        self._cache = x.shape if training else None
        return x.reshape(x.shape[0], *self.target_shape)

    def backward(self, dy):
        shape = self._require_cache()
        self.grads = []
        return np.asarray(dy, self.dtype).reshape(shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Permute(Layer):
    """Reorder the non-batch axes: ``dims`` counts from 1 (``Permute((2, 1))`` swaps
    timesteps and features)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute dims must be a permutation of 1..{len(self.dims)}; got "
                             f"{dims}.")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def call(self, x, mask=None, training=False):
        x = as_float_array(x, self.dtype)
        self.built = True
        self._cache = True if training else None
        return np.ascontiguousarray(np.transpose(x, (0, *self.dims)))

    def backward(self, dy):
        self._require_cache()
        self.grads = []
        return np.ascontiguousarray(np.transpose(dy, np.argsort((0, *self.dims))))

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


class Concatenate(Layer):
    """Join a list of inputs along ``axis`` (default the last)."""

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def compute_output_shape(self, input_shapes):
        shapes = [tuple(s) for s in input_shapes]
        if len(shapes) < 2:
            raise ValueError("Concatenate needs a list of at least 2 inputs.")
        out = list(shapes[0])
        ax = self.axis % len(out)
        for s in shapes[1:]:
            if len(s) != len(out) or any(a != b and None not in (a, b) for i, (a, b) in
                                         enumerate(zip(s, out, strict=True)) if i != ax):
                raise ValueError(f"Concatenate: shapes {shapes} differ outside axis "
                                 f"{self.axis}.")
        sizes = [s[ax] for s in shapes]
        out[ax] = None if None in sizes else sum(sizes)
        return tuple(out)

    def call(self, xs, mask=None, training=False):
        xs = [as_float_array(x, self.dtype) for x in xs]
        self.compute_output_shape([x.shape for x in xs])  # a clear error on mismatched shapes
        self.built = True
        self._cache = [x.shape[self.axis] for x in xs] if training else None
        return np.concatenate(xs, axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        """As Keras: joined along features, a step is kept where any input keeps it;
        joined along time, the masks are joined too (a missing mask keeps everything)."""
        if mask is None or all(m is None for m in mask):
            return None
        masks = [np.ones(np.shape(x)[:2], bool) if m is None else np.asarray(m, bool)
                 for x, m in zip(inputs, mask, strict=True)]
        ndim = np.ndim(inputs[0])
        if self.axis % ndim == ndim - 1:
            return np.logical_or.reduce(masks)
        if self.axis % ndim == 1:
            return np.concatenate(masks, axis=1)
        return None

    def backward(self, dy):
        sizes = self._require_cache()
        self.grads = []
        return np.split(np.asarray(dy, self.dtype), np.cumsum(sizes)[:-1], axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def concatenate(inputs, axis=-1, **kwargs):
    """Functional spelling: ``concatenate([a, b])``."""
    return Concatenate(axis=axis, **kwargs)(inputs)
