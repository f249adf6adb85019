"""Weight initializers with Keras' names and formulas, drawn from an explicit seed.

The random streams are NumPy's (``np.random.default_rng(seed)``), not Keras', so the
*distributions* match Keras and the numbers do not: to reproduce a Keras model,
copy its weights with ``set_weights``. Each call takes its own generator, so two
layers never start with identical weights by accident (a bug peers shipped).

Keras doc: https://keras.io/api/layers/initializers/
"""

from __future__ import annotations

import numpy as np


def _fans(shape):
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def zeros(shape, dtype, rng):
    return np.zeros(shape, dtype)


def ones(shape, dtype, rng):
    return np.ones(shape, dtype)


def glorot_uniform(shape, dtype, rng):
    """U(-l, l) with l = sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def glorot_normal(shape, dtype, rng):
    """Truncated N(0, 2 / (fan_in + fan_out)) (re-drawn beyond two standard deviations)."""
    fan_in, fan_out = _fans(shape)
    return _truncated_normal(shape, np.sqrt(2.0 / (fan_in + fan_out)) / 0.87962566103423978,
                             dtype, rng)


def he_uniform(shape, dtype, rng):
    fan_in, _ = _fans(shape)
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape, dtype, rng):
    fan_in, _ = _fans(shape)
    return _truncated_normal(shape, np.sqrt(2.0 / fan_in) / 0.87962566103423978, dtype, rng)


def lecun_uniform(shape, dtype, rng):
    fan_in, _ = _fans(shape)
    limit = np.sqrt(3.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def random_uniform(shape, dtype, rng):  # Keras default range [-0.05, 0.05]
    return rng.uniform(-0.05, 0.05, size=shape).astype(dtype)


def random_normal(shape, dtype, rng):  # Keras default stddev 0.05
    return rng.normal(0.0, 0.05, size=shape).astype(dtype)


def orthogonal(shape, dtype, rng):
    """Keras' Orthogonal: QR of a Gaussian matrix, signs fixed by diag(R)."""
    rows = int(np.prod(shape[:-1]))
    cols = shape[-1]
    a = rng.normal(size=(max(rows, cols), min(rows, cols)))
    from .kernels.threads import single_threaded_blas  # late: kernels import numba

    with single_threaded_blas():  # no spinning BLAS workers left behind (see there)
        q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return q.reshape(shape).astype(dtype)


def _truncated_normal(shape, std, dtype, rng):
    out = rng.normal(0.0, std, size=shape)
    bad = np.abs(out) > 2 * std
    while bad.any():
        out[bad] = rng.normal(0.0, std, size=int(bad.sum()))
        bad = np.abs(out) > 2 * std
    return out.astype(dtype)


class Constant:
    """``Constant(value)``: every entry equals ``value`` (Keras' golden tests use these)."""

    def __init__(self, value=0.0):
        self.value = float(value)

    def __call__(self, shape, dtype, rng):
        return np.full(shape, self.value, dtype)

    def __repr__(self):
        return f"Constant({self.value})"


_REGISTRY = {
    f.__name__: f
    for f in (zeros, ones, glorot_uniform, glorot_normal, he_uniform, he_normal,
              lecun_uniform, random_uniform, random_normal, orthogonal)
}


def get(identifier):
    """Return an initializer ``f(shape, dtype, rng)`` for a Keras name, a callable or a Keras
    initializer object with a ``value`` (Constant)."""
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _REGISTRY:
            return _REGISTRY[key]
        raise ValueError(
            f"Unknown initializer {identifier!r}. Valid names: {', '.join(sorted(_REGISTRY))}, "
            "or lstm_np.initializers.Constant(value)."
        )
    if isinstance(identifier, Constant):
        return identifier
    if type(identifier).__name__ == "Constant" and hasattr(identifier, "value"):
        return Constant(identifier.value)  # keras.initializers.Constant
    if callable(identifier):
        return identifier
    raise TypeError(f"An initializer must be a name or a callable; got {identifier!r}.")
