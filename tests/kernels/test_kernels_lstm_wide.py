"""The LSTM's wide kernels (lstm_np/kernels/lstm_wide.py: 16+ rows, no mask, no dropout)
against the NumPy engine: forward, BPTT, padding, chunks, every activation mode.

Tolerances as tests/kernels/test_kernels_lstm.py: float64 1e-12, float32 exact 1e-6, fast 1e-5,
relative to the largest magnitude. Each case asserts that the wide kernel ran (a test of
the other path would pass silently otherwise); its Keras cross-check is in
tests/layers/test_lstm_keras.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from kernel_cases import TOL, assert_lstm_close, lstm_case, run_lstm
from numba import njit

from lstm_np.kernels import lstm as kernels
from lstm_np.kernels import lstm_wide, threads
from lstm_np.layers.engine import lstm_forward


def _is_wide(c):
    cache = lstm_forward(c["x"], c["W"], c["U"], c["b"], c["h0"], c["c0"], engine="numba",
                         keep=True)[2]
    return isinstance(cache.steps, lstm_wide.WideSteps)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("B,T,F,H", [(16, 5, 3, 4), (17, 6, 2, 7), (40, 3, 5, 16),
                                     (64, 2, 1, 13), (33, 1, 4, 3), (35, 3, 33, 20)])
def test_wide_numba_matches_numpy(dtype, B, T, F, H, math_mode, wide_chunks):  # noqa: F811
    c = lstm_case(dtype, B, T, F, H, False, 0, 0, seed=B)
    assert _is_wide(c)
    assert_lstm_close(run_lstm(c, "numba"), run_lstm(c, "numpy"), TOL[(dtype, math_mode)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act,ract", [("relu", "hard_sigmoid"), ("softsign", "sigmoid"),
                                      ("tanh", "hard_sigmoid_keras2")])
def test_wide_generic_activations_no_bias(dtype, act, ract, wide_chunks):
    c = lstm_case(dtype, 21, 5, 3, 6, False, 0, 0, seed=5)
    kw = dict(activation=act, recurrent_activation=ract, use_bias=False)
    assert_lstm_close(run_lstm(c, "numba", **kw), run_lstm(c, "numpy", **kw), TOL[(dtype, False)])


@njit  # not cached: a cached caller would keep a stale inlined helper
def _copies(x, t, xh, s, hn, out):
    lstm_wide._rows_to_columns(x, t, xh, s)
    lstm_wide._columns_to_rows(hn, out, t)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("nb,F,H", [(16, 16, 16), (35, 33, 20), (5, 40, 3), (47, 7, 50)])
def test_row_column_copies_whole_tiles_and_edges(dtype, nb, F, H):
    """The transposing copies (16 x 16 tiles in registers for float32, element loops on the
    edges and for float64) against NumPy: every element once, nothing outside written."""
    rng = np.random.default_rng(nb)
    T, S, nbp = 3, 2, -(-nb // 16) * 16
    x = rng.standard_normal((nb, T, F)).astype(dtype)
    hn = rng.standard_normal((H, nbp)).astype(dtype)
    xh = np.full((F + 5, S, nbp), 7.0, dtype)
    out = np.full((nb, T, H), 7.0, dtype)
    _copies(x, 1, xh, 1, hn, out)
    np.testing.assert_array_equal(xh[:F, 1, :nb], x[:, 1, :].T)
    np.testing.assert_array_equal(xh[:F, 1, nb:], 7.0)  # padding columns: not x's
    np.testing.assert_array_equal(xh[F:], 7.0)
    np.testing.assert_array_equal(xh[:, 0], 7.0)
    np.testing.assert_array_equal(out[:, 1, :], hn[:, :nb].T)
    np.testing.assert_array_equal(out[:, [0, 2], :], 7.0)


def test_below_the_threshold_and_with_a_mask_the_other_kernel_runs():
    c = lstm_case("float32", kernels.WIDE_MIN_ROWS - 1, 3, 2, 4, False, 0, 0)
    assert not _is_wide(c)
    c = lstm_case("float32", 20, 3, 2, 4, True, 0, 0)
    cache = lstm_forward(c["x"], c["W"], c["U"], c["b"], c["h0"], c["c0"], mask=c["mask"],
                         engine="numba", keep=True)[2]
    assert not isinstance(cache.steps, lstm_wide.WideSteps)


def test_padding_never_leaks_even_when_its_rows_overflow(wide_chunks):
    """Padding columns run the recurrence on zeros; with an unbounded activation and huge
    weights they may overflow. Their gradients are zeroed, so dW/dU/db stay finite."""
    c = lstm_case("float32", 17, 4, 2, 3, False, 0, 0, seed=9)
    c["x"][:] = 0.0
    c["h0"][:] = 0.0
    c["c0"][:] = 0.0
    c["b"][:] = 60.0  # relu(60) with forget gates near 1: the cell grows every step
    kw = dict(activation="relu", recurrent_activation="sigmoid")
    got, want = run_lstm(c, "numba", **kw), run_lstm(c, "numpy", **kw)
    assert all(np.isfinite(g).all() for g in got)
    assert_lstm_close(got, want, 1e-5)


def test_wide_inference_equals_training_forward(wide_chunks):
    c = lstm_case("float64", 35, 6, 3, 8, False, 0, 0)
    args = (c["x"], c["W"], c["U"], c["b"], c["h0"], c["c0"])
    a = lstm_forward(*args, engine="numba", keep=False)
    b = lstm_forward(*args, engine="numba", keep=True)
    for u, v in zip([a[0], *a[1]], [b[0], *b[1]], strict=True):
        np.testing.assert_array_equal(u, v)


def test_wide_inputs_not_written():
    c = lstm_case("float64", 24, 5, 3, 6, False, 0, 0)
    before = {k: v.copy() for k, v in c.items() if v is not None}
    run_lstm(c, "numba")
    for k, v in before.items():
        np.testing.assert_array_equal(c[k], v, err_msg=k)


def test_split_aligned_cuts_on_the_padding_unit(monkeypatch):
    monkeypatch.setattr(threads.numba, "get_num_threads", lambda: 2)
    if threads._OPENBLAS is None:
        pytest.skip("SciPy's OpenBLAS not found: the kernels stay serial")
    assert threads.split_aligned(128, 10**9, 16) == [(0, 64), (64, 128)]
    cuts = threads.split_aligned(40, 10**9, 16)  # 3 units of 16 rows over 2 threads
    assert len(cuts) == 2 and cuts[0][0] == 0 and cuts[-1][1] == 40
    assert cuts[0][1] == cuts[1][0] and cuts[0][1] % 16 == 0
    assert threads.split_aligned(16, 10**9, 16) == [(0, 16)]
    assert threads.split_aligned(64, 10, 16) == [(0, 64)]


def _layer_grads(layer, x, dy):
    y = layer(x, training=True)
    dx = layer.backward(dy)
    return [np.array(y), dx, *[np.array(g) for g in layer.grads]]


def test_a_layer_reuses_its_training_buffers_and_each_backward_is_its_own_call():
    """The layer keeps the wide kernel's training buffers between calls (its workspace):
    the gradients of a call equal a fresh layer's, whatever ran before on the layer."""
    import lstm_np

    rng = np.random.default_rng(4)
    xs = [rng.standard_normal((20, 5, 3)).astype("float64") for _ in range(3)]
    dy = rng.standard_normal((20, 5, 6))
    used = lstm_np.LSTM(6, return_sequences=True, seed=1, dtype="float64")
    _layer_grads(used, xs[0], dy)
    used(xs[1], training=True)  # a training call never followed by backward
    held = {k: v for k, v in used._workspace.items()}
    got = _layer_grads(used, xs[2], dy)
    assert held and all(used._workspace[k] is v for k, v in held.items())  # reused
    fresh = lstm_np.LSTM(6, return_sequences=True, seed=1, dtype="float64", engine="numpy")
    want = _layer_grads(fresh, xs[2], dy)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_bidirectional_halves_do_not_share_training_buffers():
    import lstm_np

    rng = np.random.default_rng(5)
    x = rng.standard_normal((18, 4, 3))
    dy = rng.standard_normal((18, 4, 10))
    res = {}
    for engine in ("numba", "numpy"):
        layer = lstm_np.Bidirectional(lstm_np.LSTM(5, return_sequences=True, seed=2,
                                                   dtype="float64", engine=engine))
        res[engine] = _layer_grads(layer, x, dy)
    assert layer.forward_layer._workspace is not layer.backward_layer._workspace
    for g, w in zip(res["numba"], res["numpy"], strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_single_threaded_blas_sets_and_restores_both_openblas():
    """Layer builds run their QR on one BLAS thread, so no OpenBLAS worker is left spinning
    (~0.1 s) on the core a 2-thread kernel call needs next."""
    libs = [lib for lib in (threads._NUMPY_OPENBLAS, threads._OPENBLAS) if lib is not None]
    if not libs:
        pytest.skip("no OpenBLAS found")
    before = [get() for get, _ in libs]
    with threads.single_threaded_blas():
        assert [get() for get, _ in libs] == [1] * len(libs)
    assert [get() for get, _ in libs] == before


# -------------------------------------------------------- one row chunk, units split


def _infer(c, engine, **kw):
    out, (h, c_T), _ = lstm_forward(c["x"], c["W"], c["U"], c["b"], c["h0"], c["c0"],
                                    engine=engine, keep=False, **kw)
    return [out, h, c_T]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("B,T,F,H", [(16, 7, 5, 29), (16, 1, 2, 3), (16, 12, 1, 50)])
def test_units_split_between_threads_match_numpy(dtype, B, T, F, H, math_mode,  # noqa: F811
                                                 split_units):
    """Units not a multiple of the panel height (29 = 9 + 10 + 10 on 3 threads), one unit
    per thread (3), one step, many steps."""
    c = lstm_case(dtype, B, T, F, H, False, 0, 0, seed=H)
    got, want = _infer(c, "numba"), _infer(c, "numpy")
    assert split_units == [3]  # the split path ran, on 3 threads
    for g, w in zip(got, want, strict=True):
        err = np.abs(g.astype(np.float64) - w).max() / max(1.0, np.abs(w).max())
        assert err < TOL[(dtype, math_mode)]


@pytest.mark.parametrize("act,ract", [("relu", "hard_sigmoid"), ("softsign", "sigmoid")])
def test_units_split_generic_activations_no_bias(act, ract, split_units):
    c = lstm_case("float64", 16, 6, 3, 20, False, 0, 0, seed=3)
    kw = dict(activation=act, recurrent_activation=ract)
    got = lstm_forward(c["x"], c["W"], c["U"], None, c["h0"], c["c0"], engine="numba",
                       keep=False, **kw)
    want = lstm_forward(c["x"], c["W"], c["U"], None, c["h0"], c["c0"], engine="numpy", **kw)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[1][1], want[1][1], rtol=1e-12, atol=1e-12)
    assert split_units == [3]


