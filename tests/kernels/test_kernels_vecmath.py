"""The whole-array float32 tanh/sigmoid and the one-pass LSTM step
(lstm_np/kernels/vecmath.py) against float64 and against each other.

Bounds: tanh 2.9e-7, sigmoid 1.8e-7 absolute (the scalar functions of fastmath.py:
3.9e-7 and 2.3e-7, tests/kernels/test_kernels_lstm.py::test_fast_math_error), over every tail
length (masked lanes) and in place or not.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from numba.core import config as numba_config

from lstm_np.kernels import vecmath
from lstm_np.kernels.fastmath import tanh32

# Compiled, the vector code's bounds; as Python (NUMBA_DISABLE_JIT) its twin is the scalar
# function, with the scalar bounds.
_TANH_BOUND, _SIGMOID_BOUND = (3.9e-7, 2.3e-7) if numba_config.DISABLE_JIT else (2.9e-7, 1.8e-7)


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
    np.testing.assert_allclose(guard[:n], np.tanh(x.astype(np.float64)), rtol=0,
                               atol=_TANH_BOUND)


@pytest.mark.parametrize("kind", ["tanh", "sigmoid"])
def test_error_against_float64(kind):
    x = np.linspace(-30, 30, 2_000_003).astype(np.float32)
    if not vecmath.AVAILABLE:
        pytest.skip("no AVX-512: the cells use fastmath's loops")
    y = x.copy()
    if kind == "tanh":
        _apply(y, y, 1.0, 0.0, 1.0)  # in place, as the cells call it
        want, bound = np.tanh(x.astype(np.float64)), _TANH_BOUND
    else:
        _apply(y, y, 0.5, 0.5, 0.5)
        want, bound = 1.0 / (1.0 + np.exp(-x.astype(np.float64))), _SIGMOID_BOUND
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


@njit(error_model="numpy")
def _cell(z, c_prev, c_new, h_new, cs):
    vecmath.lstm_cell(z, c_prev, c_new, h_new, cs)


@njit(error_model="numpy")
def _cell_in_passes(z, c_prev, c_new, h_new, cs):
    """The same step as separate tanh_affine passes and plain loops."""
    n = c_prev.shape[0]
    vecmath.tanh_affine(z[:2 * n], z[:2 * n], 0.5, 0.5, 0.5)
    vecmath.tanh_affine(z[2 * n:3 * n], z[2 * n:3 * n], 1.0, 0.0, 1.0)
    vecmath.tanh_affine(z[3 * n:], z[3 * n:], 0.5, 0.5, 0.5)
    for e in range(n):
        c_new[e] = z[n + e] * c_prev[e] + z[e] * z[2 * n + e]
    vecmath.tanh_affine(c_new, cs, 1.0, 0.0, 1.0)
    for e in range(n):
        h_new[e] = z[3 * n + e] * cs[e]


def _cell_float64(z, c_prev):
    n = c_prev.shape[0]
    z = z.astype(np.float64)
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    i, f, g, o = sig(z[:n]), sig(z[n:2 * n]), np.tanh(z[2 * n:3 * n]), sig(z[3 * n:])
    c = f * c_prev + i * g
    return np.concatenate([i, f, g, o]), c, np.tanh(c), o * np.tanh(c)


@pytest.mark.skipif(not vecmath.AVAILABLE, reason="no AVX-512: the cells use fastmath's loops")
@pytest.mark.parametrize("n", [1, 5, 15, 16, 17, 33, 1024, 1031])
def test_lstm_cell_is_the_step_in_passes_bit_for_bit_and_close_to_float64(n):
    rng = np.random.default_rng(n)
    z0 = (rng.standard_normal(4 * n) * 4).astype(np.float32)
    z0[::7] = 1e4  # saturated gates too
    c_prev = (rng.standard_normal(n) * 3).astype(np.float32)
    got, want = [], []
    for fn, res in ((_cell, got), (_cell_in_passes, want)):
        z = z0.copy()
        guard = np.full((3, n + 16), 7.0, np.float32)  # the masked tail must not write past n
        fn(z, c_prev, guard[0, :n], guard[1, :n], guard[2, :n])
        np.testing.assert_array_equal(guard[:, n:], 7.0)
        res.extend([z, guard[0, :n], guard[1, :n], guard[2, :n]])  # gates, c, h, tanh(c)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    gates, c, tc, h = _cell_float64(z0, c_prev.astype(np.float64))
    np.testing.assert_allclose(got[0], gates, rtol=0, atol=3e-7)
    np.testing.assert_allclose(got[1], c, rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(got[3], tc, rtol=0, atol=2e-6)
    np.testing.assert_allclose(got[2], h, rtol=0, atol=2e-6)
    sat = z0[:n] == 1e4
    assert np.all(got[0][:n][sat] == 1.0)  # sigmoid of a huge input: exactly 1
