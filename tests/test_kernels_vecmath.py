"""The whole-array float32 tanh/sigmoid (lstm_np/kernels/vecmath.py) against float64.

Same bounds as tests/test_kernels_lstm.py::test_fast_math_error gives the scalar functions
(tanh 3.9e-7, sigmoid 2.3e-7 absolute, from the rational function and its clamp), here
over every tail length (masked lanes) and in place or not.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from lstm_np.kernels import vecmath
from lstm_np.kernels.fastmath import tanh32


@njit(error_model="numpy")  # not cached: a cached caller would keep a stale inlined kernel
def _apply(src, dst, s, a, b):
    vecmath.tanh_affine(src, dst, s, a, b)


@pytest.mark.skipif(not vecmath.AVAILABLE, reason="no AVX-512: the cells use fastmath's loops")
@pytest.mark.parametrize("n", list(range(0, 34)) + [1000])
def test_every_tail_length(n):
    x = np.linspace(-9, 9, n).astype(np.float32)
    guard = np.full(n + 16, 7.0, np.float32)  # a masked tail must not write past n
    _apply(x, guard[:n], 1.0, 0.0, 1.0)
    np.testing.assert_array_equal(guard[n:], 7.0)
    np.testing.assert_allclose(guard[:n], np.tanh(x.astype(np.float64)), rtol=0, atol=4e-7)


@pytest.mark.parametrize("kind", ["tanh", "sigmoid"])
def test_error_against_float64(kind):
    x = np.linspace(-30, 30, 2_000_003).astype(np.float32)
    if not vecmath.AVAILABLE:
        pytest.skip("no AVX-512: the cells use fastmath's loops")
    y = x.copy()
    if kind == "tanh":
        _apply(y, y, 1.0, 0.0, 1.0)  # in place, as the cells call it
        want, bound = np.tanh(x.astype(np.float64)), 3.9e-7
    else:
        _apply(y, y, 0.5, 0.5, 0.5)
        want, bound = 1.0 / (1.0 + np.exp(-x.astype(np.float64))), 2.3e-7
    err = np.abs(y - want).max()
    assert err <= bound, f"{kind}: max error {err:.2e} > {bound:.1e}"


@pytest.mark.skipif(not vecmath.AVAILABLE, reason="no AVX-512")
def test_close_to_the_scalar_function():
    x = np.random.default_rng(0).uniform(-8, 8, 4099).astype(np.float32)
    y = np.empty_like(x)
    _apply(x, y, 1.0, 0.0, 1.0)
    scalar = np.array([tanh32(v) for v in x], np.float32)
    np.testing.assert_allclose(y, scalar, rtol=0, atol=4e-7)  # each within 3.9e-7 of tanh


@pytest.mark.skipif(not vecmath.AVAILABLE, reason="no AVX-512")
def test_nan_stays_nan_and_infinities_saturate():
    x = np.array([np.nan, np.inf, -np.inf, 0.0] * 5, np.float32)  # 20: body and tail
    y = np.empty_like(x)
    _apply(x, y, 1.0, 0.0, 1.0)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(x))
    np.testing.assert_allclose(y[1::4], 1.0, atol=4e-7)
    np.testing.assert_allclose(y[2::4], -1.0, atol=4e-7)


@pytest.mark.skipif(not vecmath.AVAILABLE, reason="no AVX-512")
def test_saturation_is_exact_like_the_scalar_function():
    """tanh(+-clamp) = +-1 and sigmoid(+-big) = 1 / 0 exactly: a saturated gate's derivative
    s (1 - s) is then exactly 0, as in fastmath and in Keras' float32."""
    x = np.array([8.0, 20.0, 1e30, np.inf, -8.0, -1e30, -np.inf] * 3, np.float32)
    y = np.empty_like(x)
    _apply(x, y, 1.0, 0.0, 1.0)
    np.testing.assert_array_equal(y, np.sign(x))
    _apply(x, y, 0.5, 0.5, 0.5)
    big = np.abs(x) >= 16  # sigmoid(x) = 1/2 + tanh(x/2)/2 saturates from |x| = 2 clamp
    np.testing.assert_array_equal(y[big], (x[big] > 0).astype(np.float32))
