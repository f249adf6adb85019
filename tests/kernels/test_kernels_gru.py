"""The Numba GRU kernels against the NumPy engine: forward, BPTT, masks, dropout, both
``reset_after`` variants, one chunk and threaded row chunks.

Tolerances (relative to the largest magnitude) as for the LSTM kernels: float64 1e-12;
float32 exact path (``LSTM_NP_FAST_MATH=0``) 1e-6; float32 fast path 1e-5 (vectorised
tanh/sigmoid within 3.9e-7/2.3e-7, see ``tests/kernels/test_kernels_lstm.py``).
"""

from __future__ import annotations

import numpy as np
import pytest

from lstm_np.layers.engine import gru_backward, gru_forward

TOL = {("float64", True): 1e-12, ("float64", False): 1e-12,
       ("float32", False): 1e-6, ("float32", True): 1e-5}
NAMES = ["outputs", "h_T", "dx", "dW", "dU", "db", "dh0"]


def _run(engine, dt, B, T, F, H, reset_after, mask, drop, zero_out, keep=True, seed=0):
    rng = np.random.default_rng(seed)
    arr = lambda *s, scale=0.5: (rng.standard_normal(s) * scale).astype(dt)  # noqa: E731
    m = None
    if mask:
        m = rng.random((B, T)) > 0.35
        m[0, :2] = False  # a row that starts masked: outputs zeros, not the initial state
    dpm = None if not drop else ((rng.random((3, B, F)) > 0.3) / 0.7).astype(dt)
    rdpm = None if not drop else ((rng.random((3, B, H)) > 0.3) / 0.7).astype(dt)
    b = arr(2, 3 * H) if reset_after else arr(3 * H)
    x, W, U, h0 = arr(B, T, F, scale=1.0), arr(F, 3 * H), arr(H, 3 * H), arr(B, H)
    d_out, dh = arr(B, T, H, scale=1.0), arr(B, H, scale=1.0)
    out, h, cache = gru_forward(x, W, U, b, h0, reset_after=reset_after, mask=m,
                                zero_output_for_mask=zero_out, dropout_mask=dpm,
                                recurrent_dropout_mask=rdpm, engine=engine, keep=keep)
    if not keep:
        return [out, h]
    dx, grads, dh0 = gru_backward(d_out, dh, cache)
    db = np.concatenate([g.ravel() for g in grads[2:] if g is not None])
    return [out, h, dx, grads[0], grads[1], db, dh0]


def _assert_close(got, want, tol):
    for name, g, w in zip(NAMES, got, want, strict=False):
        assert g.dtype == w.dtype and g.shape == w.shape, name
        err = np.abs(g.astype(np.float64) - w).max() / max(1.0, np.abs(w).max())
        assert err < tol, f"{name}: relative error {err:.2e} > {tol:.0e}"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("B,mask,drop,zero_out", [
    (1, False, False, False), (7, False, False, False), (7, True, False, False),
    (7, True, True, True), (6, False, True, False)])
def test_numba_matches_numpy(dtype, reset_after, B, mask, drop, zero_out, fast, chunking):
    kw = dict(dt=dtype, B=B, T=5, F=3, H=4, reset_after=reset_after, mask=mask, drop=drop,
              zero_out=zero_out)
    _assert_close(_run("numba", **kw), _run("numpy", **kw), TOL[(dtype, fast)])


@pytest.mark.parametrize("reset_after", [True, False])
def test_inference_path_matches_training_path(reset_after, chunking):
    """keep=False (no training cache) must give the very same outputs as keep=True."""
    kw = dict(dt="float32", B=9, T=6, F=3, H=5, reset_after=reset_after, mask=True,
              drop=False, zero_out=False)
    for got, want in zip(_run("numba", keep=False, **kw), _run("numba", **kw)[:2],
                         strict=True):
        np.testing.assert_array_equal(got, want)


def test_wide_layer_uses_blas_and_matches(fast):
    """A size where every product takes the BLAS branch (not the small-loop fallback)."""
    kw = dict(dt="float32", B=40, T=4, F=24, H=48, reset_after=True, mask=True, drop=False,
              zero_out=False)
    _assert_close(_run("numba", **kw), _run("numpy", **kw), TOL[("float32", fast)])
