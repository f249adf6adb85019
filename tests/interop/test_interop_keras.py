"""Keras 3 files in and out: models that Keras itself builds and saves during the test."""

import zipfile

import numpy as np
import pytest
from keras_oracle import require_keras  # noqa: E402

keras = require_keras()
h5py = pytest.importorskip("h5py")

from interop_helpers import (  # noqa: E402
    CASES,
    L,
    assert_same,
    autoencoder,
    bidirectional_gru,
    floats,
    ids,
    keras_out,
    randomize,
    rnn_stacks,
    saved_file,
    seq2seq_with_states,
)

import lstm_np  # noqa: E402
from lstm_np.interop import load_weights  # noqa: E402


@pytest.fixture(params=sorted(CASES))
def saved(request, tmp_path):
    make, data = CASES[request.param]
    model = randomize(make())
    path = tmp_path / f"{request.param}.keras"
    model.save(path)
    return model, path, data()

def test_load_keras_reproduces_keras(saved):
    model, path, x = saved
    assert_same(lstm_np.load_keras(path)(x), keras_out(model, x))

def test_weights_h5_into_an_identically_built_model(saved, tmp_path):
    model, path, x = saved
    weights = tmp_path / "m.weights.h5"
    model.save_weights(weights)
    fresh = lstm_np.load_keras(path)  # same architecture, then other weights
    fresh.set_weights([w * 0 + 0.1 for w in fresh.get_weights()])
    fresh.load_weights(weights)
    assert_same(fresh(x), keras_out(model, x))
    fresh.set_weights([w * 0 + 0.1 for w in fresh.get_weights()])
    fresh.load_weights(path)  # the weights inside a .keras file load the same way
    assert_same(fresh(x), keras_out(model, x))

def test_from_keras_live_model(saved):
    model, _, x = saved
    assert_same(lstm_np.from_keras(model)(x), keras_out(model, x))

def test_seq2seq_initial_state_graph(tmp_path):
    model = randomize(seq2seq_with_states())
    model.save(tmp_path / "s2s.keras")
    x = [floats(), floats(T=4, F=2, seed=1)]
    assert_same(lstm_np.load_keras(tmp_path / "s2s.keras")(x), keras_out(model, x))

def test_from_keras_single_layer():
    layer = L.GRU(3, return_sequences=True)
    x = floats()
    layer.build(x.shape)
    randomize(layer)
    converted = lstm_np.from_keras(layer)
    assert isinstance(converted, lstm_np.GRU)
    assert_same(converted(x), keras_out(layer, x))

def test_hand_built_lstm_np_model_loads_keras_weights(tmp_path):
    k = randomize(rnn_stacks())
    k.save_weights(tmp_path / "w.weights.h5")
    m = lstm_np.Sequential([lstm_np.Input((6, 3)),
                            lstm_np.SimpleRNN(6, return_sequences=True),
                            lstm_np.GRU(5, return_sequences=True, reset_after=False),
                            lstm_np.GRU(4, return_sequences=True),
                            lstm_np.LSTM(3, go_backwards=True),
                            lstm_np.Dense(2, activation="tanh")])
    load_weights(m, tmp_path / "w.weights.h5")
    assert_same(m(floats()), keras_out(k, floats()))

@pytest.mark.parametrize("name", ["embedding_lstm_td", "bidirectional_gru", "autoencoder",
                                  "rnn_stacks"])
def test_save_keras_round_trip_through_keras(name, tmp_path):
    make, data = CASES[name]
    original = randomize(make())
    original.save(tmp_path / "in.keras")
    ours = lstm_np.load_keras(tmp_path / "in.keras")
    ours.save_keras(tmp_path / "out.keras")
    back = keras.saving.load_model(tmp_path / "out.keras")
    x = data()
    assert_same(keras_out(back, x), ours(x))
    assert_same(keras_out(back, x), keras_out(original, x))

def test_to_keras_live_model():
    m = lstm_np.Sequential([lstm_np.Input((5, 2)), lstm_np.LSTM(3, return_sequences=True),
                            lstm_np.TimeDistributed(lstm_np.Dense(2))])
    live = lstm_np.to_keras(m)
    x = floats(T=5, F=2)
    assert_same(keras_out(live, x), m(x))

def test_writer_without_keras_gives_a_file_keras_loads(tmp_path):
    """The hand-written zip (used when Keras is absent) must be one Keras reads identically."""
    from lstm_np.interop.export import _write_zip, keras_config

    m = lstm_np.load_keras(saved_file(bidirectional_gru(), tmp_path))
    _write_zip(m, keras_config(m), str(tmp_path / "hand.keras"))
    back = keras.saving.load_model(tmp_path / "hand.keras")
    assert_same(keras_out(back, floats()), m(floats()))

def _seq(*layers, shape=(6, 3), dtype="float32", batch=None):
    return keras.Sequential([keras.Input(shape, dtype=dtype, batch_size=batch), *layers])

