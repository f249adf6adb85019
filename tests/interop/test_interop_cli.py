"""``lstm-np inspect`` / ``lstm-np verify`` on models Keras saves during the test."""

import numpy as np
import pytest
from keras_oracle import require_keras  # noqa: E402

keras = require_keras()
pytest.importorskip("h5py")

import click  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from interop_helpers import (  # noqa: E402
    autoencoder,
    bidirectional_gru,
    embedding_lstm_td,
    floats,
    randomize,
    seq2seq_with_states,
)

from lstm_np.tools import keras_check as cli  # noqa: E402


@click.group()
def lstm_np_cli():
    """Stand-in for the lstm-np group, registering the commands as lstm_np.tools.cli does."""


lstm_np_cli.add_command(cli.inspect_command)
lstm_np_cli.add_command(cli.verify_command)


def run(*args):
    return CliRunner().invoke(lstm_np_cli, [str(a) for a in args])


@pytest.fixture
def saved(tmp_path):
    def save(make, name="m.keras"):
        model = randomize(make())
        model.save(tmp_path / name)
        return model, tmp_path / name
    return save


def test_inspect_prints_layers_shapes_and_parameter_counts(saved):
    model, path = saved(embedding_lstm_td)
    result = run("inspect", path)
    assert result.exit_code == 0, result.output
    for layer in model.layers:
        assert layer.name in result.output
    assert "(None, 6, 4)" in result.output  # the LSTM's output shape
    assert f"Total params: {model.count_params():,}" in result.output


def test_verify_passes_and_lists_every_layer(saved):
    model, path = saved(bidirectional_gru)
    result = run("verify", path, "--random", 3)
    assert result.exit_code == 0, result.output
    for layer in model.layers:
        assert layer.name in result.output
    assert "4/4 outputs within tol=1e-05 (3 samples)" in result.output


def test_verify_nested_models_and_token_inputs(saved):
    for make in (autoencoder, embedding_lstm_td):
        _, path = saved(make, f"{make.__name__}.keras")
        result = run("verify", path)
        assert result.exit_code == 0, result.output
        assert "ABOVE TOL" not in result.output
    # autoencoder: the layers inside the encoder and decoder models get rows of their own
    model, path = saved(autoencoder)
    output = run("verify", path).output
    for nested in model.layers[1:]:
        for layer in (la for la in nested.layers if type(la).__name__ != "InputLayer"):
            assert f"{nested.name}/{layer.name} ({type(layer).__name__})" in output


def test_verify_exits_1_above_tolerance(saved):
    _, path = saved(bidirectional_gru)
    result = run("verify", path, "--tol", 0)  # float32 rounding differs from Keras' by ~1e-8
    assert result.exit_code == 1
    assert "ABOVE TOL" in result.output


def test_verify_finds_a_wrong_weight_in_its_layer(saved, monkeypatch):
    model, path = saved(embedding_lstm_td)
    real = cli.load_keras

    def tampered(p, engine=None):
        model = real(p, engine=engine)
        weights = model.layers[1].get_weights()
        weights[2][0] += 0.5  # one bias entry of the LSTM
        model.layers[1].set_weights(weights)
        return model

    monkeypatch.setattr(cli, "load_keras", tampered)
    result = run("verify", path)
    assert result.exit_code == 1
    lines = {line.split()[0]: line for line in result.output.splitlines() if line}
    embedding, lstm, td = (layer.name for layer in model.layers)
    assert lines[embedding].endswith("OK")
    assert "ABOVE TOL" in lines[lstm] and "ABOVE TOL" in lines[td]


def test_verify_with_input_files(saved, tmp_path):
    _, path = saved(bidirectional_gru)
    np.save(tmp_path / "x.npy", floats(B=2))
    result = run("verify", path, "--input", tmp_path / "x.npy")
    assert result.exit_code == 0, result.output
    assert "(2 samples)" in result.output
    _, path2 = saved(seq2seq_with_states, "s2s.keras")
    np.savez(tmp_path / "xs.npz", floats(B=2), floats(B=2, T=4, F=2, seed=3))
    assert run("verify", path2, "--input", tmp_path / "xs.npz").exit_code == 0
    result = run("verify", path2, "--input", tmp_path / "x.npy")
    assert result.exit_code == 2 and "2 input(s); --input gave 1" in result.output


def test_verify_bad_arguments(saved, tmp_path):
    _, path = saved(bidirectional_gru)
    np.save(tmp_path / "x.npy", floats())
    result = run("verify", path, "--input", tmp_path / "x.npy", "--random", 2)
    assert result.exit_code == 2 and "not both" in result.output
    (tmp_path / "bad.npy").write_text("nope")
    result = run("verify", path, "--input", tmp_path / "bad.npy")
    assert result.exit_code == 2 and "not a .npy/.npz array file" in result.output
    result = run("verify", tmp_path / "missing.keras")
    assert result.exit_code == 2 and "No such file" in result.output
    result = run("inspect", tmp_path / "x.npy")
    assert result.exit_code == 2 and "neither a Keras 3 .keras file" in result.output


def test_verify_without_keras_says_what_to_install(saved, monkeypatch):
    import sys

    _, path = saved(bidirectional_gru)
    monkeypatch.setitem(sys.modules, "keras", None)
    result = run("verify", path)
    assert result.exit_code == 2 and "needs Keras 3" in result.output


def test_inspect_weights_lists_every_array_in_keras_layout(saved):
    model, path = saved(autoencoder)
    result = run("inspect", "--weights", path)
    assert result.exit_code == 0, result.output
    encoder = model.layers[1]
    lstm = encoder.layers[-1]
    assert f"{encoder.name}/{lstm.name}/kernel" in result.output
    assert "(3, 20)" in result.output and "(5, 20)" in result.output  # (F, 4u), (u, 4u)
    n_arrays = sum(1 for line in result.output.splitlines() if line.startswith("  "))
    assert n_arrays == len(model.weights)


def test_verify_numpy_engine(saved):
    _, path = saved(bidirectional_gru)
    result = run("verify", path, "--engine", "numpy")
    assert result.exit_code == 0, result.output
    assert run("verify", path, "--engine", "cuda").exit_code == 2  # click refuses the choice


def test_random_token_inputs_include_padding(saved):
    _, path = saved(embedding_lstm_td)
    model = cli.load_keras(path)
    (x,) = cli.random_inputs(model, 6, 10, seed=1)
    assert x.shape == (6, 6) and x.dtype.kind == "i"
    assert (x[1::2, 0] == 0).all() and (x[0::2] != 0).all() and x.max() < 20


@pytest.mark.slow  # a fresh Python process (imports, JIT) takes 4-30 s
def test_commands_run_as_a_program(saved):
    """The real process exits 1 above tol (what a CI script checks; 0 is tested above)."""
    import os
    import subprocess
    import sys

    _, path = saved(bidirectional_gru)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))

    def program(*args):
        return subprocess.run([sys.executable, "-m", "lstm_np.tools.keras_check", *map(str, args)],
                              capture_output=True, text=True, env=env, timeout=300)

    above = program("verify", path, "--random", 2, "--tol", 0)  # float32 rounding > 0
    assert above.returncode == 1, above.stdout + above.stderr
    assert "ABOVE TOL" in above.stdout and "outputs within tol=0" in above.stdout
