"""The two Keras utilities recurrent-model programs use: ``to_categorical`` and
``pad_sequences`` (``keras.utils``), with Keras' defaults.

Keras doc: https://keras.io/api/utils/python_utils/#tocategorical-function and
https://keras.io/api/data_loading/timeseries/ (pad_sequences)
"""

from __future__ import annotations

import numpy as np


def to_categorical(x, num_classes=None):
    """One-hot encode integer class ids: shape ``(...,)`` -> ``(..., num_classes)``."""
    ids = np.asarray(x, dtype="int64")
    if ids.ndim > 1 and ids.shape[-1] == 1:
        ids = ids[..., 0]  # Keras squeezes a trailing axis of 1
    if num_classes is None:
        num_classes = int(ids.max()) + 1 if ids.size else 0
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise ValueError(f"to_categorical: class ids must be in [0, {num_classes}); got values "
                         f"from {ids.min()} to {ids.max()}.")
    return np.eye(num_classes, dtype="float32")[ids]


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Pad (or truncate) a list of sequences to one length: ``(samples, maxlen, ...)``.

    ``padding``/``truncating`` "pre" (Keras' default) work at the start, "post" at the end.
    """
    for what, v in (("padding", padding), ("truncating", truncating)):
        if v not in ("pre", "post"):
            raise ValueError(f'{what} must be "pre" or "post"; got {v!r}.')
    seqs = [np.asarray(s) for s in sequences]
    if maxlen is None:
        maxlen = max((len(s) for s in seqs), default=0)
    tail = next((s.shape[1:] for s in seqs if len(s)), ())
    out = np.full((len(seqs), maxlen, *tail), value, dtype=dtype)
    for i, s in enumerate(seqs):
        if not len(s):
            continue
        s = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if padding == "post":
            out[i, :len(s)] = s
        else:
            out[i, maxlen - len(s):] = s
    return out


__all__ = ["pad_sequences", "to_categorical"]
