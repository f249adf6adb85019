"""The Numba LSTM kernels against the NumPy engine: forward, BPTT, masks, dropout, layouts.

Tolerances: float64 1e-12 (relative to the largest magnitude); float32 exact path
(``LSTM_NP_FAST_MATH=0``) 1e-6; float32 fast path 1e-5 (its tanh/sigmoid are within
3.9e-7/2.3e-7 of float64, see ``test_fast_math_error``). Every case runs both the single
-chunk path and the threaded multi-chunk path (forced by lowering the thresholds).
"""

from __future__ import annotations

import numpy as np
import pytest
from kernel_cases import TOL, assert_lstm_close, lstm_case, run_lstm

import lstm_np
from lstm_np.kernels import blas, fastmath, threads
from lstm_np.layers.engine import lstm_forward


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("B,T,F,H", [(1, 3, 1, 4), (1, 40, 5, 8), (7, 6, 3, 5), (12, 9, 4, 16)])
@pytest.mark.parametrize("mask,dp,rdp", [(False, 0, 0), (True, 0, 0), (False, 1, 1),
                                         (True, 4, 4), (False, 4, 0), (False, 0, 4)])
def test_numba_matches_numpy(dtype, B, T, F, H, mask, dp, rdp, math_mode, chunking):
    c = lstm_case(dtype, B, T, F, H, mask, dp, rdp)
    want = run_lstm(c, "numpy")
    assert_lstm_close(run_lstm(c, "numba"), want, TOL[(dtype, math_mode)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_zero_output_for_mask_no_bias(dtype, math_mode, chunking):
    c = lstm_case(dtype, 9, 7, 3, 6, True, 0, 0, seed=1)
    kw = dict(zero_output_for_mask=True, use_bias=False)
    assert_lstm_close(run_lstm(c, "numba", **kw), run_lstm(c, "numpy", **kw),
                      TOL[(dtype, math_mode)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act,ract", [("relu", "hard_sigmoid"), ("softsign", "sigmoid"),
                                      ("tanh", "hard_sigmoid_keras2")])
def test_generic_activations(dtype, act, ract, chunking):
    c = lstm_case(dtype, 10, 6, 3, 5, True, 4, 4, seed=2)
    kw = dict(activation=act, recurrent_activation=ract)
    assert_lstm_close(run_lstm(c, "numba", **kw), run_lstm(c, "numpy", **kw), TOL[(dtype, False)])


def test_inference_equals_training_forward(chunking):
    c = lstm_case("float32", 16, 5, 3, 8, True, 0, 0)
    args = (c["x"], c["W"], c["U"], c["b"], c["h0"], c["c0"])
    a = lstm_forward(*args, mask=c["mask"], engine="numba", keep=False)
    b = lstm_forward(*args, mask=c["mask"], engine="numba", keep=True)
    assert a[2] is None and b[2] is not None
    for u, v in zip([a[0], *a[1]], [b[0], *b[1]], strict=True):
        np.testing.assert_array_equal(u, v)


def test_inputs_not_written():
    c = lstm_case("float64", 4, 5, 3, 6, True, 1, 1)
    before = {k: v.copy() for k, v in c.items() if v is not None}
    run_lstm(c, "numba")
    for k, v in before.items():
        np.testing.assert_array_equal(c[k], v, err_msg=k)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kw", [dict(go_backwards=True), dict(return_state=True),
                                dict(go_backwards=True, dropout=0.3, recurrent_dropout=0.2),
                                dict(dropout=0.25)])
