"""engine="numba" equals engine="numpy", forward and backward (no Keras needed).

Tolerances: 1e-6 in float32, 1e-12 in float64, relative, with the same fraction
of the largest value as the absolute floor. Configurations over every argument are drawn
by hypothesis; the two layers share weights and seed (so the same dropout masks).
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import cases, examples, make_x, random_dy

import lstm_np
from lstm_np.layers.engine import lstm_backward, lstm_forward

TOL = {"float32": 1e-6, "float64": 1e-12}
#: Activations bounded to [-1, 1] or [0, 1]. With an unbounded activation (linear, relu,
#: elu, softplus, swish) in either slot, gates can exceed 1 or the cell grows, and every
#: step amplifies float32 rounding, so that the two engines' different rounding (NumPy
#: rounds every op to float32, the Numba sweep keeps scalar gate maths in float64 and
#: rounds on store) reaches a few 1e-6 over a few dozen steps. Bounded configurations
#: (Keras' defaults among them) stay within 1e-6.
BOUNDED = ("sigmoid", "hard_sigmoid", "hard_sigmoid_keras2", "tanh", "softsign")
UNBOUNDED_TOL32 = 2e-5
#: float32 beyond this magnitude is ill-conditioned (rounding amplified by the growth;
#: the Numba kernel keeps scalar gate maths in float64 and rounds on store).
MAX_ABS32 = 1e2


def _top(b):
    b = np.asarray(b, np.float64)
    return np.abs(b[np.isfinite(b)]).max(initial=0.0)


def close(a, b, dtype, what, top=None, tol=None):
    """Within TOL relative, plus TOL times ``top`` (default: max(largest |b|, 1): the
    gates and states that make an output are O(1), so an output that is a small
    difference of them carries their float32 rounding, ~1e-8 absolute)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    top = max(_top(b), 1.0) if top is None else top
    tol = TOL[dtype] if tol is None else tol
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(top, 1e-30),
                               equal_nan=True, err_msg=what)


def pair(case, training):
    layers = {}
    for engine in ("numpy", "numba"):
        layer = lstm_np.LSTM(dtype=case.dtype, engine=engine, seed=123, **case.kwargs)
        layer.build(case.shape)
        layers[engine] = layer
    rng = np.random.default_rng(0)
    weights = [w + rng.uniform(-0.5, 0.5, w.shape).astype(case.dtype)
               for w in layers["numpy"].get_weights()]
    for layer in layers.values():
        layer.set_weights(weights)
    return layers


def run_both(layers, x, dtype, init=None, mask=None, dy=None):
    outs = {}
    for engine, layer in layers.items():
        out = layer(x, initial_state=init, mask=mask, training=dy is not None)
        outs[engine] = [np.asarray(o) for o in (out if isinstance(out, list) else [out])]
    # Overflowed outputs: the order of operations decides inf vs NaN; skip those.
    limit = MAX_ABS32 if dtype == "float32" else np.inf  # see MAX_ABS32
    assume(all(np.isfinite(o).all() and np.abs(o).max(initial=0) < limit
               for o in outs["numpy"]))
    ref = layers["numpy"]
    bounded = {ref.activation.name, ref.recurrent_activation.name} <= set(BOUNDED)
    tol = TOL[dtype] if dtype == "float64" or bounded else UNBOUNDED_TOL32
    for i, (a, b) in enumerate(zip(outs["numba"], outs["numpy"], strict=True)):
        assert a.dtype == b.dtype == np.dtype(dtype)
        close(a, b, dtype, f"output {i}", tol=tol)
    if layers["numpy"].stateful:
        for a, b in zip(layers["numba"].states, layers["numpy"].states, strict=True):
            close(a, b, dtype, "stored state", tol=tol)
    if dy is not None:
        # Gradients: relative to the largest gradient of the call. In
        # float32 an array of small entries (a cancellation residue) can differ by ~1e-5 of
        # its own size: the NumPy engine rounds every op to float32 while the Numba sweep
        # keeps its scalar gate maths in float64 and rounds on store.
        dx = {e: layer.backward(dy) for e, layer in layers.items()}
        nb, np_ = layers["numba"], layers["numpy"]
        names = ["x", *nb.weight_names, "h0", "c0"]
        ours = [dx["numba"], *nb.grads, *nb.state_grads]
        ref = [dx["numpy"], *np_.grads, *np_.state_grads]
        # Gradients are sums of products of O(1) gates and states, so their float32
        # rounding is ~1e-7 absolute however small the gradients themselves are.
        top = max(max(_top(r) for r in ref), 1.0)
        for name, a, b in zip(names, ours, ref, strict=True):
            close(a, b, dtype, f"d{name}", top=top, tol=tol)


