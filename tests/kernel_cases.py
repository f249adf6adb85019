"""Cases and comparisons shared by the LSTM kernel tests (tests/kernels/test_kernels_lstm.py,
test_kernels_lstm_wide.py, test_kernels_gru_wide.py): random inputs, weights, states, masks
and dropout masks; one forward + BPTT run on an engine; the comparison of two runs.

Tolerances ``TOL[(dtype, fast_math)]``: float64 1e-12 (relative to the largest magnitude);
float32 exact path (``LSTM_NP_FAST_MATH=0``) 1e-6; float32 fast path 1e-5 (its tanh/sigmoid
are within 3.9e-7/2.3e-7 of float64, see ``test_fast_math_error``).
"""

from __future__ import annotations

import numpy as np

from lstm_np.layers.engine import lstm_backward, lstm_forward

TOL = {("float64", True): 1e-12, ("float64", False): 1e-12,
       ("float32", False): 1e-6, ("float32", True): 1e-5}


def lstm_case(dt, B, T, F, H, mask, dp, rdp, seed=0):
    rng = np.random.default_rng(seed)
    arr = lambda *s, scale=0.5: (rng.standard_normal(s) * scale).astype(dt)  # noqa: E731
    m = None
    if mask:
        m = rng.random((B, T)) > 0.35
        m[0, :2] = False  # a row that starts masked: outputs zeros, not the initial state
    dpm = None if not dp else ((rng.random((dp, B, F)) > 0.3) / 0.7).astype(dt)
    rdpm = None if not rdp else ((rng.random((rdp, B, H)) > 0.3) / 0.7).astype(dt)
    return dict(x=arr(B, T, F, scale=1.0), W=arr(F, 4 * H), U=arr(H, 4 * H), b=arr(4 * H),
                h0=arr(B, H), c0=arr(B, H), mask=m, dp=dpm, rdp=rdpm,
                d_out=arr(B, T, H, scale=1.0), dh=arr(B, H, scale=1.0), dc=arr(B, H, scale=1.0))


def run_lstm(c, engine, use_bias=True, **kw):
    out, (h, c_T), cache = lstm_forward(
        c["x"], c["W"], c["U"], c["b"] if use_bias else None, c["h0"], c["c0"], mask=c["mask"],
        dropout_mask=c["dp"], recurrent_dropout_mask=c["rdp"], engine=engine, **kw)
    dx, grads, (dh0, dc0) = lstm_backward(c["d_out"], c["dh"], c["dc"], cache)
    return [out, h, c_T, dx, *grads, dh0, dc0]


def assert_lstm_close(got, want, tol):
    names = ["outputs", "h_T", "c_T", "dx", "dW", "dU", "db", "dh0", "dc0"]
    if len(got) == 8:
        names.remove("db")
    for name, g, w in zip(names, got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape, name
        err = np.abs(g.astype(np.float64) - w).max() / max(1.0, np.abs(w).max())
        assert err < tol, f"{name}: relative error {err:.2e} > {tol:.0e}"