def test_layer_numba_matches_numpy(dtype, kw, math_mode):
    """Through the layer: go_backwards, return_state and seeded dropout masks."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 7, 3)).astype(dtype)
    mask = rng.random((5, 7)) > 0.3
    outs, masks = {}, {}
    for engine in ("numpy", "numba"):
        layer = lstm_np.LSTM(6, return_sequences=True, seed=7, engine=engine, dtype=dtype, **kw)
        y = layer(x, mask=mask, training=True)
        y0 = y[0] if kw.get("return_state") else y
        dy = np.ones_like(y0) * np.linspace(-1, 1, y0.size).reshape(y0.shape).astype(dtype)
        dx = layer.backward([dy, None, None] if kw.get("return_state") else dy)
        outs[engine] = [y0, dx, *layer.grads, *layer.state_grads]
        masks[engine] = layer.last_dropout_masks
    for a, b in zip(*masks.values(), strict=True):  # same seed, same masks: the comparison is fair
        assert (a is None and b is None) or np.array_equal(a, b)
    tol = TOL[(dtype, math_mode)]
    for g, w in zip(outs["numba"], outs["numpy"], strict=True):
        assert np.abs(g - w).max() / max(1.0, np.abs(w).max()) < tol


def test_fast_math_error():
    """The documented maximum errors of the float32 approximations, measured again."""
    from numba import njit

    @njit(error_model="numpy")
    def apply(x, t, s):
        for i in range(x.size):
            t[i] = fastmath.tanh32(x[i])
            s[i] = fastmath.sigmoid32(x[i])

    x = np.concatenate([np.linspace(-30, 30, 2_000_001), [-1e30, -88.5, 88.5, 1e30, 0.0]])
    x = x.astype(np.float32)
    t, s = np.empty_like(x), np.empty_like(x)
    apply(x, t, s)
    assert t.dtype == np.float32 and s.dtype == np.float32
    xd = x.astype(np.float64)
    assert np.abs(t - np.tanh(xd)).max() < 4e-7
    assert np.abs(s - 0.5 * (1 + np.tanh(xd / 2))).max() < 2.5e-7
    assert np.all(np.isfinite(t)) and np.all(np.isfinite(s))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("M,N,K", [(3, 4, 5), (1, 16, 4), (20, 30, 40), (64, 33, 17)])
def test_gemm_strided_transposed(dtype, M, N, K):
    rng = np.random.default_rng(0)
    for ta in (False, True):
        for tb in (False, True):
            # Strided row views of larger buffers, as the kernels pass them.
            a = rng.random((2, *((K, M) if ta else (M, K)))).astype(dtype)[1]
            big_b = rng.random((N, 2 * K) if tb else (K, 2 * N)).astype(dtype)
            b = big_b[:, :K] if tb else big_b[:, :N]
            c = np.full((M, 3 * N), np.nan, dtype)[:, N:2 * N]
            want = (a.T if ta else a) @ (b.T if tb else b)
            blas.gemm(a, b, c, ta, tb, np.array([1, 0], dtype))  # beta 0 never reads NaN
            np.testing.assert_allclose(c, want, rtol=1e-5)
            blas.gemm(a, b, c, ta, tb, np.array([2, 0.5], dtype))
            np.testing.assert_allclose(c, 2.5 * want, rtol=1e-5)


def test_threads_restore_blas_setting(monkeypatch):
    if threads._OPENBLAS is None:
        pytest.skip("SciPy's OpenBLAS not found")
    get, put = threads._OPENBLAS
    before = get()
    seen = []
    threads.run(lambda: seen.append(get()), [(), ()])
    assert seen == [1, 1] and get() == before


def test_scratch_buffers_reused_safely(monkeypatch, chunking):
    """Inference and backward reuse big internal buffers between calls: results of one call
    must not change when the next call runs, and must stay right."""
    from lstm_np.kernels import lstm as kernels

    monkeypatch.setattr(kernels, "_SCRATCH_MIN_BYTES", 0)
    c1 = lstm_case("float64", 12, 6, 3, 5, False, 0, 0, seed=4)
    c2 = lstm_case("float64", 12, 6, 3, 5, False, 0, 0, seed=5)
    args = lambda c: (c["x"], c["W"], c["U"], c["b"], c["h0"], c["c0"])  # noqa: E731
    first = lstm_forward(*args(c1), engine="numba", keep=False)
    snapshot = [first[0].copy(), first[1][0].copy()]
    lstm_forward(*args(c2), engine="numba", keep=False)
    np.testing.assert_array_equal(first[0], snapshot[0])
    np.testing.assert_array_equal(first[1][0], snapshot[1])
    want = lstm_forward(*args(c1), engine="numpy", keep=False)
    np.testing.assert_allclose(first[0], want[0], rtol=1e-12, atol=1e-12)
    g1, g2 = run_lstm(c1, "numba"), run_lstm(c2, "numba")
    assert_lstm_close(g1, run_lstm(c1, "numpy"), 1e-12)
    assert_lstm_close(g2, run_lstm(c2, "numpy"), 1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", ["tanh", "softsign"])
def test_nan_in_masked_step_reaches_gradients_like_numpy(dtype, act, chunking):
    """Keras computes a masked step and discards it; autograd then sends 0 * NaN back through
    it. Both engines must agree, NaN for NaN."""
    c = lstm_case(dtype, 10, 6, 3, 5, True, 0, 0, seed=6)
    c["mask"][:] = True
    c["mask"][1, 3] = False
    c["x"][1, 3, 0] = np.nan
    kw = dict(activation=act)
    got, want = run_lstm(c, "numba", **kw), run_lstm(c, "numpy", **kw)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
        ok = ~np.isnan(w)
        np.testing.assert_allclose(g[ok], w[ok], rtol=1e-4, atol=1e-5)
    assert np.isnan(got[3]).any()  # dx: the NaN reached the gradients