def test_units_split_is_bit_identical_to_one_thread(split_units, monkeypatch):
    """Same products, same cells, only who computes which unit changes."""
    c = lstm_case("float32", 16, 9, 4, 40, False, 0, 0, seed=9)
    split = _infer(c, "numba")
    monkeypatch.setattr(lstm_wide, "UNIT_SPLIT_MIN_STEP_WORK", float("inf"))
    whole = _infer(c, "numba")
    assert split_units == [3]
    for a, b in zip(split, whole, strict=True):
        np.testing.assert_array_equal(a, b)


def test_training_and_two_chunk_calls_do_not_split_units(split_units, monkeypatch):
    c = lstm_case("float32", 16, 4, 3, 8, False, 0, 0)
    run_lstm(c, "numba")  # keep=True: backward needs the usual cache
    monkeypatch.setattr(threads, "MIN_PARALLEL_WORK", 0)
    _infer(lstm_case("float32", 40, 4, 3, 8, False, 0, 0), "numba")  # rows split instead
    assert split_units == []


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_small_batch_inference_with_many_units_runs_split(dtype, split_units):
    """4-15 rows, inference, H past WIDE_SMALL_BATCH_MIN_UNITS: padded to 16 rows, units
    split; training at the same size stays on the row kernel."""
    c = lstm_case(dtype, 5, 6, 3, 12, False, 0, 0, seed=12)
    got, want = _infer(c, "numba"), _infer(c, "numpy")
    assert split_units == [3]
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=0, atol=TOL[(dtype, False)] * 10)
    assert not _is_wide(c)  # keep=True
    assert not _is_wide(lstm_case(dtype, 3, 6, 3, 12, False, 0, 0))  # below 4 rows


def test_barrier_abort_raises_the_failing_threads_error():
    """A kernel thread that raises must not leave the others waiting at the barrier."""
    if threads._OPENBLAS is None or threads.numba_config.DISABLE_JIT:
        pytest.skip("runs serially without SciPy's OpenBLAS or the JIT")
    from numba import njit

    @njit(nogil=True)
    def steps(k, fail_at, counter, abort, n):
        for t in range(5):
            if k == 1 and t == fail_at:
                raise ValueError("thread 1 failed")
            threads.barrier_wait(counter, abort, n * (t + 1))

    bar = threads.Barrier()
    with pytest.raises(ValueError, match="thread 1 failed"):
        bar.run(steps, [(k, 2, bar.counter, bar.abort, 3) for k in range(3)])
    bar = threads.Barrier()  # and without a failure, everyone passes every step
    bar.run(steps, [(k, -1, bar.counter, bar.abort, 3) for k in range(3)])
    assert bar.state[0] == 15
