"""Keras files in and out: models that Keras 3 itself builds and saves during the test.

Every Keras weight is overwritten with random non-zero values (biases included) before saving,
so a weight read from the wrong path, in the wrong order or transposed shows in the outputs.
"""

import json
import zipfile

import numpy as np
import pytest

keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")

import lstm_np  # noqa: E402
from lstm_np.interop import load_weights, save_keras  # noqa: E402

L = keras.layers
TOL = 1e-5


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    for v in model.weights:
        v.assign(rng.uniform(-0.7, 0.7, size=v.shape).astype("float32"))
    return model


def keras_out(model, x):
    out = model(x)
    if isinstance(out, (list, tuple)):
        return [keras.ops.convert_to_numpy(o) for o in out]
    return keras.ops.convert_to_numpy(out)


def assert_same(got, expected, tol=TOL):
    if isinstance(expected, list):
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            assert_same(g, e, tol)
        return
    assert np.shape(got) == np.shape(expected)
    np.testing.assert_allclose(got, expected, atol=tol, rtol=0)


def ids(B=4, T=6, vocab=20, seed=0):
    x = np.random.default_rng(seed).integers(1, vocab, size=(B, T)).astype("int32")
    x[0, :2] = 0  # leading padding: the mask must travel Embedding -> LSTM -> TimeDistributed
    x[1, -3:] = 0  # trailing padding
    return x


def floats(B=4, T=6, F=3, seed=0):
    return np.random.default_rng(seed).normal(size=(B, T, F)).astype("float32")


# ---------------------------------------------------------------------- the Keras models
def embedding_lstm_td():
    return keras.Sequential([keras.Input((6,), dtype="int32"),
                             L.Embedding(20, 5, mask_zero=True),
                             L.LSTM(4, return_sequences=True),
                             L.TimeDistributed(L.Dense(3, activation="softmax"))])


def bidirectional_gru():
    return keras.Sequential([keras.Input((6, 3)),
                             L.Bidirectional(L.GRU(4, return_sequences=True)),
                             L.Bidirectional(L.GRU(3), merge_mode="sum"),
                             L.Dense(2)])


def autoencoder():
    enc_in = keras.Input((6, 3))
    encoder = keras.Model(enc_in, L.LSTM(5)(enc_in), name="encoder")
    decoder = keras.Sequential([keras.Input((5,)), L.RepeatVector(6),
                                L.LSTM(4, return_sequences=True),
                                L.TimeDistributed(L.Dense(3))], name="decoder")
    inp = keras.Input((6, 3))
    return keras.Model(inp, decoder(encoder(inp)), name="autoencoder")


def rnn_stacks():
    return keras.Sequential([keras.Input((6, 3)),
                             L.SimpleRNN(6, return_sequences=True),
                             L.GRU(5, return_sequences=True, reset_after=False),
                             L.GRU(4, return_sequences=True),
                             L.LSTM(3, go_backwards=True),
                             L.Dense(2, activation="tanh")])


def seq2seq_with_states():
    enc_in, dec_in = keras.Input((6, 3)), keras.Input((4, 2))
    _, h, c = L.LSTM(5, return_state=True)(enc_in)
    y = L.LSTM(5, return_sequences=True)(dec_in, initial_state=[h, c])
    return keras.Model([enc_in, dec_in], L.Dense(2)(y))


CASES = {
    "embedding_lstm_td": (embedding_lstm_td, lambda: ids()),
    "bidirectional_gru": (bidirectional_gru, lambda: floats()),
    "autoencoder": (autoencoder, lambda: floats()),
    "rnn_stacks": (rnn_stacks, lambda: floats()),
}


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


# ---------------------------------------------------------------------- export
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

    m = lstm_np.load_keras(_saved(bidirectional_gru(), tmp_path))
    _write_zip(m, keras_config(m), str(tmp_path / "hand.keras"))
    back = keras.saving.load_model(tmp_path / "hand.keras")
    assert_same(keras_out(back, floats()), m(floats()))


def _saved(model, tmp_path, name="m.keras"):
    randomize(model).save(tmp_path / name)
    return tmp_path / name


