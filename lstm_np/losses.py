"""Losses with Keras 3's formulas, each with its gradient w.r.t. the prediction.

A loss first reduces the last axis to one value per sample (per step for sequences),
``values = fn(y_true, y_pred)``, then ``sum_over_batch_size`` averages them; with a
mask (Embedding(mask_zero)/Masking -> return_sequences) only unmasked steps count:
``loss = sum(values * mask) / sum(mask)``, as ``keras/src/losses/loss.py``.

The probability losses clip as Keras' torch backend does (``keras/src/backend/torch/nn.py``):
``clip(p, 1e-7, 1 - 1e-7)``; the gradient is zero where the clip is active, as torch's.

Keras doc: https://keras.io/api/losses/
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-7  # keras.backend.epsilon()


def _in_range(x, lo, hi):
    return (x >= lo) & (x <= hi)  # torch.clamp passes the gradient at the bounds too


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _col(dv):
    """Per-value weights as a column against the last axis (a scalar stays a scalar)."""
    return dv[..., None] if np.ndim(dv) else dv


def align_weights(sample_weight, values):
    """Sample weights shaped like the per-sample loss values: ``(B,)`` for one value per
    sample, ``(B, T)`` per step (Keras' "temporal" weights)."""
    sw = np.asarray(sample_weight, dtype=values.dtype)
    if sw.ndim == values.ndim + 1 and sw.shape[-1] == 1:
        sw = sw[..., 0]
    if sw.shape != values.shape:
        raise ValueError(
            f"sample_weight of shape {sw.shape} does not fit the per-sample losses of shape "
            f"{values.shape}: give one weight per sample (samples,), or per sample and step "
            "(samples, timesteps) for a return_sequences output.")
    return sw


class Loss:
    """Base: ``values(t, p)`` (last axis reduced) and ``values_grad(t, p, dv)`` = dL/dp."""

    name = "loss"

    def values(self, t, p):  # pragma: no cover - abstract
        raise NotImplementedError

    def values_grad(self, t, p, dv):  # pragma: no cover - abstract
        raise NotImplementedError

    def prepare_target(self, t, p):
        """Cast ``t`` and align its rank with ``p`` (Keras' squeeze_or_expand_to_same_rank)."""
        t = np.asarray(t, dtype=p.dtype)
        if t.ndim == p.ndim + 1 and t.shape[-1] == 1:
            t = t[..., 0]
        elif p.ndim == t.ndim + 1 and p.shape[-1] == 1:
            t = t[..., None]
        return t

    def compute(self, y_true, y_pred, mask=None, sample_weight=None):
        """``(loss, dloss/dy_pred)`` with the sum_over_batch_size reduction, the mask and
        optional per-value ``sample_weight`` (still divided by the count, as Keras)."""
        t = self.prepare_target(y_true, y_pred)
        v = self.values(t, y_pred)  # (B,) or (B, T)
        total = v.size
        sw = None if sample_weight is None else align_weights(sample_weight, v)
        if mask is not None and np.shape(mask) == v.shape:
            valid = float(np.count_nonzero(mask))
            w = np.where(mask, 1.0 / valid if valid else 0.0, 0.0).astype(v.dtype)
            if sw is not None:
                w = w * sw
            loss = float(np.sum(v * w))
        elif sw is not None:
            w = (sw / total).astype(v.dtype)
            loss = float(np.sum(v * w))
        else:  # every value weighs 1/total: a scalar, broadcast by values_grad
            w = v.dtype.type(1.0 / total) if total else v.dtype.type(0.0)
            loss = float(np.sum(v)) / total if total else 0.0
        return loss, self.values_grad(t, y_pred, w)

    def __call__(self, y_true, y_pred, sample_weight=None):
        p = np.asarray(y_pred, dtype=np.float32 if np.asarray(y_pred).dtype.kind != "f"
                       else np.asarray(y_pred).dtype)
        return self.compute(y_true, p)[0]

    def get_config(self):
        return {"name": self.name}


class MeanSquaredError(Loss):
    """``mean((p - t)^2, axis=-1)``."""

    name = "mean_squared_error"

    def values(self, t, p):
        return np.mean(np.square(p - t), axis=-1)

    def values_grad(self, t, p, dv):
        return _col(dv) * (2.0 / p.shape[-1]) * (p - t)


class MeanAbsoluteError(Loss):
    """``mean(|p - t|, axis=-1)``."""

    name = "mean_absolute_error"

    def values(self, t, p):
        return np.mean(np.abs(p - t), axis=-1)

    def values_grad(self, t, p, dv):
        return _col(dv) * np.sign(p - t) / p.shape[-1]


class _FromLogits(Loss):
    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis=-1,
                 reduction="sum_over_batch_size", name=None, dtype=None):
        if axis != -1:
            raise ValueError(f"Only axis=-1 is supported; got axis={axis!r}.")
        if reduction != "sum_over_batch_size":
            raise ValueError("Only reduction='sum_over_batch_size' (Keras' default) is "
                             f"supported; got {reduction!r}.")
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class BinaryCrossentropy(_FromLogits):
    """``mean(-(t log p + (1 - t) log(1 - p)), axis=-1)``; on logits ``max(z,0) - z t +
    log(1 + e^-|z|)``. Label smoothing: ``t (1 - ls) + ls / 2``."""

    name = "binary_crossentropy"

    def _smooth(self, t):
        ls = self.label_smoothing
        return t * (1.0 - ls) + 0.5 * ls if ls else t

    def values(self, t, p):
        t = self._smooth(t)
        if self.from_logits:
            e = np.maximum(p, 0) - p * t + np.log1p(np.exp(-np.abs(p)))
        else:
            pc = np.clip(p, EPSILON, 1 - EPSILON)
            e = -(t * np.maximum(np.log(pc), -100) + (1 - t) * np.maximum(np.log1p(-pc), -100))
        return np.mean(e, axis=-1)

    def values_grad(self, t, p, dv):
        t = self._smooth(t)
        scale = _col(dv) / p.shape[-1]
        if self.from_logits:
            s = np.where(p >= 0, 1 / (1 + np.exp(-np.abs(p))), np.exp(-np.abs(p))
                         / (1 + np.exp(-np.abs(p))))
            return scale * (s - t)
        pc = np.clip(p, EPSILON, 1 - EPSILON)
        de = (pc - t) / np.maximum(pc * (1 - pc), 1e-12)  # torch's BCE backward
        return scale * de * _in_range(p, EPSILON, 1 - EPSILON)


