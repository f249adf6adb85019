"""The compiled state (compile_config + optimizer variables) through Keras 3 .keras files:
train in one library, save, load in the other, train one more batch in both: same weights."""

import io
import json
import sys
import zipfile

import numpy as np
import pytest
from keras_oracle import assert_close, require_keras  # noqa: E402

keras = require_keras()
h5py = pytest.importorskip("h5py")

import lstm_np  # noqa: E402
from lstm_np import optimizers  # noqa: E402

L = keras.layers
RNG = np.random.default_rng(7)
X = RNG.normal(size=(4, 8, 6, 3)).astype("float32")  # (steps, B, T, F)
Y = RNG.normal(size=(4, 8, 2)).astype("float32")  # (steps, B, 2)
ATOL = 1e-6


def _ours():
    return lstm_np.Sequential([lstm_np.Input((6, 3)), lstm_np.LSTM(4, return_sequences=True),
                               lstm_np.GRU(3), lstm_np.Dense(2)])


def _theirs():
    return keras.Sequential([keras.Input((6, 3)), L.LSTM(4, return_sequences=True), L.GRU(3),
                             L.Dense(2)])


def _assert_same_weights(ours, theirs):
    ws, ks = ours.get_weights(), theirs.get_weights()
    assert len(ws) == len(ks)
    for w, k in zip(ws, ks, strict=True):
        assert_close(w, k, rtol=0, atol=ATOL)


OURS = {"adam": lambda: optimizers.Adam(0.01),
        "adam_amsgrad": lambda: optimizers.Adam(0.01, amsgrad=True),
        "sgd_momentum": lambda: optimizers.SGD(0.05, momentum=0.9),
        "sgd_nesterov": lambda: optimizers.SGD(0.05, momentum=0.8, nesterov=True),
        "rmsprop": lambda: optimizers.RMSprop(0.005, momentum=0.5, centered=True),
        "adagrad": lambda: optimizers.Adagrad(0.05),
        "sgd_clipped": lambda: optimizers.SGD(0.05, weight_decay=0.01, global_clipnorm=0.5)}
THEIRS = {"adam": lambda: keras.optimizers.Adam(0.01),
          "adam_amsgrad": lambda: keras.optimizers.Adam(0.01, amsgrad=True),
          "sgd_momentum": lambda: keras.optimizers.SGD(0.05, momentum=0.9),
          "sgd_nesterov": lambda: keras.optimizers.SGD(0.05, momentum=0.8, nesterov=True),
          "rmsprop": lambda: keras.optimizers.RMSprop(0.005, momentum=0.5, centered=True),
          "adagrad": lambda: keras.optimizers.Adagrad(0.05),
          "sgd_clipped": lambda: keras.optimizers.SGD(0.05, weight_decay=0.01,
                                                      global_clipnorm=0.5)}


@pytest.mark.parametrize("name", list(OURS))
def test_lstm_np_optimizer_state_continues_in_keras(name, tmp_path):
    ours = _ours()
    ours.compile(optimizer=OURS[name](), loss="mse")
    for i in range(3):
        ours.train_on_batch(X[i], Y[i])
    ours.save_keras(tmp_path / "m.keras")
    theirs = keras.saving.load_model(tmp_path / "m.keras")
    assert int(theirs.optimizer.iterations.numpy()) == 3
    _assert_same_weights(ours, theirs)
    ours.train_on_batch(X[3], Y[3])
    theirs.train_on_batch(X[3], Y[3])
    _assert_same_weights(ours, theirs)


@pytest.mark.parametrize("name", list(OURS))
def test_keras_optimizer_state_continues_in_lstm_np(name, tmp_path):
    theirs = _theirs()
    theirs.compile(optimizer=THEIRS[name](), loss="mse")
    for i in range(3):
        theirs.train_on_batch(X[i], Y[i])
    theirs.save(tmp_path / "m.keras")
    ours = lstm_np.load_keras(tmp_path / "m.keras")
    assert ours.compiled and ours.optimizer.iterations == 3
    assert type(ours.optimizer).__name__ == type(theirs.optimizer).__name__
    _assert_same_weights(ours, theirs)
    ours.train_on_batch(X[3], Y[3])
    theirs.train_on_batch(X[3], Y[3])
    _assert_same_weights(ours, theirs)


