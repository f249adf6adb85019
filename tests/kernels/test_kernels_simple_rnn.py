"""The Numba SimpleRNN kernels against the NumPy engine: forward, BPTT, masks, dropout.

Tolerances (relative to the largest magnitude): float64 1e-12; float32 exact path
(``LSTM_NP_FAST_MATH=0``) 5e-6, not the LSTM's 1e-6: the kernel rounds libm's float64 tanh
while NumPy's float32 tanh is itself ~1 ulp off (2.3e-6 measured on the 40x48 case);
float32 fast path
(vectorised tanh, within 3.9e-7 of float64) 1e-5.
"""

from __future__ import annotations

import numpy as np
import pytest

from lstm_np.layers.engine import simple_rnn_backward, simple_rnn_forward

TOL = {("float64", True): 1e-12, ("float64", False): 1e-12,
       ("float32", False): 5e-6, ("float32", True): 1e-5}
NAMES = ["outputs", "h_T", "dx", "dW", "dU", "db", "dh0"]


def _run(engine, dt, B, T, F, H, mask, drop, zero_out, activation="tanh", keep=True, seed=0):
    rng = np.random.default_rng(seed)
    arr = lambda *s, scale=0.5: (rng.standard_normal(s) * scale).astype(dt)  # noqa: E731
    m = None
    if mask:
        m = rng.random((B, T)) > 0.35
        m[0, :2] = False  # a row that starts masked: outputs zeros, not the initial state
    dpm = None if not drop else ((rng.random((1, B, F)) > 0.3) / 0.7).astype(dt)
    rdpm = None if not drop else ((rng.random((1, B, H)) > 0.3) / 0.7).astype(dt)
    x, W, U, b, h0 = arr(B, T, F, scale=1.0), arr(F, H), arr(H, H), arr(H), arr(B, H)
    d_out, dh = arr(B, T, H, scale=1.0), arr(B, H, scale=1.0)
    out, h, cache = simple_rnn_forward(x, W, U, b, h0, mask=m, activation=activation,
                                       zero_output_for_mask=zero_out, dropout_mask=dpm,
                                       recurrent_dropout_mask=rdpm, engine=engine, keep=keep)
    if not keep:
        return [out, h]
    dx, grads, dh0 = simple_rnn_backward(d_out, dh, cache)
    return [out, h, dx, *grads, dh0]


def _assert_close(got, want, tol):
    assert len(got) == len(want)
    for name, g, w in zip(NAMES, got, want, strict=False):
        assert g.dtype == w.dtype and g.shape == w.shape, name
        err = np.abs(g.astype(np.float64) - w).max() / max(1.0, np.abs(w).max())
        assert err < tol, f"{name}: relative error {err:.2e} > {tol:.0e}"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("B,H,mask,drop,zero_out", [
    (1, 4, False, False, False), (7, 4, True, False, False), (7, 4, True, True, True),
    (40, 48, True, False, False)])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_numba_matches_numpy(dtype, B, H, mask, drop, zero_out, activation, fast):
    kw = dict(dt=dtype, B=B, T=5, F=3, H=H, mask=mask, drop=drop, zero_out=zero_out,
              activation=activation)
    _assert_close(_run("numba", **kw), _run("numpy", **kw), TOL[(dtype, fast)])


def test_inference_path_matches_training_path():
    """keep=False (no training cache) must give the very same outputs as keep=True."""
    kw = dict(dt="float32", B=9, T=6, F=3, H=5, mask=True, drop=False, zero_out=False)
    for got, want in zip(_run("numba", keep=False, **kw), _run("numba", **kw)[:2],
                         strict=True):
        np.testing.assert_array_equal(got, want)
