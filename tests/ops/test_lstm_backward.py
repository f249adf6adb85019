"""BPTT of lstm_np.LSTM against Keras 3 autograd (torch) and against finite differences.

Autograd: the loss is ``sum(output * dy)`` (plus ``dh``/``dc`` on the returned states
with ``return_state``); Keras' torch autograd gives dx, d(every weight) and d(initial
states); ours gives ``layer.backward(dy)``, ``layer.grads`` and ``layer.state_grads``.
Tolerances (``keras_oracle.TOL``) are relative to the largest gradient of each array:
float32 2e-4, float64 1e-9. The float64 oracle keeps Keras' float64 matmuls in float64
(``keras_oracle`` module doc: stock Keras on torch runs the masked / dropout loop's
matmuls in float32 and is only ~1e-7 accurate there;
:func:`test_stock_keras_masked_float64_gradients_are_looser` shows that and checks stock
Keras at the looser 1e-5 it can meet).

Finite differences: central differences in float64 of the same loss through the
functional core (masks and dropout masks fixed), for x, every weight and both initial
states, on small cases drawn by hypothesis with smooth activations.

Keras doc: https://keras.io/api/layers/recurrent_layers/lstm/
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from naive import lstm_loss, numerical_grad
from strategies import cases, examples, make_states, make_x, random_dy

import lstm_np
from lstm_np.layers.engine import lstm_backward, lstm_forward

SMOOTH = ("tanh", "sigmoid", "linear", "softsign", "elu", "softplus", "swish")


def _keras():
    from keras_oracle import require_keras

    require_keras()
    import keras_oracle

    return keras_oracle


def _check(case, training=False):
    ko = _keras()
    init = case.initial_state
    if init is None and not case.kwargs.get("stateful"):
        init = [np.zeros((case.shape[0], case.kwargs["units"]), case.dtype)] * 2
    try:
        return ko.assert_matches_keras(case.kwargs, case.x, init, case.mask, case.dtype,
                                       training=training, dy=case.dy, rng=case.rng)
    except ko.IllConditioned:
        assume(False)


@pytest.mark.keras
@settings(max_examples=examples(40), deadline=None)
@given(cases(with_dy=True))
def test_gradients_match_keras_autograd_over_every_argument(case):
    """return_sequences on/off, dh/dc arriving through return_state (or not), go_backwards,
    masks (fully masked rows too), initial_state, every activation, both dtypes."""
    _check(case)


@pytest.mark.keras
@settings(max_examples=examples(30), deadline=None)
@given(cases(with_dy=True, dropout=True))
def test_dropout_gradients_use_the_forward_masks_like_keras(case):
    _check(case, training=True)


@pytest.mark.keras
@settings(max_examples=examples(20), deadline=None)
@given(cases(with_dy=True, stateful=True), st.integers(4, 6))
def test_stateful_truncated_bptt_matches_keras_call_by_call(case, n_calls):
    """Each call's gradient stops at that call's (carried) initial state, as in Keras,
    where the stored states are non-trainable variables; state_grads exposes it."""
    ko = _keras()
    B, T, F = case.shape
    twin = ko.KerasTwin(case.kwargs, case.shape, case.dtype, rng=case.rng)
    for k in range(n_calls):
        if k == 3:  # three carried calls, then reset_state, then more
            twin.reset_state()
        x = make_x(case.rng, B, T, F, case.dtype)
        dy = random_dy(case.rng, case.kwargs, B, T, case.dtype)
        try:
            ours, ref = twin(x, mask=case.mask, dy=dy)
        except ko.IllConditioned:
            assume(False)
        assert ref.state_grads is not None
        for _, layer in ours.values():
            assert len(layer.state_grads) == 2


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_stateful_gradient_stops_at_the_carried_state(engine):
    """Changing the weights used in an earlier call cannot change this call's gradient
    except through the carried state's value (truncated BPTT), and state_grads is the
    gradient w.r.t. that carried state: equal to a stateless call given it explicitly."""
    rng = np.random.default_rng(0)
    kw = dict(units=3, return_sequences=True, dtype="float64", engine=engine)
    stateful = lstm_np.LSTM(stateful=True, **kw)
    stateless = lstm_np.LSTM(**kw)
    x1, x2 = make_x(rng, 2, 4, 3, "float64"), make_x(rng, 2, 4, 3, "float64")
    stateful.build(x1.shape)
    stateless.build(x1.shape)
    stateless.set_weights(stateful.get_weights())
    dy = rng.normal(size=(2, 4, 3))
    stateful(x1, training=True)
    carried = stateful.states
    stateful(x2, training=True)
    dx = stateful.backward(dy)
    stateless(x2, initial_state=carried, training=True)
    np.testing.assert_array_equal(dx, stateless.backward(dy))
    for a, b in zip(stateful.state_grads + stateful.grads,
                    stateless.state_grads + stateless.grads, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.keras
@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_stock_keras_masked_float64_gradients_are_looser(engine):
    ko = _keras()
    rng = np.random.default_rng(1)
    x = make_x(rng, 3, 6, 4, "float64")
    mask = rng.random((3, 6)) < 0.6
    kw = dict(units=4, return_sequences=True)
    w = ko.random_weights(rng, 4, 4)
    dy = rng.normal(size=(3, 6, 4))
    init = make_states(rng, 3, 4, "float64")
    exact = ko.keras_lstm_run(kw, w, x, init, mask, dy=dy)
    stock = ko.keras_lstm_run(kw, w, x, init, mask, dy=dy, exact_float64=False)
    assert 1e-13 < np.abs(exact.dx - stock.dx).max() / np.abs(exact.dx).max() < 1e-5
    ko.assert_matches_keras(kw, x, init, mask, dy=dy, weights=w, engines=(engine,),
                            exact_float64=False, grad_rtol=1e-5)


# ----------------------------------------------------------------------------- finite differences


@st.composite
def fd_cases(draw):
    units = draw(st.integers(1, 3))
    B, T, F = draw(st.integers(1, 2)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    use_bias = draw(st.booleans())
    mask = None
    if draw(st.booleans()):
        mask = rng.random((B, T)) < 0.6
    G = draw(st.sampled_from([0, 1, 4]))
    dp = rdp = None
    if G:
        dp = ((rng.random((G, B, F)) > 0.3) / 0.7) if draw(st.booleans()) else None
        rdp = ((rng.random((G, B, units)) > 0.3) / 0.7) if draw(st.booleans()) else None
    args = dict(
        x=rng.normal(size=(B, T, F)),
        kernel=rng.uniform(-0.8, 0.8, (F, 4 * units)),
        recurrent_kernel=rng.uniform(-0.8, 0.8, (units, 4 * units)),
        bias=rng.uniform(-0.8, 0.8, (4 * units,)) if use_bias else None,
        h0=rng.uniform(-1, 1, (B, units)),
        c0=rng.uniform(-1, 1, (B, units)),
        mask=mask,
        activation=draw(st.sampled_from(SMOOTH)),
        recurrent_activation=draw(st.sampled_from(SMOOTH)),
        zero_output_for_mask=draw(st.booleans()),
        dropout_mask=dp,
        recurrent_dropout_mask=rdp,
    )
    d_outputs = rng.normal(size=(B, T, units))
    dh, dc = rng.normal(size=(B, units)), rng.normal(size=(B, units))
    return args, d_outputs, dh, dc


@settings(max_examples=examples(30), deadline=None)
@given(fd_cases(), st.sampled_from(["numpy", "numba"]))
def test_backward_equals_central_finite_differences(case, engine):
    args, d_outputs, dh, dc = case
    _, _, cache = lstm_forward(**args, engine=engine, keep=True)
    dx, grads, (dh0, dc0) = lstm_backward(d_outputs, dh, dc, cache)
    names = ["x", "kernel", "recurrent_kernel"] + (["bias"] if args["bias"] is not None
                                                   else [])
    ours = dict(zip(names, [dx, *grads], strict=True), h0=dh0, c0=dc0)
    for name, analytic in ours.items():
        numeric = numerical_grad(lambda: lstm_loss(args, d_outputs, dh, dc), args[name])
        scale = max(np.abs(numeric).max(), 1e-3)
        np.testing.assert_allclose(analytic, numeric, rtol=0, atol=1e-6 * scale,
                                   err_msg=f"d{name} ({engine})")


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_layer_backward_equals_finite_differences_through_the_layer(engine, go_backwards):
    """The layer's bookkeeping (flip for go_backwards, last output, return_state) around
    the core, checked end to end by finite differences on the layer itself."""
    rng = np.random.default_rng(2)
    layer = lstm_np.LSTM(3, return_state=True, go_backwards=go_backwards, dtype="float64",
                         engine=engine)
    x = make_x(rng, 2, 5, 2, "float64")
    layer.build(x.shape)
    layer.set_weights([w + rng.uniform(-0.3, 0.3, w.shape) for w in layer.get_weights()])
    init = make_states(rng, 2, 3, "float64")
    mask = rng.random((2, 5)) < 0.7
    dy = [rng.normal(size=(2, 3)) for _ in range(3)]

    def loss():
        out = layer(x, initial_state=init, mask=mask)
        return sum(float(np.sum(o * d)) for o, d in zip(out, dy, strict=True))

    layer(x, initial_state=init, mask=mask, training=True)
    dx = layer.backward(dy)
    grads, state_grads = layer.grads, layer.state_grads
    np.testing.assert_allclose(dx, numerical_grad(loss, x), atol=1e-7)
    for w, g in zip(layer.weights, grads, strict=True):
        np.testing.assert_allclose(g, numerical_grad(loss, w), atol=1e-7)
    for s, g in zip(init, state_grads, strict=True):
        np.testing.assert_allclose(g, numerical_grad(loss, s), atol=1e-7)


# ----------------------------------------------------------------------------- contract


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_grads_are_replaced_not_accumulated_and_inference_keeps_nothing(engine):
    rng = np.random.default_rng(3)
    layer = lstm_np.LSTM(2, engine=engine, dtype="float64")
    x = make_x(rng, 2, 3, 2, "float64")
    dy = rng.normal(size=(2, 2))
    layer(x, training=True)
    layer.backward(dy)
    first = [g.copy() for g in layer.grads]
    layer(x, training=True)
    layer.backward(dy)
    for a, b in zip(first, layer.grads, strict=True):
        np.testing.assert_array_equal(a, b)
    layer(x)
    assert layer._cache is None
    layer(x, training=True)
    layer(x, training=False)  # an inference call drops the training cache
    with pytest.raises(RuntimeError, match="training=True"):
        layer.backward(dy)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_no_gradient_leaks_through_masked_steps(engine):
    """A fully masked row gets dx = 0 and passes dh/dc straight to its initial state."""
    rng = np.random.default_rng(4)
    layer = lstm_np.LSTM(3, return_state=True, return_sequences=True, engine=engine,
                         dtype="float64")
    x = make_x(rng, 2, 4, 2, "float64")
    mask = np.array([[1, 0, 1, 1], [0, 0, 0, 0]], bool)
    layer(x, initial_state=make_states(rng, 2, 3, "float64"), mask=mask, training=True)
    dy = [rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 3)), rng.normal(size=(2, 3))]
    dx = layer.backward(dy)
    assert not dx[1].any() and not dx[0, 1].any()
    np.testing.assert_array_equal(layer.state_grads[0][1], dy[1][1])
    np.testing.assert_array_equal(layer.state_grads[1][1], dy[2][1])
