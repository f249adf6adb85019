"""The table of file formats that model.save / load_weights / load_model look files up in
(lstm_np/models/file_formats.py, filled by lstm_np/saving/__init__.py)."""

import numpy as np
import pytest

import lstm_np
from lstm_np.models.file_formats import find_format, format_named


def _model():
    return lstm_np.Sequential([lstm_np.LSTM(2, input_shape=(3, 1), seed=0), lstm_np.Dense(1)])


def test_unknown_format_names_the_known_ones():
    with pytest.raises(ValueError, match=r"No file format named 'onnx'; known formats: keras "
                                         r"\(recognised by content\), lstm_np \(\.npz\)"):
        format_named("onnx")


def test_unknown_operation_is_refused():
    with pytest.raises(ValueError, match=r"Unknown file operation 'export'; expected one of"):
        find_format("m.npz", "export")


def test_writes_go_by_name_and_reads_by_content(tmp_path):
    model = _model()
    assert find_format(tmp_path / "m.npz", "save_model").name == "lstm_np"
    assert find_format(tmp_path / "m.keras", "save_model").name == "lstm_np"  # model.save
    model.save_keras(tmp_path / "m.keras")
    assert find_format(tmp_path / "m.keras", "load_model").name == "keras"
    model.save(tmp_path / "own.keras")  # lstm_np's format, whatever the name
    assert find_format(tmp_path / "own.keras", "load_model").name == "lstm_np"
    x = np.random.default_rng(0).normal(size=(2, 3, 1))
    for name in ("m.keras", "own.keras"):
        np.testing.assert_allclose(lstm_np.load_model(tmp_path / name).predict(x, verbose=0),
                                   model.predict(x, verbose=0), rtol=1e-6)
