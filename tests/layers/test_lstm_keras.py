"""Forward cross-checks of lstm_np.LSTM against live Keras 3 (torch backend).

Hypothesis draws every constructor argument (units, both activations over every name
Keras 3 has, use_bias, unit_forget_bias, return_sequences, return_state, go_backwards,
zero_output_for_mask, stateful, dropout/recurrent_dropout), shapes, initial states and
masks (including fully masked rows); both engines and both dtypes run against one Keras
layer holding the same random non-zero weights (:mod:`keras_oracle`).
Tolerances: ``keras_oracle.TOL`` (the oracle's one table; see ``keras_oracle.assert_close``).

Keras doc: https://keras.io/api/layers/recurrent_layers/lstm/
"""

import numpy as np
import pytest
from keras_oracle import require_keras  # noqa: E402

require_keras()

from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from keras_oracle import (  # noqa: E402
    ENGINES,
    KERAS_NAMES,
    IllConditioned,
    KerasTwin,
    assert_close,
    assert_matches_keras,
    keras_lstm_run,
    random_weights,
)
from strategies import cases, examples, make_states, make_x, random_mask  # noqa: E402

import lstm_np  # noqa: E402

pytestmark = pytest.mark.keras
SETTINGS = settings(max_examples=examples(40), deadline=None)


@SETTINGS
@given(cases())
def test_forward_matches_keras_over_every_argument(case):
    try:
        assert_matches_keras(case.kwargs, case.x, case.initial_state, case.mask, case.dtype,
                             rng=case.rng)
    except IllConditioned:
        assume(False)


@SETTINGS
@given(cases(dropout=True), st.booleans())
def test_dropout_in_training_matches_keras_with_the_same_masks(case, training):
    """training=True: Keras uses our masks (G=1, or G=4 once recurrent_dropout > 0);
    training=False: no dropout at all, on either side."""
    try:
        ours, _ = assert_matches_keras(case.kwargs, case.x, case.initial_state, case.mask,
                                       case.dtype, training=training, rng=case.rng)
    except IllConditioned:
        assume(False)
    dp, rdp = ours["numpy"][1].last_dropout_masks
    if not training:
        assert dp is None and rdp is None
        return
    G = 4 if case.kwargs["recurrent_dropout"] > 0 else 1
    B, _, F = case.shape
    if case.kwargs["dropout"] > 0:
        assert dp.shape == (G, B, F)
        kept = dp != 0
        np.testing.assert_allclose(dp[kept], 1 / (1 - case.kwargs["dropout"]), rtol=1e-6)
    else:
        assert dp is None
    if case.kwargs["recurrent_dropout"] > 0:
        assert rdp.shape == (G, B, case.kwargs["units"])
    else:
        assert rdp is None


@settings(max_examples=examples(25), deadline=None)
@given(cases(stateful=True, dropout=False), st.lists(st.sampled_from(
    ["call", "call", "call", "mask", "override", "reset"]), min_size=6, max_size=9))
def test_stateful_carries_state_over_calls_and_reset_like_keras(case, script):
    """>= 3 consecutive calls, then reset_state, then more calls (plus masked calls and
    initial_state overrides in between, drawn by hypothesis): outputs and stored states
    equal Keras after every call."""
    script = ["call", "call", "call", "reset", *script, "call"]
    B, T, F = case.shape
    twin = KerasTwin(case.kwargs, case.shape, case.dtype, rng=case.rng)
    units = case.kwargs["units"]
    for op in script:
        if op == "reset":
            twin.reset_state()
            for layer in twin.layers.values():
                assert all(not s.any() for s in layer.states)
            continue
        x = make_x(case.rng, B, T, F, case.dtype)
        mask = random_mask(case.rng, B, T, "random") if op == "mask" else None
        init = make_states(case.rng, B, units, case.dtype) if op == "override" else None
        try:
            twin(x, initial_state=init, mask=mask)
        except IllConditioned:
            assume(False)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("engine", ENGINES)
def test_stateful_initial_state_overrides_once_and_state_still_updates(engine, dtype):
    rng = np.random.default_rng(1)
    kwargs = dict(units=3, stateful=True, return_state=True)
    twin = KerasTwin(kwargs, (2, 4, 3), dtype, rng=rng, engines=(engine,))
    twin(make_x(rng, 2, 4, 3, dtype))
    _, ref = twin(make_x(rng, 2, 4, 3, dtype), initial_state=make_states(rng, 2, 3, dtype))
    layer = twin.layers[engine]
    assert_close(layer.states[0], ref.outputs[1], 1e-6, "stored h = returned h")
    twin(make_x(rng, 2, 4, 3, dtype))


