"""Activations and their derivatives: the one place both engines take them from.

Each activation is written three ways, side by side, so that they cannot drift apart:

* ``forward(x)``     NumPy, on whole arrays: what the NumPy engine calls;
* ``derivative(x)``  NumPy, d forward / d x **as a function of the input x**;
* ``scalar`` / ``scalar_derivative``: the same two formulas on one float, compiled
  with Numba and dispatched by integer id inside the kernels (:func:`apply_scalar`).

The formulas follow Keras 3 (``keras/src/activations/activations.py``) on the torch
backend, including its edge cases: ``softplus`` returns ``x`` above 20 (torch's
threshold), ``hard_sigmoid`` is Keras 3's ``clip(x/6 + 1/2, 0, 1)``. Keras 1/2's
``clip(0.2 x + 0.5, 0, 1)`` is available as ``"hard_sigmoid_keras2"``.
Every formula is written so that huge inputs (1e30) overflow nothing: exponentials
only ever see ``-|x|``.

Keras doc: https://keras.io/api/layers/activations/
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

from .config import JIT

# ----------------------------------------------------------------------------- NumPy


def _sigmoid(x):
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def _d_sigmoid(x):
    s = _sigmoid(x)
    return s * (1 - s)


def _tanh(x):
    return np.tanh(x)


def _d_tanh(x):
    t = np.tanh(x)
    return 1 - t * t


def _hard_sigmoid(x):  # Keras 3: relu6(x + 3) / 6
    return np.clip(x / 6 + 0.5, 0, 1).astype(x.dtype, copy=False)


def _d_hard_sigmoid(x):  # torch's hardsigmoid backward: 1/6 strictly inside (-3, 3)
    return np.where((x > -3) & (x < 3), 1 / 6, 0).astype(x.dtype, copy=False)


def _hard_sigmoid_keras2(x):  # Keras 1/2 and tf.keras 2.x
    return np.clip(0.2 * x + 0.5, 0, 1).astype(x.dtype, copy=False)


def _d_hard_sigmoid_keras2(x):  # Keras 2's clip passes the gradient at the kinks too
    return np.where((x >= -2.5) & (x <= 2.5), 0.2, 0).astype(x.dtype, copy=False)


def _relu(x):
    return np.maximum(x, 0)


def _d_relu(x):
    return (x > 0).astype(x.dtype)


def _linear(x):
    return x


def _d_linear(x):
    return np.ones_like(x)


def _softsign(x):
    return x / (1 + np.abs(x))


def _d_softsign(x):
    d = 1 + np.abs(x)
    return 1 / d / d  # not 1 / (d * d): d * d overflows float32 for |x| > 1.8e19


def _elu(x):  # alpha = 1
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def _d_elu(x):
    return np.where(x > 0, 1, np.exp(np.minimum(x, 0))).astype(x.dtype, copy=False)


def _softplus(x):  # torch: x above the threshold 20, log1p(exp(x)) below
    xs = np.minimum(x, 20)
    return np.where(x > 20, x, np.maximum(xs, 0) + np.log1p(np.exp(-np.abs(xs))))


def _d_softplus(x):
    return np.where(x > 20, 1, _sigmoid(x)).astype(x.dtype, copy=False)


def _swish(x):  # a.k.a. silu
    return x * _sigmoid(x)


def _d_swish(x):
    s = _sigmoid(x)
    return s + x * s * (1 - s)


# ----------------------------------------------------------------------------- scalar (Numba)


@njit(**JIT)
def _s_sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit(**JIT)
def apply_scalar(act_id, x):
    """``activation[act_id](x)`` on one float (ids are :attr:`Activation.id`)."""
    if act_id == 0:
        return math.tanh(x)
    if act_id == 1:
        return _s_sigmoid(x)
    if act_id == 2:
        return min(max(x / 6.0 + 0.5, 0.0), 1.0)
    if act_id == 3:
        return min(max(0.2 * x + 0.5, 0.0), 1.0)
    if act_id == 4:
        return x if (x > 0 or x != x) else 0.0  # x != x keeps NaN, as torch's relu does
    if act_id == 5:
        return x
    if act_id == 6:
        return x / (1.0 + abs(x))
    if act_id == 7:
        return x if x > 0 else math.expm1(min(x, 0.0))
    if act_id == 8:
        if x > 20.0:
            return x
        return max(x, 0.0) + math.log1p(math.exp(-abs(x)))
    if act_id == 9:
        return x * _s_sigmoid(x)
    return math.nan


@njit(**JIT)
def derivative_scalar(act_id, x):
    """``d activation[act_id] / dx`` at ``x``, on one float."""
    if act_id == 0:
        t = math.tanh(x)
        return 1.0 - t * t
    if act_id == 1:
        s = _s_sigmoid(x)
        return s * (1.0 - s)
    if act_id == 2:
        return 1.0 / 6.0 if -3.0 < x < 3.0 else 0.0
    if act_id == 3:
        return 0.2 if -2.5 <= x <= 2.5 else 0.0
    if act_id == 4:
        return 1.0 if x > 0 else 0.0
    if act_id == 5:
        return 1.0
    if act_id == 6:
        d = 1.0 + abs(x)
        return 1.0 / (d * d)
    if act_id == 7:
        return 1.0 if x > 0 else math.exp(min(x, 0.0))
    if act_id == 8:
        return 1.0 if x > 20.0 else _s_sigmoid(x)
    if act_id == 9:
        s = _s_sigmoid(x)
        return s + x * s * (1.0 - s)
    return math.nan


# ----------------------------------------------------------------------------- registry


def _quiet(fn):
    """Run ``fn`` with NumPy's underflow flag ignored: ``exp(-|x|)`` of a huge ``|x|`` is
    exactly the 0 we want, and a caller's ``np.errstate(all="raise")`` must not turn it into
    an error (torch, under Keras, raises nothing either)."""

    @functools.wraps(fn)
    def quiet(x):
        with np.errstate(under="ignore"):
            return fn(x)

    return quiet


@dataclass(frozen=True)
class Activation:
    """An element-wise activation: its name, kernel id, and NumPy forward/derivative."""

    name: str
    id: int
    forward: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray], np.ndarray]

    def __post_init__(self):
        object.__setattr__(self, "forward", _quiet(self.forward))
        object.__setattr__(self, "derivative", _quiet(self.derivative))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)


_REGISTRY = {
    a.name: a
    for a in (
        Activation("tanh", 0, _tanh, _d_tanh),
        Activation("sigmoid", 1, _sigmoid, _d_sigmoid),
        Activation("hard_sigmoid", 2, _hard_sigmoid, _d_hard_sigmoid),
        Activation("hard_sigmoid_keras2", 3, _hard_sigmoid_keras2, _d_hard_sigmoid_keras2),
        Activation("relu", 4, _relu, _d_relu),
        Activation("linear", 5, _linear, _d_linear),
        Activation("softsign", 6, _softsign, _d_softsign),
        Activation("elu", 7, _elu, _d_elu),
        Activation("softplus", 8, _softplus, _d_softplus),
        Activation("swish", 9, _swish, _d_swish),
    )
}
#: Other spellings Keras accepts for the same functions.
ALIASES = {"silu": "swish", None: "linear"}

#: Names accepted by the recurrent layers' ``activation=`` / ``recurrent_activation=``.
NAMES = tuple(_REGISTRY) + tuple(k for k in ALIASES if k is not None)


def get(identifier) -> Activation:
    """Look up an activation by name (Keras' spelling), or pass an :class:`Activation` through.

    Raises ``ValueError`` listing the valid names for anything else.
    """
    if isinstance(identifier, Activation):
        return identifier
    name = getattr(identifier, "__name__", identifier)  # keras.activations.tanh -> "tanh"
    name = ALIASES.get(name, name)
    if isinstance(name, str) and name in _REGISTRY:
        return _REGISTRY[name]
    raise ValueError(
        f"Unknown activation {identifier!r}. Valid names: {', '.join(sorted(NAMES))}. "
        "(Keras 1/2's hard sigmoid 0.2x+0.5 is 'hard_sigmoid_keras2'.)"
    )