@pytest.mark.parametrize("loss", [keras.losses.MeanAbsoluteError(),
                                  keras.losses.mean_absolute_error], ids=["object", "function"])
def test_loss_object_round_trips(loss, tmp_path):
    theirs = _theirs()
    theirs.compile(optimizer="adam", loss=loss, metrics=["mse"])
    theirs.train_on_batch(X[0], Y[0])
    theirs.save(tmp_path / "m.keras")
    ours = lstm_np.load_keras(tmp_path / "m.keras")
    assert isinstance(ours.loss, lstm_np.losses.MeanAbsoluteError)
    assert ours._compile_spec[1] == ["mse"]
    ours.train_on_batch(X[1], Y[1])
    theirs.train_on_batch(X[1], Y[1])
    _assert_same_weights(ours, theirs)


def test_loss_with_options_and_metrics_reach_keras(tmp_path):
    y = RNG.integers(0, 2, size=(2, 8, 2)).astype("float32")
    ours = _ours()
    loss = lstm_np.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)
    ours.compile(optimizer=optimizers.Adam(0.01), loss=loss, metrics=["mae"])
    ours.train_on_batch(X[0], y[0])
    ours.save_keras(tmp_path / "m.keras")
    theirs = keras.saving.load_model(tmp_path / "m.keras")
    assert theirs.loss.get_config()["from_logits"] is True
    ours.train_on_batch(X[1], y[1])
    theirs.train_on_batch(X[1], y[1])
    _assert_same_weights(ours, theirs)
    back = lstm_np.load_keras(tmp_path / "m.keras")
    assert back.loss.from_logits and back.loss.label_smoothing == pytest.approx(0.1)


def test_frozen_layers_and_bidirectional_keep_keras_variable_order(tmp_path):
    inp = keras.Input((6, 3))
    frozen = L.LSTM(4, return_sequences=True, trainable=False)
    h = L.Bidirectional(L.GRU(3, return_sequences=True))(frozen(inp))
    theirs = keras.Model(inp, L.Dense(2)(L.LSTM(5)(h)))
    theirs.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    for i in range(2):
        theirs.train_on_batch(X[i], Y[i])
    theirs.save(tmp_path / "m.keras")
    ours = lstm_np.load_keras(tmp_path / "m.keras")
    assert len(ours.optimizer.slots["m"]) == len(theirs.trainable_variables)
    ours.train_on_batch(X[2], Y[2])
    theirs.train_on_batch(X[2], Y[2])
    _assert_same_weights(ours, theirs)
    ours.save_keras(tmp_path / "back.keras")
    again = keras.saving.load_model(tmp_path / "back.keras")
    ours.train_on_batch(X[3], Y[3])
    again.train_on_batch(X[3], Y[3])
    _assert_same_weights(ours, again)


def test_compile_false_and_compiled_never_trained(tmp_path):
    theirs = _theirs()
    theirs.compile(optimizer="adam", loss="mse")
    theirs.save(tmp_path / "m.keras")
    assert not lstm_np.load_keras(tmp_path / "m.keras", compile=False).compiled
    ours = lstm_np.load_keras(tmp_path / "m.keras")
    assert ours.compiled and ours.optimizer.iterations == 0
    ours.train_on_batch(X[0], Y[0])
    theirs.train_on_batch(X[0], Y[0])
    _assert_same_weights(ours, theirs)