@pytest.mark.parametrize("activation", KERAS_NAMES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_keras_activation_name_in_both_slots(activation, dtype):
    rng = np.random.default_rng(abs(hash(activation)) % 2**32)
    x = make_x(rng, 3, 5, 2, dtype, scale=2.0)
    for slot in ("activation", "recurrent_activation"):
        assert_matches_keras({"units": 4, slot: activation, "return_sequences": True}, x,
                             make_states(rng, 3, 4, dtype), dtype=dtype, rng=rng)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_keras_default_initialised_weights_give_keras_outputs(dtype):
    """Keras weights in (its own glorot/orthogonal/unit_forget_bias init), same numbers out."""
    import keras

    rng = np.random.default_rng(7)
    x = make_x(rng, 2, 6, 5, dtype)
    with _floatx(dtype):
        k = keras.layers.LSTM(4, return_sequences=True, dtype=dtype)
        expected = np.asarray(k(x).detach().numpy())
        weights = k.get_weights()
    assert np.all(weights[2][4:8] == 1.0)  # unit_forget_bias
    for engine in ENGINES:
        layer = lstm_np.LSTM(4, return_sequences=True, dtype=dtype, engine=engine)
        layer.build(x.shape)
        layer.set_weights(weights)
        assert_close(layer(x), expected, dtype, engine)


def _floatx(dtype):
    from keras_oracle import keras_precision

    return keras_precision(dtype)


@pytest.mark.parametrize("unit_forget_bias", [True, False])
@pytest.mark.parametrize("bias_initializer", ["zeros", "ones"])
def test_initial_bias_layout_equals_keras(unit_forget_bias, bias_initializer):
    """unit_forget_bias replaces the forget slice with ones (it does not add)."""
    import keras

    k = keras.layers.LSTM(3, unit_forget_bias=unit_forget_bias,
                          bias_initializer=bias_initializer)
    k.build((1, 2, 2))
    ours = lstm_np.LSTM(3, unit_forget_bias=unit_forget_bias,
                        bias_initializer=bias_initializer)
    ours.build((1, 2, 2))
    np.testing.assert_array_equal(ours.get_weights()[2], k.get_weights()[2])


def test_masking_rules_hold_on_a_hand_made_mask():
    """The masked-step rules spelled out: previous output (zeros before the first kept
    step), states carried; zero_output_for_mask gives zeros."""
    rng = np.random.default_rng(3)
    x = make_x(rng, 2, 5, 3, "float64")
    mask = np.array([[0, 1, 0, 1, 1], [0, 0, 0, 0, 0]], bool)
    for zero in (False, True):
        kwargs = dict(units=3, return_sequences=True, return_state=True,
                      zero_output_for_mask=zero)
        init = make_states(rng, 2, 3, "float64")
        ours, ref = assert_matches_keras(kwargs, x, init, mask, rng=rng)
        out, h, c = ours["numpy"][0]
        assert not out[1].any()  # fully masked row: Keras' zeros, not the initial state
        np.testing.assert_array_equal(h[1], init[0][1])  # ... and the states carried
        np.testing.assert_array_equal(c[1], init[1][1])
        expected_step2 = 0 * out[0, 1] if zero else out[0, 1]
        np.testing.assert_array_equal(out[0, 2], expected_step2)
        assert not out[0, 0].any()


@pytest.mark.parametrize("go_backwards", [False, True])
def test_go_backwards_output_order_is_not_flipped_back(go_backwards):
    rng = np.random.default_rng(4)
    x = make_x(rng, 2, 6, 3, "float64")
    ours, _ = assert_matches_keras(dict(units=2, return_sequences=True,
                                        go_backwards=go_backwards), x, rng=rng)
    seq = ours["numpy"][0][0]
    weights = ours["numpy"][1].get_weights()
    first_step_only = keras_lstm_run(dict(units=2), weights, x[:, -1:] if go_backwards
                                     else x[:, :1]).outputs[0]
    np.testing.assert_allclose(seq[:, 0], first_step_only, rtol=1e-12, atol=1e-15)


def test_stock_keras_float64_masked_path_is_only_about_1e7_accurate():
    """Why the oracle keeps float64 matmuls in float64 (keras_oracle module doc): stock
    Keras on torch runs the masked loop's matmuls in float32."""
    rng = np.random.default_rng(5)
    x = make_x(rng, 3, 8, 4, "float64")
    mask = random_mask(rng, 3, 8, "random")
    kwargs = dict(units=4, return_sequences=True)
    w = random_weights(rng, 4, 4)
    exact = keras_lstm_run(kwargs, w, x, mask=mask).outputs[0]
    stock = keras_lstm_run(kwargs, w, x, mask=mask, exact_float64=False).outputs[0]
    err = np.abs(exact - stock).max()
    assert 1e-12 < err < 1e-5
    assert_matches_keras(kwargs, x, mask=mask, weights=w, exact_float64=False, rtol=1e-6)


@pytest.mark.parametrize("engine", ENGINES)
def test_implementation_1_without_recurrent_dropout_uses_per_gate_input_masks(engine):
    """implementation=1 (Keras' split kernels) draws 4 input masks even without recurrent
    dropout. keras.layers.LSTM itself crashes on that combination in training (its fused
    path broadcasts the list of 4 masks), so the oracle is Keras' generic
    RNN(LSTMCell(implementation=1)) loop, the code path of keras/src/layers/rnn/lstm.py
    LSTMCell.call."""
    import keras
    import torch
    from keras_oracle import keras_precision

    rng = np.random.default_rng(6)
    x = make_x(rng, 2, 4, 3, "float64")
    layer = lstm_np.LSTM(3, dropout=0.5, implementation=1, return_sequences=True,
                         dtype="float64", engine=engine, seed=1)
    layer.build(x.shape)
    weights = random_weights(rng, 3, 3)
    layer.set_weights(weights)
    out = layer(x, training=True)
    dp = layer.last_dropout_masks[0]
    assert dp.shape == (4, 2, 3)
    with keras_precision("float64"):
        cell = keras.layers.LSTMCell(3, dropout=0.5, implementation=1, dtype="float64")
        rnn = keras.layers.RNN(cell, return_sequences=True, dtype="float64")
        rnn.build(x.shape)
        rnn.set_weights(weights)
        cell.get_dropout_mask = lambda step_input: [torch.tensor(m) for m in dp]
        expected = rnn(torch.tensor(x), training=True).detach().numpy()
    assert_close(out, expected, 1e-6, engine)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kw", [dict(return_sequences=True),
                                dict(return_state=True, go_backwards=True),
                                dict(return_sequences=True, use_bias=False,
                                     activation="relu", recurrent_activation="hard_sigmoid")])
