"""Where masks come from: ``Embedding(mask_zero=True)`` and ``Masking(mask_value)``.

A mask is a boolean ``(batch, timesteps)`` array, True where a step is real. The
recurrent layers skip masked steps; with ``return_sequences=True`` they pass the mask
on (through TimeDistributed, Dense, Activation, Dropout) to the loss, which then
averages over the unmasked steps only, exactly as Keras does.

Keras docs: https://keras.io/api/layers/core_layers/embedding/ and
https://keras.io/api/layers/core_layers/masking/
"""

from __future__ import annotations

import numpy as np

from .. import initializers
from ..arrays import as_float_array
from .base import Layer


class Embedding(Layer):
    """``y[b, t] = embeddings[ids[b, t]]``: integer ids ``(batch, timesteps)`` to vectors
    ``(batch, timesteps, output_dim)``.

    Weight (Keras order): ``embeddings (input_dim, output_dim)``. With ``mask_zero=True``
    id 0 is padding: the output mask is ``ids != 0`` (so ``input_dim`` must count it).
    An id outside ``[0, input_dim)`` is an error (never a silent clamp).
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, input_length=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        for what, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"Embedding {what} must be a positive integer; got {v!r}.")
        if embeddings_regularizer is not None or embeddings_constraint is not None:
            raise NotImplementedError("Embedding regularizers/constraints are not supported.")
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        # Keras' "uniform" is RandomUniform(-0.05, 0.05).
        name = "random_uniform" if embeddings_initializer == "uniform" else embeddings_initializer
        self.embeddings_initializer = initializers.get(name)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.input_length = input_length  # Keras 2 argument: only the input shape uses it
        if self.batch_input_shape is None and input_length is not None:
            self.batch_input_shape = (None, input_length)
        self.seed = seed
        if weights is not None:
            self.build(None)
            self.set_weights(weights if isinstance(weights, list) else [weights])

    def build(self, input_shape=None) -> None:
        if "embeddings" not in self._weights:
            self.add_weight("embeddings", (self.input_dim, self.output_dim),
                            self.embeddings_initializer, self._init_rng())
        self.built = True

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def _ids(self, x):
        ids = np.asarray(x)
        if ids.dtype.kind == "f":
            if not np.all(np.isfinite(ids)) or np.any(ids != np.floor(ids)):
                raise ValueError(f"{self.name}: Embedding inputs are integer ids; got "
                                 "non-integer values.")
            ids = ids.astype(np.int64)
        elif ids.dtype.kind not in "biu":
            raise TypeError(f"{self.name}: Embedding inputs must be integer ids; got dtype "
                            f"{ids.dtype}.")
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            bad = ids[(ids < 0) | (ids >= self.input_dim)]
            raise ValueError(
                f"{self.name}: index {int(bad.flat[0])} is out of range for an Embedding with "
                f"input_dim={self.input_dim} (valid ids: 0..{self.input_dim - 1}). Make "
                f"input_dim = largest id + 1 (count the padding id 0 when mask_zero=True).")
        return ids

    def call(self, x, mask=None, training=False):
        ids = self._ids(x)
        if not self.built:
            self.build(ids.shape)
        self._cache = ids if training else None
        return self._weights["embeddings"][ids]  # (B, T, D)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return np.asarray(inputs) != 0  # (B, T)

    def backward(self, dy):
        ids = self._require_cache()
        d_emb = np.zeros_like(self._weights["embeddings"])  # dense, as Keras' torch gradient
        np.add.at(d_emb, ids.reshape(-1), np.asarray(dy, self.dtype).reshape(-1, self.output_dim))
        self.grads = [d_emb]
        return None  # integer ids have no gradient

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(input_dim=self.input_dim, output_dim=self.output_dim,
                   mask_zero=self.mask_zero, seed=self.seed)
        if self.batch_input_shape is not None:
            cfg["batch_input_shape"] = self.batch_input_shape
        return cfg


class Masking(Layer):
    """Mask every step whose features all equal ``mask_value``; those steps are zeroed.

    Output mask ``any(x != mask_value, axis=-1)``, shape ``(batch, timesteps)``.
    """

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_mask(self, inputs, mask=None):
        return np.any(np.asarray(inputs) != self.mask_value, axis=-1)

    def call(self, x, mask=None, training=False):
        x = as_float_array(x, self.dtype)
        self.built = True
        keep = np.any(x != self.mask_value, axis=-1, keepdims=True)  # (B, T, 1)
        self._cache = keep if training else None
        return np.where(keep, x, 0).astype(self.dtype, copy=False)

    def backward(self, dy):
        keep = self._require_cache()
        self.grads = []
        return np.asarray(dy, self.dtype) * keep

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(mask_value=self.mask_value)
        if self.batch_input_shape is not None:
            cfg["batch_input_shape"] = self.batch_input_shape
        return cfg
