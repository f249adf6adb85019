"""Legacy full-model .h5 files: Keras 2 ones written by hand with Keras 2's layout (this
environment has Keras 3 only), the ones Keras 3 still writes, and older weight-file layouts."""

import json

import numpy as np
import pytest
from keras_oracle import assert_close, require_keras  # noqa: E402

keras = require_keras()
h5py = pytest.importorskip("h5py")

from interop_helpers import (  # noqa: E402
    CASES,
    TOL,
    L,
    assert_same,
    floats,
    keras_out,
    randomize,
    rnn_stacks,
    saved_file,
)

import lstm_np  # noqa: E402


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
    assert_close(model(x), ref(x) @ dk + db, rtol=1e-7, atol=TOL)

def test_keras2_weights_into_built_model(tmp_path):
    path = tmp_path / "old.h5"
    _write_keras2_h5(path)
    expected = lstm_np.load_keras(path)
    m = lstm_np.Sequential([lstm_np.LSTM(3, recurrent_activation="hard_sigmoid_keras2",
                                         batch_input_shape=(None, 4, 2), name="lstm_1"),
                            lstm_np.Dense(1, name="dense_1")])
    m.load_weights(path)
    assert_same(m(floats(T=4, F=2)), expected(floats(T=4, F=2)))

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

def test_keras2_file_with_a_layer_the_model_lacks(tmp_path):
    path = tmp_path / "old.h5"
    _write_keras2_h5(path)
    m = lstm_np.Sequential([lstm_np.LSTM(3, batch_input_shape=(None, 4, 2), name="lstm_1"),
                            lstm_np.Dense(1, name="dense_9")])
    with pytest.raises(ValueError, match="weights for layer 'dense_1'.*does not have"):
        m.load_weights(path)

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

def test_keras_2_13_container_name(tmp_path):
    """Keras 2.13-2.15 wrote the same layout under '_layer_checkpoint_dependencies'."""
    k = randomize(rnn_stacks())
    path = tmp_path / "w.weights.h5"
    k.save_weights(path)
    with h5py.File(path, "a") as f:
        f.move("layers", "_layer_checkpoint_dependencies")
    m = lstm_np.load_keras(saved_file(rnn_stacks(), tmp_path))
    m.load_weights(path)
    assert_same(m(floats()), keras_out(k, floats()))


@pytest.mark.parametrize("name", sorted(CASES))
def test_legacy_h5_written_by_keras_3(name, tmp_path):
    """Keras 3 still writes the legacy layout for model.save("m.h5"), with its own config
    format inside (dict nodes, Keras 3 activations)."""
    make, data = CASES[name]
    model = randomize(make())
    model.save(tmp_path / "m.h5")
    x = data()
    ours = lstm_np.load_keras(tmp_path / "m.h5")
    assert_same(ours(x), keras_out(model, x))
    ours.set_weights([w * 0 for w in ours.get_weights()])
    ours.load_weights(tmp_path / "m.h5")
    assert_same(ours(x), keras_out(model, x))


def test_keras3_h5_keeps_keras3_hard_sigmoid(tmp_path):
    model = randomize(keras.Sequential([keras.Input((4, 2)),
                                        L.LSTM(3, recurrent_activation="hard_sigmoid")]))
    model.save(tmp_path / "m.h5")
    ours = lstm_np.load_keras(tmp_path / "m.h5")
    assert ours.layers[0].recurrent_activation.name == "hard_sigmoid"
    assert_same(ours(floats(T=4, F=2)), keras_out(model, floats(T=4, F=2)))