def test_save_keras_never_overwrites_unless_asked(tmp_path):
    m = lstm_np.load_keras(_saved(rnn_stacks(), tmp_path))
    target = tmp_path / "out.keras"
    target.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="already exists.*overwrite=True"):
        m.save_keras(target)
    assert target.read_bytes() == b"precious"
    m.save_keras(target, overwrite=True)
    assert zipfile.is_zipfile(target)


def test_save_keras_refuses_a_name_keras_would_not_read(tmp_path):
    m = lstm_np.load_keras(_saved(rnn_stacks(), tmp_path))
    with pytest.raises(ValueError, match=r"must end in \.keras"):
        save_keras(m, tmp_path / "out.h5")


def test_keras2_activation_cannot_be_exported(tmp_path):
    m = lstm_np.Sequential([lstm_np.Input((3, 2)),
                            lstm_np.LSTM(2, recurrent_activation="hard_sigmoid_keras2")])
    with pytest.raises(ValueError, match="hard_sigmoid_keras2.*Keras 3 does not have"):
        m.save_keras(tmp_path / "x.keras")


# ---------------------------------------------------------------------- Keras 2 legacy .h5
def _write_keras2_h5(path, units=3, features=2, timesteps=4, seed=0):
    """A Keras 2.x full-model .h5 written by hand with the layout Keras 2 used (model_config
    attribute, model_weights/<layer>/<layer>/<cell>/<weight>:0 with weight_names attributes).
    Returns the weights so the test can compute the expected output."""
    rng = np.random.default_rng(seed)
    k = rng.uniform(-0.5, 0.5, (features, 4 * units)).astype("float32")
    r = rng.uniform(-0.5, 0.5, (units, 4 * units)).astype("float32")
    b = rng.uniform(-0.5, 0.5, (4 * units,)).astype("float32")
    dk = rng.uniform(-0.5, 0.5, (units, 1)).astype("float32")
    db = rng.uniform(-0.5, 0.5, (1,)).astype("float32")
    config = {"class_name": "Sequential", "config": {"name": "sequential_1", "layers": [
        {"class_name": "LSTM", "config": {
            "name": "lstm_1", "trainable": True, "batch_input_shape": [None, timesteps, features],
            "dtype": "float32", "return_sequences": False, "return_state": False,
            "go_backwards": False, "stateful": False, "unroll": False, "units": units,
            "activation": "tanh", "recurrent_activation": "hard_sigmoid", "use_bias": True,
            "kernel_initializer": {"class_name": "VarianceScaling", "config": {}},
            "unit_forget_bias": True, "kernel_regularizer": None, "dropout": 0.0,
            "recurrent_dropout": 0.0, "implementation": 1}},
        {"class_name": "Dense", "config": {"name": "dense_1", "trainable": True,
                                           "units": 1, "activation": "linear", "use_bias": True}},
    ]}}
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.2.4"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(config).encode("utf8")
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = [b"lstm_1", b"dense_1"]
        g = mw.create_group("lstm_1")
        names = [b"lstm_1/kernel:0", b"lstm_1/recurrent_kernel:0", b"lstm_1/bias:0"]
        g.attrs["weight_names"] = names
        for n, w in zip(names, (k, r, b), strict=True):
            g.create_dataset(n.decode(), data=w)
        g = mw.create_group("dense_1")
        g.attrs["weight_names"] = [b"dense_1/kernel:0", b"dense_1/bias:0"]
        g.create_dataset("dense_1/kernel:0", data=dk)
        g.create_dataset("dense_1/bias:0", data=db)
    return k, r, b, dk, db


def test_keras2_full_model_h5(tmp_path):
    path = tmp_path / "old.h5"
    k, r, b, dk, db = _write_keras2_h5(path)
    model = lstm_np.load_keras(path)
    x = floats(T=4, F=2)
    lstm = model.layers[0]
    # Keras 2's hard_sigmoid (0.2x + 0.5), not Keras 3's (x/6 + 0.5): the config said Keras 2.
    assert lstm.recurrent_activation.name == "hard_sigmoid_keras2"
    ref = lstm_np.LSTM(3, recurrent_activation="hard_sigmoid_keras2")
    ref.build(x.shape)
    ref.set_weights([k, r, b])
    np.testing.assert_allclose(model(x), ref(x) @ dk + db, atol=TOL)