@pytest.mark.parametrize("shape", [(33, 6, 3, 5), (33, 4, 17, 18)])
def test_batches_of_16_rows_and_more_match_keras(kw, dtype, shape):
    """Batches from 16 rows take the packed-weight kernels (lstm_np/kernels/lstm_wide.py):
    33 rows = padding to the vector width and, with 2+ threads, two row chunks; 17 features
    and 18 units also take the 16 x 16 register-tile copies (float32) and their edges."""
    from lstm_np.kernels import lstm_wide

    B, T, F, H = shape
    rng = np.random.default_rng(33)
    x = rng.standard_normal((B, T, F)).astype(dtype)
    y_shape = (B, T, H) if kw.get("return_sequences") else (B, H)
    dy = rng.standard_normal(y_shape).astype(dtype)
    if kw.get("return_state"):
        dy = [dy, rng.standard_normal((B, H)).astype(dtype),
              rng.standard_normal((B, H)).astype(dtype)]
    states = [rng.standard_normal((B, H)).astype(dtype) for _ in range(2)]  # non-zero h0, c0
    assert_matches_keras(dict(units=H, **kw), x, initial_state=states, dtype=dtype,
                         training=True, dy=dy, rng=rng)
    layer = lstm_np.LSTM(H, engine="numba", dtype=dtype, **kw)  # the path it took
    layer(x, training=True)
    assert isinstance(layer._cache[0].steps, lstm_wide.WideSteps)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("rows", [16, 6])
@pytest.mark.parametrize("kw", [dict(return_sequences=True),
                                dict(return_state=True, go_backwards=True),
                                dict(return_sequences=True, use_bias=False,
                                     activation="relu", recurrent_activation="hard_sigmoid")])
def test_inference_with_units_split_between_threads_matches_keras(kw, rows, dtype,
                                                                   split_units):
    """Inference on one row chunk (16 rows; 6 rows padded to 16) with the hidden units split
    between 3 threads that meet at a barrier every step (lstm_wide._forward_split_units)."""
    rng = np.random.default_rng(rows)
    x = rng.standard_normal((rows, 6, 3)).astype(dtype)
    states = [rng.standard_normal((rows, 7)).astype(dtype) for _ in range(2)]
    assert_matches_keras(dict(units=7, **kw), x, initial_state=states, dtype=dtype, rng=rng)
    assert 3 in split_units  # the numba engine took the split path