def _gru_with_states():
    i = keras.Input((6, 3))
    o, h = L.GRU(4, return_state=True, return_sequences=True)(i)
    return keras.Model(i, [o, h, L.Dense(2)(h)])

def _shared_layers():
    i = keras.Input((6, 3))
    dense, lstm = L.Dense(3, activation="relu"), L.LSTM(3, return_sequences=True)
    return keras.Model(i, lstm(dense(lstm(dense(i)))))

def _bidirectional_states():
    i = keras.Input((6, 3))
    return keras.Model(i, L.Bidirectional(L.LSTM(3, return_state=True))(i))

def _sequential_in_sequential():
    inner = keras.Sequential([keras.Input((6, 3)), L.LSTM(4, return_sequences=True)])
    return keras.Sequential([keras.Input((6, 3)), inner, L.GRU(2)])

def _two_branches_concatenated():
    i = keras.Input((6, 3))
    a = L.LSTM(3, return_sequences=True)(i)
    b = L.Bidirectional(L.GRU(2, return_sequences=True))(i)
    x = L.Concatenate()([a, b])
    x = L.Permute((2, 1))(x)
    x = L.Reshape((7 * 6,))(x)
    return keras.Model(i, L.Dense(2)(x))

def _functional_masks_through_concatenate():
    """Keras 3 records this graph's mask plumbing as ops (not_equal, logical_or, any, ...)
    feeding mask= arguments; lstm_np derives the same masks itself."""
    i = keras.Input((6,), dtype="int32")
    e = L.Embedding(20, 4, mask_zero=True)(i)
    a = L.LSTM(3, return_sequences=True)(e)
    b = L.Bidirectional(L.GRU(2, return_sequences=True))(e)
    y = L.TimeDistributed(L.Dense(2))(L.Concatenate()([a, b]))
    return keras.Model(i, [y, L.GRU(2)(a)])


def _functional_masking():
    i = keras.Input((6, 3))
    x = L.LSTM(4, return_sequences=True)(L.Masking(0.0)(i))
    return keras.Model(i, L.Bidirectional(L.SimpleRNN(2))(x))


def _masked_floats():
    x = floats()
    x[0, :2] = 0.0
    x[2, -1] = 0.0
    return x

ZOO = {
    "masking_dropout_activation": (lambda: _seq(
        L.Masking(0.0), L.LSTM(4, return_sequences=True), L.Dropout(0.3),
        L.TimeDistributed(L.Dense(2)), L.Activation("softmax")), _masked_floats),
    "flatten": (lambda: _seq(L.LSTM(4, return_sequences=True), L.Flatten(),
                             L.Dense(2, activation="sigmoid")), floats),
    "bidirectional_merge_modes": (lambda: _seq(
        L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode="ave"),
        L.Bidirectional(L.SimpleRNN(3, return_sequences=True), merge_mode="mul"),
        L.Bidirectional(L.GRU(2, reset_after=False))), floats),
    "activations_no_bias": (lambda: _seq(
        L.LSTM(4, activation="relu", recurrent_activation="hard_sigmoid", use_bias=False,
               return_sequences=True),
        L.GRU(3, activation="softsign", recurrent_activation="tanh")), floats),
    "go_backwards": (lambda: _seq(L.GRU(3, go_backwards=True, return_sequences=True),
                                  L.SimpleRNN(3, go_backwards=True, activation="relu")), floats),
    "stateful": (lambda: _seq(L.LSTM(3, stateful=True), L.Dense(1), batch=4), floats),
    "return_state_outputs": (_gru_with_states, floats),
    "shared_layers": (_shared_layers, floats),
    "bidirectional_return_state": (_bidirectional_states, floats),
    "sequential_in_sequential": (_sequential_in_sequential, floats),
    "embedding_gru_bilstm": (lambda: _seq(
        L.Embedding(20, 4, mask_zero=True), L.GRU(3, return_sequences=True),
        L.Bidirectional(L.LSTM(2)), shape=(6,), dtype="int32"), ids),
    "concatenate_permute_reshape": (_two_branches_concatenated, floats),
    "functional_masks_through_concatenate": (_functional_masks_through_concatenate, ids),
    "functional_masking": (_functional_masking, _masked_floats),
    "free_timesteps": (lambda: _seq(L.LSTM(3, return_sequences=True),
                                    L.TimeDistributed(L.Dense(2)), shape=(None, 3)), floats),
}

@pytest.mark.parametrize("name", sorted(ZOO))
def test_more_keras_models_load_and_export(name, tmp_path):
    make, data = ZOO[name]
    original = randomize(make())
    original.save(tmp_path / "in.keras")
    x = data()
    expected = keras_out(original, x)
    ours = lstm_np.load_keras(tmp_path / "in.keras")
    assert_same(ours(x), expected)
    assert_same(lstm_np.from_keras(original)(x), expected)
    ours.save_keras(tmp_path / "out.keras")
    assert_same(keras_out(keras.saving.load_model(tmp_path / "out.keras"), x), expected)