def test_optimizer_lstm_np_lacks_loads_weights_uncompiled_with_warning(tmp_path):
    theirs = _theirs()
    theirs.compile(optimizer=keras.optimizers.Nadam(), loss="mse")
    theirs.train_on_batch(X[0], Y[0])
    theirs.save(tmp_path / "m.keras")
    with pytest.warns(UserWarning, match="not compiled.*'Nadam'"):
        ours = lstm_np.load_keras(tmp_path / "m.keras")
    assert not ours.compiled
    _assert_same_weights(ours, theirs)


def test_loss_lstm_np_lacks_loads_weights_uncompiled_with_warning(tmp_path):
    theirs = _theirs()
    theirs.compile(optimizer="adam", loss="huber")
    theirs.save(tmp_path / "m.keras")
    with pytest.warns(UserWarning, match="not compiled.*Unknown loss"):
        ours = lstm_np.load_keras(tmp_path / "m.keras")
    assert not ours.compiled


def test_schedule_is_left_out_of_save_keras_with_warning(tmp_path):
    ours = _ours()
    ours.compile(optimizer=optimizers.SGD(lambda step: 0.01), loss="mse")
    ours.train_on_batch(X[0], Y[0])
    with pytest.warns(UserWarning, match="not the compile state: its learning rate is a sched"):
        ours.save_keras(tmp_path / "m.keras")
    theirs = keras.saving.load_model(tmp_path / "m.keras")
    assert not theirs.compiled
    _assert_same_weights(ours, theirs)


def test_optimizer_state_without_keras_installed(tmp_path, monkeypatch):
    ours = _ours()
    ours.compile(optimizer=optimizers.Adam(0.01), loss="mse")
    for i in range(3):
        ours.train_on_batch(X[i], Y[i])
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "keras", None)  # as if Keras were not installed
        ours.save_keras(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        assert "compile_config" in z.read("config.json").decode()
    theirs = keras.saving.load_model(tmp_path / "m.keras")
    assert int(theirs.optimizer.iterations.numpy()) == 3
    ours.train_on_batch(X[3], Y[3])
    theirs.train_on_batch(X[3], Y[3])
    _assert_same_weights(ours, theirs)


def _rewrite(path, edit_config=None, edit_h5=None):
    """Rewrite a .keras file's config.json and/or model.weights.h5 (a damaged file)."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    if edit_config:
        config = json.loads(parts["config.json"])
        edit_config(config)
        parts["config.json"] = json.dumps(config).encode()
    if edit_h5:
        buffer = io.BytesIO(parts["model.weights.h5"])
        with h5py.File(buffer, "r+") as h5:
            edit_h5(h5)
        parts["model.weights.h5"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)


@pytest.fixture
def trained_adam_file(tmp_path):
    theirs = _theirs()
    theirs.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    theirs.train_on_batch(X[0], Y[0])
    theirs.save(tmp_path / "m.keras")
    return tmp_path / "m.keras"


def test_optimizer_variable_count_that_does_not_fit_is_refused(trained_adam_file):
    def to_sgd(config):
        config["compile_config"]["optimizer"].update(class_name="SGD",
                                                     config={"momentum": 0.9})

    _rewrite(trained_adam_file, edit_config=to_sgd)
    with pytest.raises(ValueError, match=r"holds 18 variables; an lstm_np SGD over 8 "
                                         r"trainable weights needs 10"):
        lstm_np.load_keras(trained_adam_file)


def test_optimizer_variable_shape_that_does_not_fit_is_refused(trained_adam_file):
    def wrong_shape(h5):
        del h5["optimizer/vars/2"]
        h5["optimizer/vars"].create_dataset("2", data=np.zeros((2, 2), "float32"))

    _rewrite(trained_adam_file, edit_h5=wrong_shape)
    with pytest.raises(ValueError, match=r"optimizer variable 2 has shape \(2, 2\); its "
                                         r"weight has \(3, 16\)"):
        lstm_np.load_keras(trained_adam_file)


def test_load_model_passes_compile_on(trained_adam_file):
    assert lstm_np.load_model(trained_adam_file).compiled
    assert not lstm_np.load_model(trained_adam_file, compile=False).compiled
