"""Bad input to the Keras readers and writers: each a clear error, each message tested."""

import zipfile

import numpy as np
import pytest
from keras_oracle import require_keras  # noqa: E402

keras = require_keras()
h5py = pytest.importorskip("h5py")

from interop_helpers import (  # noqa: E402
    L,
    assert_same,
    floats,
    keras_out,
    randomize,
    rnn_stacks,
    saved_file,
)

import lstm_np  # noqa: E402
from lstm_np.interop import save_keras  # noqa: E402


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
    path = saved_file(rnn_stacks(), tmp_path)
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
    m = lstm_np.load_keras(saved_file(rnn_stacks(), tmp_path))
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
        lstm_np.load_keras(saved_file(model, tmp_path))

def test_weights_whose_shapes_do_not_fit(tmp_path):
    k = randomize(keras.Sequential([keras.Input((6, 3)), L.LSTM(4), L.Dense(2)]))
    k.save_weights(tmp_path / "w.weights.h5")
    m = lstm_np.Sequential([lstm_np.Input((6, 3)), lstm_np.LSTM(5), lstm_np.Dense(2)])
    with pytest.raises(ValueError, match=r"layers/lstm.*do not fit.*kernel.*\(3, 20\).*"
                                         r"\(3, 16\)"):
        m.load_weights(tmp_path / "w.weights.h5")
    k2 = randomize(keras.Sequential([keras.Input((6, 3)), L.LSTM(4), L.Dense(3)]))
    k2.save_weights(tmp_path / "w2.weights.h5")
    m2 = lstm_np.Sequential([lstm_np.Input((6, 3)), lstm_np.LSTM(4), lstm_np.Dense(2)])
    before = m2.get_weights()
    with pytest.raises(ValueError, match=r"layers/dense.*do not fit"):
        m2.load_weights(tmp_path / "w2.weights.h5")
    for got, old in zip(m2.get_weights(), before, strict=True):  # the LSTM was not changed
        np.testing.assert_array_equal(got, old)


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

    path = saved_file(rnn_stacks(), tmp_path)
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
        lstm_np.load_keras(saved_file(model, tmp_path))

def test_regularizers_are_dropped_with_a_warning(tmp_path):
    model = keras.Sequential([keras.Input((4, 2)), L.LSTM(3, kernel_regularizer="l2")])
    path = saved_file(model, tmp_path)
    with pytest.warns(UserWarning, match="kernel_regularizer.*dropped"):
        loaded = lstm_np.load_keras(path)
    assert_same(loaded(floats(T=4, F=2)), keras_out(model, floats(T=4, F=2)))

def test_weights_file_with_layers_the_model_lacks(tmp_path):
    k = randomize(keras.Sequential([keras.Input((6, 3)), L.LSTM(4), L.Dense(3), L.Dense(2)]))
    k.save_weights(tmp_path / "w.weights.h5")
    m = lstm_np.Sequential([lstm_np.Input((6, 3)), lstm_np.LSTM(4), lstm_np.Dense(3)])
    with pytest.raises(ValueError, match="weights for dense_1.*does not have.*lstm, dense"):
        m.load_weights(tmp_path / "w.weights.h5")

def test_load_weights_into_an_unbuilt_model(tmp_path):
    k = randomize(rnn_stacks())
    k.save_weights(tmp_path / "w.weights.h5")
    m = lstm_np.Sequential([lstm_np.LSTM(3), lstm_np.Dense(1)])
    with pytest.raises(ValueError, match="not built.*Input\\(shape="):
        m.load_weights(tmp_path / "w.weights.h5")

def test_export_refuses_single_layers_and_unbuilt_models(tmp_path):
    with pytest.raises(TypeError, match="export a Sequential or Model; got LSTM"):
        save_keras(lstm_np.LSTM(2), tmp_path / "x.keras")
    with pytest.raises(ValueError, match="not built"):
        save_keras(lstm_np.Sequential([lstm_np.LSTM(2)]), tmp_path / "x.keras")
    assert not (tmp_path / "x.keras").exists()

def test_save_keras_never_overwrites_unless_asked(tmp_path):
    m = lstm_np.load_keras(saved_file(rnn_stacks(), tmp_path))
    target = tmp_path / "out.keras"
    target.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="already exists.*overwrite=True"):
        m.save_keras(target)
    assert target.read_bytes() == b"precious"
    m.save_keras(target, overwrite=True)
    assert zipfile.is_zipfile(target)

def test_save_keras_refuses_a_name_keras_would_not_read(tmp_path):
    m = lstm_np.load_keras(saved_file(rnn_stacks(), tmp_path))
    with pytest.raises(ValueError, match=r"must end in \.keras"):
        save_keras(m, tmp_path / "out.h5")

def test_keras2_activation_cannot_be_exported(tmp_path):
    m = lstm_np.Sequential([lstm_np.Input((3, 2)),
                            lstm_np.LSTM(2, recurrent_activation="hard_sigmoid_keras2")])
    with pytest.raises(ValueError, match="hard_sigmoid_keras2.*Keras 3 does not have"):
        m.save_keras(tmp_path / "x.keras")


def test_keras_ops_used_as_data_are_refused(tmp_path):
    i = keras.Input((6, 3))
    a = L.LSTM(3, return_sequences=True)(i)
    model = keras.Model(i, L.Dense(2)(keras.ops.add(a, a)))
    with pytest.raises(ValueError, match=r"computes 'add' with the Keras op 'Add'.*as data"):
        lstm_np.load_keras(saved_file(model, tmp_path))


def test_failed_save_keras_leaves_no_file_behind(tmp_path, monkeypatch):
    from lstm_np.interop import export

    m = lstm_np.load_keras(saved_file(rnn_stacks(), tmp_path, "in.keras"))
    target = tmp_path / "out.keras"
    target.write_bytes(b"precious")

    def broken(model):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export, "to_keras", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        m.save_keras(target, overwrite=True)
    assert target.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.keras", "out.keras"]
