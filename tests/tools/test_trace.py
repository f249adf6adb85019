"""lstm_np.trace: per-step gates and states, checked against the layer and against Keras 3.

Keras does not expose its gates, so the Keras checks compare what it does expose (the
hidden sequence, the final cell state) and then recompute every gate independently from
Keras' weights and Keras' own hidden sequence.
"""

import importlib
import sys

import numpy as np
import pytest
from keras_oracle import assert_close, keras

import lstm_np
from lstm_np.tools.trace import trace_gru_arrays, trace_lstm_arrays, trace_simple_rnn_arrays


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _random_lstm(rng, units, features, dtype="float64", **kw):
    layer = lstm_np.LSTM(units, dtype=dtype, **kw)
    layer.build((None, 5, features))
    layer.set_weights([rng.normal(0, 0.5, w.shape) for w in layer.get_weights()])
    return layer


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_trace_hidden_sequence_equals_the_layer_output(engine, go_backwards):
    rng = np.random.default_rng(0)
    layer = _random_lstm(rng, 3, 2, return_sequences=True, return_state=True,
                         go_backwards=go_backwards, engine=engine)
    x = rng.normal(size=(4, 5, 2))
    h0, c0 = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    out, h, c = layer(x, initial_state=[h0, c0])
    tr = lstm_np.trace(layer, x, initial_state=[h0, c0])
    np.testing.assert_allclose(tr["h"], out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tr["c"][:, -1], c, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(tr.input_step, [4, 3, 2, 1, 0] if go_backwards else range(5))
    # The LSTM identities, step by step.
    c_prev = np.concatenate([c0[:, None], tr["c"][:, :-1]], axis=1)
    np.testing.assert_allclose(tr["c"], tr["f"] * c_prev + tr["i"] * tr["c_tilde"], atol=1e-12)
    np.testing.assert_allclose(tr["h"], tr["o"] * np.tanh(tr["c"]), atol=1e-12)


def test_trace_of_a_stateful_layer_starts_from_its_state_and_leaves_it_alone():
    rng = np.random.default_rng(1)
    layer = _random_lstm(rng, 2, 1, stateful=True, batch_input_shape=(2, 5, 1),
                         return_sequences=True)
    x1, x2 = rng.normal(size=(2, 5, 1)), rng.normal(size=(2, 5, 1))
    layer(x1)
    before = layer.states
    tr = lstm_np.trace(layer, x2)
    for a, b in zip(before, layer.states, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(tr["h"], layer(x2), atol=1e-12)  # continues from batch 1
    with pytest.raises(ValueError, match="stateful with batch size 2; got a batch of 3"):
        lstm_np.trace(layer, rng.normal(size=(3, 5, 1)))


def test_trace_builds_an_unbuilt_layer_and_casts_like_a_call():
    layer = lstm_np.LSTM(2, seed=0)
    tr = lstm_np.trace(layer, [[[1], [2], [3]]])  # nested ints, as Keras casts them
    assert layer.built and tr["h"].dtype == np.float32 and tr["z"].shape == (1, 3, 8)
    assert "i (1, 3, 2)" in repr(tr)


def test_trace_errors():
    with pytest.raises(TypeError, match="trace\\(\\) takes a recurrent layer"):
        lstm_np.trace(object(), np.ones((1, 2, 1)))
    with pytest.raises(ValueError, match="expects a 3-D input"):
        lstm_np.trace(lstm_np.LSTM(2), np.ones((2, 1)))
    tr = lstm_np.trace(lstm_np.LSTM(2), np.ones((1, 2, 1)))
    with pytest.raises(KeyError, match="A LSTM trace has z, i, f, c_tilde, o, c, h; not 'r'"):
        tr["r"]


# ----------------------------------------------------------------------------- Keras oracle

# ``float64_keras`` (tests/conftest.py): Keras in float64 under the oracle's float64 policy.


def _np(t):
    return keras.ops.convert_to_numpy(t)


@pytest.mark.keras
@pytest.mark.parametrize("recurrent_activation", ["sigmoid", "hard_sigmoid"])
def test_lstm_trace_matches_keras(float64_keras, recurrent_activation):
    rng = np.random.default_rng(2)
    B, T, F, H = 3, 6, 2, 4
    k = keras.layers.LSTM(H, return_sequences=True, return_state=True,
                          recurrent_activation=recurrent_activation, dtype="float64")
    x = rng.normal(size=(B, T, F))
    h0, c0 = rng.normal(size=(B, H)), rng.normal(size=(B, H))
    k(x)
    weights = [rng.normal(0, 0.5, w.shape) for w in k.get_weights()]  # non-zero bias too
    k.set_weights(weights)
    out, _, c = (_np(v) for v in k(x, initial_state=[h0, c0]))

    layer = lstm_np.LSTM(H, dtype="float64", recurrent_activation=recurrent_activation)
    layer.build((B, T, F))
    layer.set_weights(weights)
    tr = lstm_np.trace(layer, x, initial_state=[h0, c0])
    assert_close(tr["h"], out, rtol=1e-6, atol=1e-9)
    assert_close(tr["c"][:, -1], c, rtol=1e-6, atol=1e-9)

    # Every gate, recomputed from Keras' weights and Keras' own hidden sequence.
    W, U, b = weights
    ract = _sigmoid if recurrent_activation == "sigmoid" else \
        (lambda v: np.clip(v / 6 + 0.5, 0, 1))
    h_prev = np.concatenate([h0[:, None], out[:, :-1]], axis=1)  # (B, T, H)
    z = x @ W + h_prev @ U + b  # (B, T, 4H)
    assert_close(tr["z"], z, rtol=1e-6, atol=1e-9)
    for name, block, fn in (("i", 0, ract), ("f", 1, ract), ("c_tilde", 2, np.tanh),
                            ("o", 3, ract)):
        assert_close(tr[name], fn(z[..., block * H:(block + 1) * H]), rtol=1e-6, atol=1e-9)


@pytest.mark.keras
@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_trace_arrays_match_keras(float64_keras, reset_after):
    rng = np.random.default_rng(3)
    B, T, F, H = 2, 5, 3, 4
    k = keras.layers.GRU(H, return_sequences=True, reset_after=reset_after, dtype="float64")
    x, h0 = rng.normal(size=(B, T, F)), rng.normal(size=(B, H))
    k(x)
    weights = [rng.normal(0, 0.5, w.shape) for w in k.get_weights()]
    k.set_weights(weights)
    out = _np(k(x, initial_state=[h0]))
    tr = trace_gru_arrays(x, *weights, h0=h0, reset_after=reset_after)
    assert_close(tr["h"], out, rtol=1e-5, atol=1e-6)
    h_prev = np.concatenate([h0[:, None], tr["h"][:, :-1]], axis=1)
    np.testing.assert_allclose(tr["h"], tr["z"] * h_prev + (1 - tr["z"]) * tr["h_tilde"],
                               atol=1e-12)


@pytest.mark.keras
def test_simple_rnn_trace_arrays_match_keras(float64_keras):
    rng = np.random.default_rng(4)
    k = keras.layers.SimpleRNN(3, return_sequences=True, dtype="float64")
    x, h0 = rng.normal(size=(2, 4, 2)), rng.normal(size=(2, 3))
    k(x)
    weights = [rng.normal(0, 0.5, w.shape) for w in k.get_weights()]
    k.set_weights(weights)
    tr = trace_simple_rnn_arrays(x, *weights, h0=h0)
    assert_close(tr["h"], _np(k(x, initial_state=[h0])), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tr["h"], np.tanh(tr["z"]), atol=1e-12)


@pytest.mark.parametrize("name", ["GRU", "SimpleRNN"])
def test_trace_of_sibling_layers_when_they_exist(name):
    cls = getattr(lstm_np.layers, name, None)
    if cls is None:
        pytest.skip(f"lstm_np has no {name} yet")
    rng = np.random.default_rng(5)
    layer = cls(3, return_sequences=True, dtype="float64")
    x = rng.normal(size=(2, 4, 2))
    out = layer(x)
    np.testing.assert_allclose(lstm_np.trace(layer, x)["h"], out, rtol=1e-10, atol=1e-12)


def test_trace_lstm_arrays_without_bias_and_states():
    rng = np.random.default_rng(6)
    x, W, U = rng.normal(size=(1, 3, 2)), rng.normal(size=(2, 8)), rng.normal(size=(2, 8))
    tr = trace_lstm_arrays(x, W, U)
    z0 = x[:, 0] @ W  # h0 = 0 and no bias
    np.testing.assert_allclose(tr["z"][:, 0], z0, atol=1e-12)
    np.testing.assert_allclose(tr["c"][:, 0], _sigmoid(z0[:, :2]) * np.tanh(z0[:, 4:6]),
                               atol=1e-12)


# ----------------------------------------------------------------------------- plots


def test_plot_trace_and_forecast_write_pngs(tmp_path):
    from lstm_np.tools.plot import plot_forecast, plot_trace

    tr = lstm_np.trace(lstm_np.LSTM(3, seed=0), np.random.default_rng(0).normal(size=(2, 4, 1)))
    fig = plot_trace(tr, sample=1, path=tmp_path / "trace.png")
    assert len(fig.axes) == 12  # 6 heatmaps + 6 colour bars (z is left out)
    y = np.arange(20.0)
    plot_forecast(y, y[2:12], y[14:19], train_start=2, test_start=14, path=tmp_path / "f.png",
                  labels=[str(i) for i in range(20)])
    for name in ("trace.png", "f.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="sample must be in \\[0, 2\\)"):
        plot_trace(tr, sample=2)
    with pytest.raises(ValueError, match="test predictions \\(5 values from index 16\\) run "
                                         "outside the series of 20 points"):
        plot_forecast(y, y[:3], y[:5], train_start=0, test_start=16)


def test_plot_without_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.delitem(sys.modules, "lstm_np.tools.plot", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'lstm_np\[plot\]'"):
        importlib.import_module("lstm_np.tools.plot")