def test_keras2_weights_into_built_model(tmp_path):
    path = tmp_path / "old.h5"
    _write_keras2_h5(path)
    expected = lstm_np.load_keras(path)
    m = lstm_np.Sequential([lstm_np.LSTM(3, recurrent_activation="hard_sigmoid_keras2",
                                         batch_input_shape=(None, 4, 2), name="lstm_1"),
                            lstm_np.Dense(1, name="dense_1")])
    m.load_weights(path)
    assert_same(m(floats(T=4, F=2)), expected(floats(T=4, F=2)))


# ---------------------------------------------------------------------- bad input
def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such file.*nope.keras"):
        lstm_np.load_keras(tmp_path / "nope.keras")


def test_directory_is_not_a_model_file(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        lstm_np.load_keras(tmp_path)


def test_file_that_is_neither_zip_nor_hdf5(tmp_path):
    path = tmp_path / "model.keras"
    path.write_text("not a model")
    with pytest.raises(ValueError, match="neither a Keras 3 .keras file.*nor an HDF5"):
        lstm_np.load_keras(path)


def test_truncated_keras_file(tmp_path):
    path = _saved(rnn_stacks(), tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="damaged or truncated"):
        lstm_np.load_keras(path)


def test_truncated_weights_file(tmp_path):
    k = randomize(rnn_stacks())
    path = tmp_path / "w.weights.h5"
    k.save_weights(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    m = lstm_np.load_keras(_saved(rnn_stacks(), tmp_path))
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        m.load_weights(path)


def test_zip_that_is_not_a_keras_file(tmp_path):
    path = tmp_path / "other.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match="no config.json"):
        lstm_np.load_keras(path)


def test_unsupported_layer_is_named_with_the_supported_list(tmp_path):
    model = keras.Sequential([keras.Input((6, 3)), L.Conv1D(2, 3), L.LSTM(2)])
    with pytest.raises(ValueError, match=r"'Conv1D' is not supported.*Supported.*Bidirectional"
                                         r".*LSTM"):
        lstm_np.load_keras(_saved(model, tmp_path))


def test_weights_whose_shapes_do_not_fit(tmp_path):
    k = randomize(keras.Sequential([keras.Input((6, 3)), L.LSTM(4), L.Dense(2)]))
    k.save_weights(tmp_path / "w.weights.h5")
    m = lstm_np.Sequential([lstm_np.Input((6, 3)), lstm_np.LSTM(5), lstm_np.Dense(2)])
    with pytest.raises(ValueError, match=r"layers/lstm.*do not fit.*kernel.*\(3, 20\).*"
                                         r"\(3, 16\)"):
        m.load_weights(tmp_path / "w.weights.h5")


def test_weights_for_a_model_with_other_layers(tmp_path):
    k = randomize(keras.Sequential([keras.Input((6, 3)), L.GRU(4), L.Dense(2)]))
    k.save_weights(tmp_path / "w.weights.h5")
    m = lstm_np.Sequential([lstm_np.Input((6, 3)), lstm_np.LSTM(4), lstm_np.Dense(2)])
    with pytest.raises(ValueError, match="no entry for lstm.*it has: dense, gru"):
        m.load_weights(tmp_path / "w.weights.h5")


def test_weights_only_file_given_to_load_keras(tmp_path):
    k = randomize(rnn_stacks())
    k.save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(ValueError, match="weights only.*load_weights"):
        lstm_np.load_keras(tmp_path / "w.weights.h5")


def test_missing_h5py_is_explained(tmp_path, monkeypatch):
    import sys

    path = _saved(rnn_stacks(), tmp_path)
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"pip install 'lstm_np\[keras\]'"):
        lstm_np.load_keras(path)


def test_from_keras_refuses_other_objects_and_unbuilt_layers():
    with pytest.raises(TypeError, match="Keras model or layer.*load_keras"):
        lstm_np.from_keras("model.keras")
    with pytest.raises(ValueError, match="not built"):
        lstm_np.from_keras(L.LSTM(3))


def test_unsupported_layer_option_is_refused(tmp_path):
    model = keras.Sequential([keras.Input((4, 2)), L.LSTM(3, activation=keras.activations.gelu)])
    with pytest.raises(ValueError, match="activation.*gelu"):
        lstm_np.load_keras(_saved(model, tmp_path))


def test_regularizers_are_dropped_with_a_warning(tmp_path):
    model = keras.Sequential([keras.Input((4, 2)), L.LSTM(3, kernel_regularizer="l2")])
    path = _saved(model, tmp_path)
    with pytest.warns(UserWarning, match="kernel_regularizer.*dropped"):
        loaded = lstm_np.load_keras(path)
    assert_same(loaded(floats(T=4, F=2)), keras_out(model, floats(T=4, F=2)))


# ---------------------------------------------------------------------- more Keras models
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


def test_keras2_functional_h5_with_tf_keras_weight_names(tmp_path):
    """tf.keras 2.x layout: InputLayer in the config, [[name, node, tensor, kwargs]] inbound
    nodes, weights at model_weights/lstm/lstm/lstm_cell/kernel:0."""
    rng = np.random.default_rng(3)
    k, r, b = (rng.uniform(-0.5, 0.5, s).astype("float32") for s in ((2, 8), (2, 8), (8,)))
    config = {"class_name": "Functional", "config": {
        "name": "model", "layers": [
            {"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [],
             "config": {"batch_input_shape": [None, 5, 2], "dtype": "float32",
                        "sparse": False, "ragged": False, "name": "input_1"}},
            {"class_name": "GRU", "name": "gru", "inbound_nodes": [[["input_1", 0, 0, {}]]],
             "config": {"name": "gru", "units": 2, "return_sequences": True,
                        "reset_after": False, "recurrent_activation": "sigmoid",
                        "time_major": False, "dtype": "float32"}}],
        "input_layers": [["input_1", 0, 0]], "output_layers": [["gru", 0, 0]]}}
    k, r, b = k[:, :6], r[:, :6], b[:6]
    with h5py.File(tmp_path / "tf2.h5", "w") as f:
        f.attrs["keras_version"] = "2.11.0"
        f.attrs["model_config"] = json.dumps(config)
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = [b"input_1", b"gru"]
        mw.create_group("input_1").attrs["weight_names"] = []
        g = mw.create_group("gru")
        names = ["gru/gru_cell/kernel:0", "gru/gru_cell/recurrent_kernel:0", "gru/gru_cell/bias:0"]
        g.attrs["weight_names"] = [n.encode() for n in names]
        for n, w in zip(names, (k, r, b), strict=True):
            g.create_dataset(n, data=w)
    model = lstm_np.load_keras(tmp_path / "tf2.h5")
    ref = keras.Sequential([keras.Input((5, 2)), L.GRU(2, return_sequences=True,
                                                       reset_after=False)])
    ref.set_weights([k, r, b])
    x = floats(T=5, F=2)
    assert_same(model(x), keras_out(ref, x))


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


def test_weights_file_with_layers_the_model_lacks(tmp_path):
    k = randomize(keras.Sequential([keras.Input((6, 3)), L.LSTM(4), L.Dense(3), L.Dense(2)]))
    k.save_weights(tmp_path / "w.weights.h5")
    m = lstm_np.Sequential([lstm_np.Input((6, 3)), lstm_np.LSTM(4), lstm_np.Dense(3)])
    with pytest.raises(ValueError, match="weights for dense_1.*does not have.*lstm, dense"):
        m.load_weights(tmp_path / "w.weights.h5")


def test_keras_2_13_container_name(tmp_path):
    """Keras 2.13-2.15 wrote the same layout under '_layer_checkpoint_dependencies'."""
    k = randomize(rnn_stacks())
    path = tmp_path / "w.weights.h5"
    k.save_weights(path)
    with h5py.File(path, "a") as f:
        f.move("layers", "_layer_checkpoint_dependencies")
    m = lstm_np.load_keras(_saved(rnn_stacks(), tmp_path))
    m.load_weights(path)
    assert_same(m(floats()), keras_out(k, floats()))


def test_keras2_file_with_a_layer_the_model_lacks(tmp_path):
    path = tmp_path / "old.h5"
    _write_keras2_h5(path)
    m = lstm_np.Sequential([lstm_np.LSTM(3, batch_input_shape=(None, 4, 2), name="lstm_1"),
                            lstm_np.Dense(1, name="dense_9")])
    with pytest.raises(ValueError, match="weights for layer 'dense_1'.*does not have"):
        m.load_weights(path)


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


@pytest.mark.parametrize("style", ["keras_2_2_inputs", "tf_keras_kwargs"])
def test_keras2_encoder_decoder_with_initial_state(style, tmp_path):
    """Keras 2 recorded a decoder's initial_state either as extra inbound tensors (2.2) or as a
    kwargs entry of [name, node, tensor] triples (tf.keras 2.x)."""
    rng = np.random.default_rng(7)
    shapes = {"enc": ((3, 8), (2, 8), (8,)), "dec": ((2, 8), (2, 8), (8,))}
    weights = {n: [rng.uniform(-0.5, 0.5, s).astype("float32") for s in shp]
               for n, shp in shapes.items()}
    lstm_cfg = {"units": 2, "recurrent_activation": "sigmoid", "dtype": "float32"}
    if style == "keras_2_2_inputs":
        dec_nodes = [[["dec_in", 0, 0, {}], ["enc", 0, 1, {}], ["enc", 0, 2, {}]]]
    else:
        dec_nodes = [[["dec_in", 0, 0, {"initial_state": [["enc", 0, 1], ["enc", 0, 2]]}]]]
    config = {"class_name": "Model", "config": {"name": "s2s", "layers": [
        {"class_name": "InputLayer", "name": "enc_in", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, 5, 3], "name": "enc_in"}},
        {"class_name": "InputLayer", "name": "dec_in", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, 4, 2], "name": "dec_in"}},
        {"class_name": "LSTM", "name": "enc", "inbound_nodes": [[["enc_in", 0, 0, {}]]],
         "config": dict(lstm_cfg, name="enc", return_state=True)},
        {"class_name": "LSTM", "name": "dec", "inbound_nodes": dec_nodes,
         "config": dict(lstm_cfg, name="dec", return_sequences=True)}],
        "input_layers": [["enc_in", 0, 0], ["dec_in", 0, 0]],
        "output_layers": [["dec", 0, 0]]}}
    with h5py.File(tmp_path / "s2s.h5", "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = [b"enc_in", b"dec_in", b"enc", b"dec"]
        for name in ("enc_in", "dec_in"):
            mw.create_group(name).attrs["weight_names"] = []
        for name, arrays in weights.items():
            g = mw.create_group(name)
            names = [f"{name}/{w}:0" for w in ("kernel", "recurrent_kernel", "bias")]
            g.attrs["weight_names"] = [n.encode() for n in names]
            for n, w in zip(names, arrays, strict=True):
                g.create_dataset(n, data=w)
    model = lstm_np.load_keras(tmp_path / "s2s.h5")
    enc_in, dec_in = keras.Input((5, 3)), keras.Input((4, 2))
    enc, dec = L.LSTM(2, return_state=True), L.LSTM(2, return_sequences=True)
    _, h, c = enc(enc_in)
    ref = keras.Model([enc_in, dec_in], dec(dec_in, initial_state=[h, c]))
    enc.set_weights(weights["enc"])
    dec.set_weights(weights["dec"])
    x = [floats(T=5), floats(T=4, F=2, seed=9)]
    assert_same(model(x), keras_out(ref, x))


def test_load_weights_into_an_unbuilt_model(tmp_path):
    k = randomize(rnn_stacks())
    k.save_weights(tmp_path / "w.weights.h5")
    m = lstm_np.Sequential([lstm_np.LSTM(3), lstm_np.Dense(1)])
    with pytest.raises(ValueError, match="not built.*Input\\(shape="):
        m.load_weights(tmp_path / "w.weights.h5")


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



def test_export_refuses_single_layers_and_unbuilt_models(tmp_path):
    with pytest.raises(TypeError, match="export a Sequential or Model; got LSTM"):
        save_keras(lstm_np.LSTM(2), tmp_path / "x.keras")
    with pytest.raises(ValueError, match="not built"):
        save_keras(lstm_np.Sequential([lstm_np.LSTM(2)]), tmp_path / "x.keras")
    assert not (tmp_path / "x.keras").exists()
