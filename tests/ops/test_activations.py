"""Every activation, three ways, against Keras 3 and against itself.

* NumPy forward vs ``keras.activations.<name>`` (torch backend) on a grid that includes
  the extremes (±1e4, ±1e30, ±inf, NaN, 0) and the kinks/thresholds of each formula
  (±2.5, ±3, ±20);
* NumPy derivative vs torch autograd of the Keras activation on the same grid;
* the Numba scalar twins ``apply_scalar`` / ``derivative_scalar`` vs the NumPy versions.

Keras 2's ``hard_sigmoid`` (``hard_sigmoid_keras2``; Keras 3 has no such name) is checked
against its formula written in ``keras.ops``, ``clip(0.2 x + 0.5, 0, 1)``.

Keras doc: https://keras.io/api/layers/activations/
"""

import numpy as np
import pytest

from lstm_np import activations
from lstm_np.activations import apply_scalar, derivative_scalar

NAMES = tuple(n for n in activations.NAMES if n is not None)
SPECIAL = [0.0, -0.0, 1e-8, -1e-8, 2.5, -2.5, 3.0, -3.0, 20.0, -20.0, 20.0001, 19.9999,
           1e4, -1e4, 1e30, -1e30, np.inf, -np.inf, np.nan, 88.0, -88.0, 710.0, -710.0]
TOL = {"float32": dict(rtol=2e-6, atol=1e-37), "float64": dict(rtol=1e-13, atol=1e-300)}
#: Derivatives are O(1) differences such as 1 - tanh(x)^2 or torch's autograd of
#: x / (1 + |x|): a one-ulp difference in tanh, or torch's cancellation, moves them by a few
#: machine epsilons in absolute terms, however small the value.
DTOL = {"float32": dict(rtol=2e-6, atol=5e-7), "float64": dict(rtol=1e-13, atol=1e-15)}


def grid(dtype):
    x = np.concatenate([np.linspace(-30, 30, 1201), SPECIAL])
    with np.errstate(over="ignore"):
        return x.astype(dtype)


def keras_reference(name, x):
    """Keras' activation on torch and its autograd derivative, as float64 arrays."""
    from keras_oracle import KERAS_ACTIVATION_STANDINS, require_keras, torch

    keras = require_keras()

    fn = KERAS_ACTIVATION_STANDINS.get(name) or keras.activations.get(name)
    t = torch.tensor(x, requires_grad=True)
    y = fn(t)
    assert y.dtype == t.dtype
    (d,) = torch.autograd.grad(y.sum(), t)
    return y.detach().numpy(), d.numpy()


@pytest.mark.keras
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", NAMES)
def test_numpy_forward_and_derivative_match_keras(name, dtype):
    x = grid(dtype)
    y_keras, d_keras = keras_reference(name, x)
    act = activations.get(name)
    y, d = act(x), act.derivative(x)
    assert y.dtype == d.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y, y_keras, equal_nan=True, err_msg=f"{name}({dtype})",
                               **TOL[dtype])
    finite = np.isfinite(x)  # at ±inf autograd gives NaN where the limit is 0: skip those
    tol = dict(DTOL[dtype])
    if name == "hard_sigmoid" and dtype == "float64":
        tol["rtol"] = 1e-7  # see test_torch_hardsigmoid_backward_uses_a_float32_one_sixth
    np.testing.assert_allclose(d[finite], d_keras[finite], equal_nan=True,
                               err_msg=f"{name}'({dtype})", **tol)


@pytest.mark.keras
def test_torch_hardsigmoid_backward_uses_a_float32_one_sixth():
    """Why float64 gradients through hard_sigmoid are compared at 1e-6 (keras_oracle):
    torch's hardsigmoid backward multiplies by the float32 constant 1/6; ours is exact,
    and central differences side with ours."""
    x = np.array([-1.0, 0.5, 2.0])
    _, d_keras = keras_reference("hard_sigmoid", x)
    np.testing.assert_array_equal(d_keras, np.float32(1 / 6))
    d = activations.get("hard_sigmoid").derivative(x)
    np.testing.assert_array_equal(d, 1 / 6)
    f = activations.get("hard_sigmoid")
    fd = (f(x + 1e-6) - f(x - 1e-6)) / 2e-6
    assert np.abs(fd - d).max() < np.abs(fd - d_keras).max()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", NAMES)
def test_numba_scalar_twins_equal_numpy(name, dtype):
    act = activations.get(name)
    x = grid(dtype)
    y, d = act(x), act.derivative(x)
    ys = np.array([apply_scalar(act.id, v) for v in x])
    ds = np.array([derivative_scalar(act.id, v) for v in x])
    # The twins run in the precision Numba infers (float64 for float32 scalars mixed
    # with float64 constants): equal to the NumPy float32 result to float32 rounding.
    tol = dict(rtol=1e-6, atol=1e-37) if dtype == "float32" else dict(rtol=1e-15, atol=0)
    np.testing.assert_allclose(ys.astype(dtype), y, equal_nan=True, err_msg=name, **tol)
    np.testing.assert_allclose(ds.astype(dtype), d, equal_nan=True, err_msg=name,
                               **DTOL[dtype])


@pytest.mark.parametrize("name", NAMES)
def test_huge_inputs_are_finite_and_silent(name):
    import warnings

    x = np.array([-1e30, -1e4, 0.0, 1e4, 1e30])
    act = activations.get(name)
    for dtype in ("float32", "float64"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with np.errstate(all="raise"):
                y, d = act(x.astype(dtype)), act.derivative(x.astype(dtype))
        assert np.isfinite(y).all() and np.isfinite(d).all(), (name, dtype)


def test_names_and_aliases():
    assert activations.get("silu") is activations.get("swish")
    assert activations.get(None).name == "linear"
    assert activations.get(activations.get("tanh")).name == "tanh"
    from keras_oracle import require_keras

    keras = require_keras()
    assert activations.get(keras.activations.tanh).name == "tanh"
    ids = [activations.get(n).id for n in NAMES if n != "silu"]
    assert len(set(ids)) == len(ids)