class CategoricalCrossentropy(_FromLogits):
    """``-sum(t log(p / sum(p)), axis=-1)`` (p normalised, then clipped); on logits
    ``-sum(t log_softmax(z))``. Label smoothing: ``t (1 - ls) + ls / classes``."""

    name = "categorical_crossentropy"

    def _smooth(self, t):
        ls = self.label_smoothing
        return t * (1.0 - ls) + ls / t.shape[-1] if ls else t

    def _check(self, t, p):
        if t.shape != p.shape:
            raise ValueError(
                f"{self.name}: targets must have the output's shape {p.shape} (one-hot over "
                f"{p.shape[-1]} classes); got {t.shape}. For integer class ids use "
                "sparse_categorical_crossentropy.")

    def values(self, t, p):
        self._check(t, p)
        t = self._smooth(t)
        if self.from_logits:
            z = p - p.max(axis=-1, keepdims=True)
            log_prob = z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))
        else:
            log_prob = np.log(np.clip(p / p.sum(axis=-1, keepdims=True), EPSILON, 1 - EPSILON))
        return -np.sum(t * log_prob, axis=-1)

    def values_grad(self, t, p, dv):
        t = self._smooth(t)
        if self.from_logits:
            d = _softmax(p) * t.sum(axis=-1, keepdims=True) - t
            return _col(dv) * d
        s = p.sum(axis=-1, keepdims=True)
        o = p / s
        g = -t / np.clip(o, EPSILON, 1 - EPSILON) * _in_range(o, EPSILON, 1 - EPSILON)
        return _col(dv) * (g - np.sum(g * o, axis=-1, keepdims=True)) / s


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Categorical crossentropy with integer class ids ``(batch, ...)`` as targets."""

    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False, ignore_class=None, axis=-1,
                 reduction="sum_over_batch_size", name=None, dtype=None):
        if ignore_class is not None:
            raise NotImplementedError("ignore_class is not supported; use a mask instead.")
        super().__init__(from_logits=from_logits, axis=axis, reduction=reduction)

    def prepare_target(self, t, p):
        t = np.asarray(t)
        if t.ndim == p.ndim and t.shape[-1] == 1:
            t = t[..., 0]
        if t.shape != p.shape[:-1]:
            raise ValueError(
                f"sparse_categorical_crossentropy: targets must be integer class ids of shape "
                f"{p.shape[:-1]} (the output's shape without its class axis {p.shape[-1]}); "
                f"got {t.shape}.")
        ids = t.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= p.shape[-1]):
            raise ValueError(f"sparse_categorical_crossentropy: class ids must be in "
                             f"[0, {p.shape[-1]}); got values from {ids.min()} to {ids.max()}.")
        return np.eye(p.shape[-1], dtype=p.dtype)[ids]  # one-hot (..., C)

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits}


class KLDivergence(Loss):
    """``sum(t log(t / p), axis=-1)`` with both clipped to ``[1e-7, 1]``."""

    name = "kl_divergence"

    def values(self, t, p):
        tc, pc = np.clip(t, EPSILON, 1), np.clip(p, EPSILON, 1)
        return np.sum(tc * np.log(tc / pc), axis=-1)

    def values_grad(self, t, p, dv):
        tc, pc = np.clip(t, EPSILON, 1), np.clip(p, EPSILON, 1)
        return _col(dv) * (-tc / pc) * _in_range(p, EPSILON, 1)


_CLASSES = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "kl_divergence": KLDivergence, "kld": KLDivergence,
    "kullback_leibler_divergence": KLDivergence,
}
NAMES = tuple(sorted(_CLASSES))


def _values_fn(cls):
    def fn(y_true, y_pred):
        p = np.asarray(y_pred, dtype=float)
        loss = cls()
        return loss.values(loss.prepare_target(y_true, p), p)

    return fn


# Keras' functional spellings: per-sample values, e.g. losses.mean_squared_error(t, p).
mean_squared_error = mse = _values_fn(MeanSquaredError)
mean_absolute_error = mae = _values_fn(MeanAbsoluteError)
binary_crossentropy = _values_fn(BinaryCrossentropy)
categorical_crossentropy = _values_fn(CategoricalCrossentropy)
sparse_categorical_crossentropy = _values_fn(SparseCategoricalCrossentropy)
kl_divergence = kld = kullback_leibler_divergence = _values_fn(KLDivergence)
for _name, _fn in list(globals().items()):
    if _name in _CLASSES and callable(_fn):
        _fn.__name__ = _name


def get(identifier) -> Loss:
    """A :class:`Loss` from a name (``'mse'``), a class, an instance or a Keras loss function."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    name = identifier if isinstance(identifier, str) else getattr(identifier, "__name__", None)
    if isinstance(name, str):
        key = name.lower() if name.isupper() else name  # 'MSE', 'KLD'
        key = {"MeanSquaredError": "mse", "MeanAbsoluteError": "mae",
               "KLDivergence": "kld", "BinaryCrossentropy": "binary_crossentropy",
               "CategoricalCrossentropy": "categorical_crossentropy",
               "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy"}.get(key, key)
        if key in _CLASSES:
            return _CLASSES[key]()
    raise ValueError(f"Unknown loss {identifier!r}. Valid names: {', '.join(NAMES)} "
                     "(or a lstm_np.losses.Loss instance such as "
                     "losses.CategoricalCrossentropy(from_logits=True)).")
