"""Properties over the public API (hypothesis draws shapes, options and values).

Invariants, each for LSTM, GRU and SimpleRNN on both engines:

* stateful chunks == one long call: a stateful layer fed a sequence in chunks returns, piece
  by piece, what one call on the whole sequence returns;
* go_backwards == reversed input (outputs and input gradients);
* masked steps change nothing: masking a step gives the states that removing it gives;
* save/load round trips are exact: ``model.save`` / ``lstm_np.load_model`` (weights, stored
  states of stateful layers, optimizer slots and iteration count) and ``save_keras`` /
  ``load_keras`` (weights, predictions);
* a save that fails half-way leaves the previous file untouched and no temporary file.

These need no Keras: they check lstm_np against itself. Keras equality of each ingredient is
in the *_keras test files.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lstm_np

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
CELLS = ("LSTM", "GRU", "SimpleRNN")
TOL = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-12, atol=1e-13)}

cases = st.fixed_dictionaries(dict(
    cell=st.sampled_from(CELLS),
    engine=st.sampled_from(("numpy", "numba")),
    dtype=st.sampled_from(("float32", "float64")),
    B=st.integers(1, 3), T=st.integers(1, 7), F=st.integers(1, 4), H=st.integers(1, 4),
    use_bias=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
))


def make(case, **kw):
    """A built layer with random non-zero weights (the same for every call with this case)."""
    layer = getattr(lstm_np, case["cell"])(case["H"], dtype=case["dtype"], engine=case["engine"],
                                           use_bias=case["use_bias"], **kw)
    layer.build((case["B"], case["T"], case["F"]))
    rng = np.random.default_rng(case["seed"])
    layer.set_weights([rng.normal(size=w.shape) * 0.7 for w in layer.get_weights()])
    return layer


def data(case, salt=1):
    rng = np.random.default_rng([case["seed"], salt])
    return rng.normal(size=(case["B"], case["T"], case["F"])).astype(case["dtype"])


def close(a, b, dtype, what=""):
    np.testing.assert_allclose(a, b, err_msg=what, **TOL[dtype])


# ----------------------------------------------------------------------------- stateful
@SETTINGS
@given(case=cases, cuts=st.lists(st.integers(1, 6), min_size=1, max_size=3))
def test_stateful_chunks_equal_one_long_call(case, cuts):
    x = data(case)
    whole, *whole_states = make(case, return_sequences=True, return_state=True)(x)
    stateful = make(case, return_sequences=True, stateful=True)
    bounds = sorted({0, case["T"], *(c for c in cuts if c < case["T"])})
    pieces = [stateful(x[:, a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    close(np.concatenate(pieces, axis=1), whole, case["dtype"], "outputs")
    for s, w in zip(stateful.states, whole_states, strict=True):
        close(s, w, case["dtype"], "carried state")
    stateful.reset_state()
    close(stateful(x[:, :1]), whole[:, :1], case["dtype"], "after reset_state")


# ----------------------------------------------------------------------------- go_backwards
@SETTINGS
@given(case=cases)
def test_go_backwards_equals_reversed_input(case):
    x = data(case)
    back = make(case, return_sequences=True, go_backwards=True)
    fwd = make(case, return_sequences=True)
    y_back = back(x, training=True)
    y_fwd = fwd(np.ascontiguousarray(x[:, ::-1]), training=True)
    close(y_back, y_fwd, case["dtype"], "outputs (not flipped back, as Keras)")
    dy = data(case, salt=2)[..., :1] * np.ones((1, 1, case["H"]), case["dtype"])
    close(back.backward(dy), fwd.backward(dy)[:, ::-1], case["dtype"], "dx")
    for g_b, g_f in zip(back.grads, fwd.grads, strict=True):
        close(g_b, g_f, case["dtype"], "weight gradients")


# ----------------------------------------------------------------------------- masking
@SETTINGS
@given(case=cases, keep_seed=st.integers(0, 2**31 - 1))
def test_masking_a_step_equals_removing_it(case, keep_seed):
    x = data(case)
    keep = np.random.default_rng(keep_seed).random((case["B"], case["T"])) < 0.6  # (B, T)
    layer = make(case, return_state=True)
    _, *states = layer(x, mask=keep)
    for b in range(case["B"]):
        kept = x[b:b + 1, keep[b]]  # (1, T_b, F): the masked steps removed
        if kept.shape[1] == 0:  # every step masked: the states never leave their start
            for s in states:
                assert not s[b].any()
            continue
        one = make(dict(case, B=1), return_state=True)
        _, *ref = one(kept)
        for s, r in zip(states, ref, strict=True):
            close(s[b:b + 1], r, case["dtype"], f"sample {b}")


# ----------------------------------------------------------------------------- saving
def _stateful_model(case):
    B, T, F, H = case["B"], case["T"], case["F"], case["H"]
    rnn = getattr(lstm_np, case["cell"])(H, stateful=True, engine=case["engine"],
                                         return_sequences=True)
    model = lstm_np.Sequential([lstm_np.Input(batch_shape=(B, T, F)), rnn,
                                lstm_np.layers.TimeDistributed(lstm_np.layers.Dense(2))])
    model.compile(loss="mse", optimizer=lstm_np.optimizers.Adam(learning_rate=0.01))
    return model


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=cases)
def test_save_load_round_trip_is_exact(case, tmp_path):
    model = _stateful_model(case)
    x = data(case).astype("float32")
    y = np.random.default_rng(case["seed"]).normal(size=(case["B"], case["T"], 2))
    model.fit(x, y, epochs=2, batch_size=case["B"], verbose=0, shuffle=False)  # slots, states
    path = os.fspath(tmp_path / "m.npz")
    model.save(path)
    back = lstm_np.load_model(path)
    for a, b in zip(model.get_weights(), back.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    for la, lb in zip(model.stateful_layers(), back.stateful_layers(), strict=True):
        assert la.states is not None and np.abs(la.states[0]).max() > 0  # not trivially zero
        for sa, sb in zip(la.states, lb.states, strict=True):
            np.testing.assert_array_equal(sa, sb)
    sa, sb = model.optimizer.get_state(), back.optimizer.get_state()
    assert sa["iterations"] == sb["iterations"] == 2
    for key in sa["slots"]:
        for a, b in zip(sa["slots"][key], sb["slots"][key], strict=True):
            np.testing.assert_array_equal(a, b)
    # The same next step: training continues exactly where it stopped.
    model.train_on_batch(x, y)
    back.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), back.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.keras
@settings(max_examples=4, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=cases)
def test_save_keras_load_keras_round_trip_is_exact(case, tmp_path):
    from keras_oracle import require_keras

    require_keras()
    rnn = getattr(lstm_np, case["cell"])(case["H"], use_bias=case["use_bias"])
    model = lstm_np.Sequential([lstm_np.Input((case["T"], case["F"])), rnn,
                                lstm_np.layers.Dense(2)])
    rng = np.random.default_rng(case["seed"])
    model.set_weights([rng.normal(size=w.shape) for w in model.get_weights()])
    path = tmp_path / "m.keras"
    model.save_keras(path, overwrite=True)
    back = lstm_np.load_keras(path)
    for a, b in zip(model.get_weights(), back.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    x = data(case)
    np.testing.assert_array_equal(model.predict(x, verbose=0), back.predict(x, verbose=0))


def test_a_failed_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    case = dict(cell="LSTM", engine="numpy", dtype="float32", B=2, T=3, F=2, H=3,
                use_bias=True, seed=0)
    model = _stateful_model(case)
    path = tmp_path / "m.npz"
    model.save(path)
    before, saved = path.read_bytes(), model.get_weights()

    def half_written(f, **arrays):  # writes part of the archive, then the disk "fills up"
        f.write(b"PK\x03\x04 partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", half_written)
    model.set_weights([w + 1 for w in model.get_weights()])
    with pytest.raises(OSError, match="No space left"):
        model.save(path)
    with pytest.raises(OSError, match="No space left"):
        model.save_weights(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary file left
    monkeypatch.undo()
    for a, b in zip(lstm_np.load_model(path).get_weights(), saved, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.keras
def test_a_failed_save_keras_mid_write_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    from keras_oracle import require_keras

    keras = require_keras()
    model = lstm_np.Sequential([lstm_np.Input((3, 2)), lstm_np.GRU(2), lstm_np.layers.Dense(1)])
    path = tmp_path / "m.keras"
    model.save_keras(path)
    before = path.read_bytes()

    def half_written(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as f:
            f.write(before[: len(before) // 3])  # a truncated archive on disk
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", half_written)
    with pytest.raises(OSError, match="No space left"):
        model.save_keras(path, overwrite=True)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]
