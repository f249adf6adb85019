"""The GRU's wide kernels (lstm_np/kernels/gru_wide.py: reset_after, 16+ rows, no mask, no
dropout) against the NumPy engine: forward, BPTT, padding, chunks, every activation mode.

Tolerances as tests/kernels/test_kernels_lstm.py (relative to the largest magnitude): float64
1e-12, float32 exact 1e-6, fast 1e-5. Each case asserts that the wide kernel ran; the
Keras cross-check is tests/layers/test_gru_keras.py::test_batches_of_16_rows_and_more_match_keras.
"""

from __future__ import annotations

import numpy as np
import pytest
from kernel_cases import TOL

from lstm_np.kernels import lstm as lstm_kernels
from lstm_np.kernels import lstm_wide
from lstm_np.layers.engine import gru_backward, gru_forward


def _case(dtype, B, T, F, H, seed=0, use_bias=True):
    rng = np.random.default_rng(seed)
    a = lambda *s, scale=0.5: (rng.standard_normal(s) * scale).astype(dtype)  # noqa: E731
    return dict(x=a(B, T, F, scale=1.0), W=a(F, 3 * H), U=a(H, 3 * H),
                b=a(2, 3 * H) if use_bias else None, h0=a(B, H), d_out=a(B, T, H, scale=1.0),
                dh=a(B, H, scale=1.0))


def _run(c, engine, **kw):
    out, h, cache = gru_forward(c["x"], c["W"], c["U"], c["b"], c["h0"], engine=engine,
                                keep=True, **kw)
    dx, grads, dh0 = gru_backward(c["d_out"], c["dh"], cache)
    return [out, h, dx, *grads, dh0], cache


def _assert_close(got, want, tol):
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g.dtype == w.dtype and g.shape == w.shape, i
        err = np.abs(g.astype(np.float64) - w).max() / max(1.0, np.abs(w).max())
        assert err < tol, f"result {i}: relative error {err:.2e} > {tol:.0e}"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("B,T,F,H", [(16, 5, 3, 4), (17, 6, 2, 7), (40, 3, 5, 16),
                                     (64, 2, 1, 13), (33, 1, 4, 3)])
def test_wide_gru_numba_matches_numpy(dtype, B, T, F, H, math_mode, wide_chunks):  # noqa: F811
    c = _case(dtype, B, T, F, H, seed=B)
    got, cache = _run(c, "numba")
    assert isinstance(cache.steps, lstm_wide.WideSteps)
    _assert_close(got, _run(c, "numpy")[0], TOL[(dtype, math_mode)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act,ract", [("relu", "hard_sigmoid"), ("softsign", "sigmoid"),
                                      ("tanh", "hard_sigmoid_keras2")])
def test_wide_gru_generic_activations_no_bias(dtype, act, ract, wide_chunks):  # noqa: F811
    c = _case(dtype, 21, 5, 3, 6, seed=5, use_bias=False)
    kw = dict(activation=act, recurrent_activation=ract)
    _assert_close(_run(c, "numba", **kw)[0], _run(c, "numpy", **kw)[0], TOL[(dtype, False)])


def test_other_gru_calls_keep_the_row_kernel():
    c = _case("float32", lstm_kernels.WIDE_MIN_ROWS - 1, 3, 2, 4)
    assert not isinstance(_run(c, "numba")[1].steps, lstm_wide.WideSteps)
    c = _case("float32", 20, 3, 2, 4)
    c["b"] = c["b"][0]  # reset_after=False: bias (3H,)
    out, h, cache = gru_forward(c["x"], c["W"], c["U"], c["b"], c["h0"], reset_after=False,
                                engine="numba", keep=True)
    assert not isinstance(cache.steps, lstm_wide.WideSteps)


def test_wide_gru_padding_never_leaks(wide_chunks):  # noqa: F811
    c = _case("float32", 17, 4, 2, 3, seed=9)
    c["x"][:] = 0.0
    c["h0"][:] = 0.0
    c["b"][:] = 60.0
    kw = dict(activation="relu", recurrent_activation="sigmoid")
    got = _run(c, "numba", **kw)[0]
    assert all(np.isfinite(g).all() for g in got)
    _assert_close(got, _run(c, "numpy", **kw)[0], 1e-5)