@settings(max_examples=examples(120), deadline=None)
@given(cases(with_dy=True, max_units=7, max_batch=4, max_steps=8, max_features=5),
       st.booleans())
def test_numba_equals_numpy_forward_and_backward(case, with_backward):
    layers = pair(case, with_backward)
    run_both(layers, case.x, case.dtype, case.initial_state, case.mask,
             case.dy if with_backward else None)


@settings(max_examples=examples(80), deadline=None)
@given(cases(with_dy=True, dropout=True))
def test_numba_equals_numpy_with_dropout(case):
    layers = pair(case, True)
    run_both(layers, case.x, case.dtype, case.initial_state, case.mask, case.dy)
    dp = [layer.last_dropout_masks for layer in layers.values()]
    for a, b in zip(*dp, strict=True):
        assert (a is None and b is None) or np.array_equal(a, b)


@settings(max_examples=examples(50), deadline=None)
@given(cases(with_dy=True, stateful=True), st.integers(4, 6))
def test_numba_equals_numpy_stateful_calls(case, n_calls):
    layers = pair(case, True)
    B, T, F = case.shape
    for k in range(n_calls):
        if k == 3:
            for layer in layers.values():
                layer.reset_state()
        x = make_x(case.rng, B, T, F, case.dtype)
        run_both(layers, x, case.dtype, mask=case.mask,
                 dy=random_dy(case.rng, case.kwargs, B, T, case.dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_functional_core_engines_agree_on_a_larger_case(dtype):
    """B=16, T=20, F=8, H=32 with mask and per-gate dropout masks: the sizes where the
    hoisted GEMMs and the compiled sweep really differ from the step-by-step reference."""
    rng = np.random.default_rng(9)
    B, T, F, H = 16, 20, 8, 32
    args = dict(x=rng.normal(size=(B, T, F)).astype(dtype),
                kernel=rng.uniform(-0.3, 0.3, (F, 4 * H)).astype(dtype),
                recurrent_kernel=rng.uniform(-0.3, 0.3, (H, 4 * H)).astype(dtype),
                bias=rng.uniform(-0.3, 0.3, 4 * H).astype(dtype),
                h0=rng.uniform(-1, 1, (B, H)).astype(dtype),
                c0=rng.uniform(-1, 1, (B, H)).astype(dtype),
                mask=rng.random((B, T)) < 0.8,
                dropout_mask=((rng.random((4, B, F)) > 0.2) / 0.8).astype(dtype),
                recurrent_dropout_mask=((rng.random((4, B, H)) > 0.3) / 0.7).astype(dtype))
    d_out = rng.normal(size=(B, T, H)).astype(dtype)
    dh, dc = (rng.normal(size=(B, H)).astype(dtype) for _ in range(2))
    res = {}
    for engine in ("numpy", "numba"):
        outputs, (h, c), cache = lstm_forward(**args, engine=engine)
        dx, grads, (dh0, dc0) = lstm_backward(d_out, dh, dc, cache)
        res[engine] = [outputs, h, c, dx, *grads, dh0, dc0]
    for i, (a, b) in enumerate(zip(res["numba"], res["numpy"], strict=True)):
        assert a.dtype == np.dtype(dtype), i
        close(a, b, dtype, f"result {i}")
