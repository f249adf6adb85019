"""Metrics for ``compile(metrics=[...])``: per-sample values averaged over the epoch.

As Keras' ``MeanMetricWrapper``, a metric gives one value per sample (per step for
sequences, the mask applied) and the epoch's figure is their mean over every sample
seen. ``'accuracy'``/``'acc'`` resolve like Keras 3's compile
(``keras/src/trainers/compile_utils.py``), from the shapes of the first batch: binary
accuracy for a 1-unit output, sparse categorical accuracy when the targets have a lower
rank (or a last axis of 1 against several units), categorical accuracy otherwise.

Keras doc: https://keras.io/api/metrics/
"""

from __future__ import annotations

import numpy as np

from . import losses


def binary_accuracy(y_true, y_pred, threshold=0.5):
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.ndim == p.ndim - 1:
        t = t[..., None]
    return np.mean(t == (p > threshold).astype(p.dtype), axis=-1)


def categorical_accuracy(y_true, y_pred):
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.ndim == p.ndim and t.shape[-1] == 1:
        t = t[..., 0]
    return (t.astype(np.int64) == np.argmax(p, axis=-1)).astype(np.float64)


_FUNCTIONS = {
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
}
NAMES = ("accuracy", "acc", *_FUNCTIONS, *losses.NAMES)


class Metric:
    """A running mean of per-sample values: ``update(y_true, y_pred, mask)``, ``result()``."""

    def __init__(self, name, fn):
        self.name, self.fn = name, fn
        self.reset_state()

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def update(self, y_true, y_pred, mask=None, sample_weight=None):
        v = np.asarray(self.fn(y_true, y_pred), dtype=np.float64)
        weight = None
        if mask is not None and np.shape(mask) == v.shape:
            weight = np.asarray(mask, np.float64)
        if sample_weight is not None:
            sw = losses.align_weights(sample_weight, v)
            weight = sw if weight is None else weight * sw
        if weight is not None:
            self.total += float(np.sum(v * weight))
            self.count += float(np.sum(weight))
        else:
            self.total += float(np.sum(v))
            self.count += v.size

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


class AutoAccuracy(Metric):
    """``'accuracy'``: the kind is chosen from the first batch's shapes, as Keras 3."""

    def __init__(self, name):
        super().__init__(name, None)

    def update(self, y_true, y_pred, mask=None, sample_weight=None):
        if self.fn is None:
            t_shape, p_shape = np.shape(y_true), np.shape(y_pred)
            if p_shape[-1] == 1:
                self.fn = binary_accuracy
            elif len(t_shape) < len(p_shape) or (t_shape[-1] == 1 and p_shape[-1] > 1):
                self.fn = sparse_categorical_accuracy
            else:
                self.fn = categorical_accuracy
        super().update(y_true, y_pred, mask, sample_weight)


def get(identifier, loss=None, output_shape=None) -> Metric:
    """A :class:`Metric` for a name, a function ``f(y_true, y_pred)`` or a loss."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        name = identifier
        if name.lower() in ("accuracy", "acc"):
            return AutoAccuracy(name)
        if name in _FUNCTIONS:
            return Metric(name, _FUNCTIONS[name])
        try:
            loss_obj = losses.get(name)
        except ValueError:
            raise ValueError(f"Unknown metric {identifier!r}. Valid names: "
                             f"{', '.join(NAMES)} (or a function f(y_true, y_pred)).") from None
        return Metric(name, lambda t, p, _l=loss_obj: _l.values(_l.prepare_target(t, p), p))
    if callable(identifier):
        return Metric(getattr(identifier, "__name__", "metric"), identifier)
    raise ValueError(f"Unknown metric {identifier!r}. Valid names: {', '.join(NAMES)}.")
