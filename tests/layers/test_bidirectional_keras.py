"""Bidirectional vs Keras 3 (torch backend) around GRU, SimpleRNN and LSTM: every merge mode,
return_sequences/return_state, initial_state halves, masks, dropout, stateful, a given
backward_layer; forward and gradients, both engines, both dtypes."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keras_oracle import assert_close, build_pair, require_keras, run_and_compare
from strategies import random_mask

import lstm_np

keras = require_keras()

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

cases = st.fixed_dictionaries(dict(
    kind=st.sampled_from(["GRU", "SimpleRNN", "LSTM"]),
    dtype=st.sampled_from(["float32", "float64"]),
    engine=st.sampled_from(["numpy", "numba"]),
    shape=st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 4), st.integers(1, 4)),
    merge_mode=st.sampled_from(["concat", "sum", "mul", "ave", None]),
    return_sequences=st.booleans(),
    return_state=st.booleans(),
    reset_after=st.booleans(),
    dropout=st.sampled_from([0.0, 0.0, 0.3]),
    recurrent_dropout=st.sampled_from([0.0, 0.0, 0.4]),
    masked=st.booleans(),
    initial_state=st.booleans(),
    own_backward_layer=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
))

N_STATES = {"GRU": 1, "SimpleRNN": 1, "LSTM": 2}


def inner_kwargs(case, units, **extra):
    kw = dict(return_sequences=case["return_sequences"], return_state=case["return_state"],
              dropout=case["dropout"], recurrent_dropout=case["recurrent_dropout"])
    if case["kind"] == "GRU":
        kw["reset_after"] = case["reset_after"]
    kw.update(extra)
    return units, kw


def make(case, **extra):
    B, T, F, H = case["shape"]
    kind, dtype = case["kind"], case["dtype"]
    ours_cls, keras_cls = getattr(lstm_np, kind), getattr(keras.layers, kind)
    units, kw = inner_kwargs(case, H, **extra)
    ours_bwd = keras_bwd = None
    if case["own_backward_layer"]:
        # A different activation (and, with concat, a different width) for the backward half.
        b_units = H + 1 if case["merge_mode"] == "concat" else H
        b_kw = dict(kw, go_backwards=True, activation="softsign")
        ours_bwd = ours_cls(b_units, dtype=dtype, engine=case["engine"], seed=case["seed"] + 1,
                            **b_kw)
        keras_bwd = keras_cls(b_units, dtype=dtype, **b_kw)
    ours = lstm_np.Bidirectional(
        ours_cls(units, dtype=dtype, engine=case["engine"], seed=case["seed"], **kw),
        merge_mode=case["merge_mode"], backward_layer=ours_bwd)
    theirs = keras.layers.Bidirectional(keras_cls(units, dtype=dtype, **kw),
                                        merge_mode=case["merge_mode"], backward_layer=keras_bwd,
                                        dtype=dtype)
    rng = np.random.default_rng(case["seed"])
    build_pair(ours, theirs, (B, T, F), rng)
    x = rng.normal(size=(B, T, F)).astype(dtype)
    mask = random_mask(rng, B, T, "random") if case["masked"] else None
    states = None
    if case["initial_state"]:
        widths = [H] * N_STATES[kind] + [ours.backward_layer.units] * N_STATES[kind]
        states = [rng.normal(size=(B, w)).astype(dtype) for w in widths]
    return ours, theirs, x, mask, states


@SETTINGS
@given(case=cases)
def test_bidirectional_forward_and_gradients_match_keras(case):
    ours, theirs, x, mask, states = make(case)
    run_and_compare(ours, theirs, x, initial_state=states, mask=mask, seed=case["seed"])


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases)
def test_bidirectional_stateful_three_calls_then_reset_matches_keras(case):
    # return_state off: Keras 3.15's Bidirectional.compute_mask crashes for stateful layers
    # with return_state (it multiplies a generator by 2, keras/src/layers/rnn/bidirectional.py).
    case = dict(case, own_backward_layer=False, return_state=False)
    ours, theirs, x, mask, _ = make(case, stateful=True)
    run_and_compare(ours, theirs, x, mask=mask, calls=3, grads=False)
    ours.reset_state()
    theirs.reset_state()
    assert all(np.all(s == 0) for s in ours.states)
    run_and_compare(ours, theirs, x, mask=mask, calls=2, grads=False)


def test_bidirectional_layout_names_and_shapes_follow_keras():
    ours = lstm_np.Bidirectional(lstm_np.GRU(3, name="enc", return_sequences=True,
                                             return_state=True))
    theirs = keras.layers.Bidirectional(keras.layers.GRU(3, name="enc", return_sequences=True,
                                                         return_state=True))
    out = ours(np.zeros((2, 5, 4)))
    theirs.build((2, 5, 4))
    assert ours.forward_layer.name == "forward_enc" and ours.backward_layer.name == "backward_enc"
    assert ours.backward_layer.go_backwards and not ours.forward_layer.go_backwards
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    assert [o.shape for o in out] == [(2, 5, 6), (2, 3), (2, 3)]
    assert ours.compute_output_shape((2, 5, 4)) == [(2, 5, 6), (2, 3), (2, 3)]
    assert ours.count_params() == theirs.count_params()


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_compute_mask_follows_keras(merge_mode):
    ours = lstm_np.Bidirectional(lstm_np.SimpleRNN(2, return_sequences=True),
                                 merge_mode=merge_mode)
    mask = np.array([[True, False, True]])
    got = ours.compute_mask(None, mask)
    if merge_mode is None:
        assert got[0] is mask and got[1] is mask
    else:
        assert got is mask


def test_bidirectional_weights_argument_and_fresh_copies():
    """``weights=`` sets forward-then-backward weights at build, as Keras' argument does; the
    two halves are fresh copies that share nothing with the wrapped layer."""
    rng = np.random.default_rng(0)
    inner = lstm_np.SimpleRNN(2, return_sequences=True)
    shapes = [(3, 2), (2, 2), (2,)] * 2
    weights = [rng.normal(size=s) for s in shapes]
    bi = lstm_np.Bidirectional(inner, weights=weights, merge_mode="sum")
    x = rng.normal(size=(2, 4, 3))
    y = bi(x)
    for got, want in zip(bi.get_weights(), weights, strict=True):
        np.testing.assert_allclose(got, want.astype("float32"))
    assert not inner.built and bi.forward_layer is not inner
    theirs = keras.layers.Bidirectional(keras.layers.SimpleRNN(2, return_sequences=True),
                                        merge_mode="sum")
    theirs.build(x.shape)
    theirs.set_weights(weights)
    assert_close(y, theirs(x.astype("float32")).detach().numpy(), rtol=1e-7, atol=1e-5)