def test_float64_model():
    model = keras.Sequential([keras.Input((6, 3), dtype="float64"), L.LSTM(3, dtype="float64")])
    randomize(model)
    x = floats().astype("float64")
    ours = lstm_np.from_keras(model)
    assert ours.layers[0].dtype == np.float64
    assert_same(ours(x), keras_out(model, x), tol=1e-12)

def test_from_keras_sequential_built_without_input():
    model = keras.Sequential([L.LSTM(3, return_sequences=True), L.Dense(2)])
    model.build((None, 6, 3))
    randomize(model)
    assert_same(lstm_np.from_keras(model)(floats()), keras_out(model, floats()))

@pytest.mark.parametrize("name", ["embedding_lstm_td", "bidirectional_gru", "autoencoder"])
def test_numpy_engine(name, tmp_path):
    make, data = CASES[name]
    model = randomize(make())
    model.save(tmp_path / "m.keras")
    ours = lstm_np.load_keras(tmp_path / "m.keras", engine="numpy")
    engines = []
    lstm_np.interop.keras_files.set_engine(ours, None)  # None leaves engines alone
    _collect_engines(ours, engines)
    assert engines and set(engines) == {"numpy"}
    assert_same(ours(data()), keras_out(model, data()))
    with pytest.raises(ValueError, match="engine must be one of"):
        lstm_np.load_keras(tmp_path / "m.keras", engine="cuda")

def _collect_engines(obj, out):
    if isinstance(obj, lstm_np.Recurrent):
        out.append(obj.engine)
    for attr in ("layers", "forward_layer", "backward_layer", "layer"):
        sub = getattr(obj, attr, None)
        for child in sub if isinstance(sub, list) else [sub]:
            if child is not None and child is not obj and hasattr(child, "name"):
                _collect_engines(child, out)

def _branchy(lib, make_input, make_model):
    """Two inputs, branches of unequal depth, a shared layer: Keras orders these layers by
    graph depth, not by construction order, and the weight file follows that order."""
    i, j = make_input((6, 3)), make_input((4, 2))
    z = lib.Dense(4)(lib.LSTM(3, return_sequences=True)(lib.Dense(2)(i)))
    w = lib.Dense(5)(i)
    shared = lib.Dense(3)
    outputs = [shared(z), lib.LSTM(2)(w), lib.GRU(2)(j), shared(lib.Dense(4)(w))]
    return make_model([i, j], outputs)

def test_weights_h5_into_hand_built_functional_graph(tmp_path):
    k = randomize(_branchy(L, keras.Input, keras.Model))
    k.save_weights(tmp_path / "w.weights.h5")
    ours = _branchy(lstm_np, lstm_np.Input, lstm_np.Model)
    ours.load_weights(tmp_path / "w.weights.h5")
    x = [floats(), floats(T=4, F=2, seed=5)]
    assert_same(ours(x), keras_out(k, x))
    ours.save_keras(tmp_path / "out.keras")  # and back, with the same order
    assert_same(keras_out(keras.saving.load_model(tmp_path / "out.keras"), x), ours(x))

@pytest.mark.parametrize("make", [
    lambda: L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode="sum"),
    lambda: L.TimeDistributed(L.Dense(2, activation="relu")),
    lambda: L.LSTM(3, return_state=True, go_backwards=True),
])
def test_from_keras_wrapper_and_state_layers(make):
    layer = make()
    x = floats()
    layer(x)  # builds it
    randomize(layer)
    assert_same(lstm_np.from_keras(layer)(x), keras_out(layer, x))

def test_save_keras_without_keras_installed(tmp_path, monkeypatch):
    import sys

    original = randomize(autoencoder())
    original.save(tmp_path / "in.keras")
    ours = lstm_np.load_keras(tmp_path / "in.keras")
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "keras", None)  # as if Keras were not installed
        ours.save_keras(tmp_path / "out.keras")
        with pytest.raises(ImportError, match="to_keras needs Keras 3"):
            lstm_np.to_keras(ours)
    with zipfile.ZipFile(tmp_path / "out.keras") as z:
        assert sorted(z.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
    back = keras.saving.load_model(tmp_path / "out.keras")
    assert_same(keras_out(back, floats()), keras_out(original, floats()))


def test_load_weights_still_reads_lstm_np_own_files(tmp_path):
    """Keras files go to the Keras reader; lstm_np's own weight files to lstm_np's."""
    m = lstm_np.Sequential([lstm_np.Input((6, 3)), lstm_np.GRU(3), lstm_np.Dense(2)])
    m.save_weights(tmp_path / "own.weights.npz")
    other = lstm_np.Sequential([lstm_np.Input((6, 3)), lstm_np.GRU(3), lstm_np.Dense(2)])
    other.load_weights(tmp_path / "own.weights.npz")
    assert_same(other(floats()), m(floats()))
