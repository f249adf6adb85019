"""The ``lstm-np`` command line: ``demo`` (the README's main job) and ``explain``.

The demo's training loop is also checked step for step against Keras 3 (its LSTM, Dense
and Adam, with the state carried by hand between batches of one), since it must train
exactly what the tutorial's Keras model trains.
"""

import ast
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from keras_oracle import assert_close, keras, needs_keras

from lstm_np import demo
from lstm_np.tools.cli import main
from lstm_np.tools.explain import LAYERS, explain, parse_input_shape


def _invoke(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


# ----------------------------------------------------------------------------- demo


def test_demo_walks_through_shapes_trains_and_writes_the_png(tmp_path):
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path):
        result = runner.invoke(main, ["demo", "--epochs", "2"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        out = result.output
        png = Path("out", "airline_forecast.png")  # the default --out, relative to cwd
        assert png.exists()
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    # The walk-through, with the shapes of the actual data.
    for text in ("trainX (92, 3, 1)", "testX (44, 3, 1)", "samples = 92 windows",
                 "(1, 3, 1) -> (1, 4)", "(1, 3, 1) -> (1, 3, 4)", "many-to-one",
                 "many-to-many", "stateful=True, batch_input_shape=(1, 3, 1)",
                 "initial state of batch k+1", "2 epochs x 92 batches"):
        assert text in out, text
    train = re.search(r"Train RMSE: (\d+\.\d+) thousand passengers", out)
    test = re.search(r"Test RMSE: (\d+\.\d+) thousand passengers", out)
    assert train and test
    assert 5 < float(train.group(1)) < 200 and 5 < float(test.group(1)) < 300
    assert "Forecast plot written to out/airline_forecast.png" in out


def test_demo_out_option_and_returned_scores(tmp_path):
    result = _invoke(["demo", "--epochs", "1", "--out", str(tmp_path / "plots"),
                      "--no-progress", "--engine", "numpy"])
    assert result.exit_code == 0
    assert (tmp_path / "plots" / "airline_forecast.png").exists()
    r = demo.run(out=str(tmp_path / "again"), epochs=1, progress=False, echo=lambda *_: None,
                 engine="numpy")
    # Same seed, same data, same engine: the CLI printed the numbers run() returns.
    assert f"Train RMSE: {r['train_rmse']:.2f}" in result.output
    assert f"Test RMSE: {r['test_rmse']:.2f}" in result.output


def test_demo_without_matplotlib_still_trains_and_says_how_to_get_the_plot(tmp_path,
                                                                          monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.delitem(sys.modules, "lstm_np.tools.plot", raising=False)
    lines = []
    r = demo.run(out=str(tmp_path), epochs=1, progress=False, echo=lines.append)
    assert r["png"] is None and not any(tmp_path.iterdir())
    assert any("No plot:" in line and "pip install 'lstm_np[plot]'" in line for line in lines)
    assert any("Test RMSE:" in line for line in lines)


def test_demo_training_lowers_the_loss():
    d = demo.load()
    model = demo.build_model(seed=7)
    losses = demo.train(model, d["trainX"], d["trainY"], epochs=8, progress=False)
    assert losses[-1] < 0.6 * max(losses[:2])


def test_demo_rejects_bad_epochs():
    result = CliRunner().invoke(main, ["demo", "--epochs", "0"])
    assert result.exit_code == 2 and "--epochs" in result.output


def test_load_is_the_tutorials_preparation():
    d = demo.load()
    assert d["trainX"].shape == (92, 3, 1) and d["testX"].shape == (44, 3, 1)
    assert d["dataset"].min() == 0 and d["dataset"].max() == 1
    np.testing.assert_allclose(d["scaler"].inverse_transform(d["dataset"])[:, 0], d["series"],
                               rtol=1e-6)
    np.testing.assert_array_equal(d["trainX"][1, :, 0], d["dataset"][1:4, 0])


@pytest.mark.keras
@needs_keras
def test_demo_training_equals_keras_lstm_dense_adam_step_for_step():
    import torch

    d = demo.load()
    X, y = d["trainX"][:30], d["trainY"][:30]
    ours = demo.build_model(seed=7)
    lstm, dense = keras.layers.LSTM(4, return_state=True), keras.layers.Dense(1)
    dense(lstm(X[:1])[0])
    start = ours.get_weights()  # LSTM kernel, recurrent_kernel, bias; Dense kernel, bias
    lstm.set_weights(start[:3])
    dense.set_weights(start[3:])
    optimizer = keras.optimizers.Adam()
    variables = lstm.trainable_variables + dense.trainable_variables
    keras_losses = []
    for _ in range(3):  # stateful by hand: each batch starts from the last one's (h, c)
        h = c = torch.zeros(1, 4)
        total = 0.0
        for s in range(len(X)):
            out, h_new, c_new = lstm(torch.tensor(X[s:s + 1]), initial_state=[h, c])
            loss = torch.mean((dense(out) - torch.tensor(y[s:s + 1]).reshape(1, 1)) ** 2)
            grads = torch.autograd.grad(loss, [v.value for v in variables])
            optimizer.apply(list(grads), variables)
            h, c = h_new.detach(), c_new.detach()  # truncated BPTT, as a stateful fit does
            total += float(loss.detach())
        keras_losses.append(total / len(X))
    losses = demo.train(ours, X, y, epochs=3, progress=False)
    assert_close(losses, keras_losses, rtol=1e-4, atol=0)
    for k, o in zip(variables, ours.get_weights(), strict=True):
        assert_close(o, keras.ops.convert_to_numpy(k), rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- explain


def test_explain_many_to_many_example_from_the_readme():
    result = _invoke(["explain", "LSTM(4, return_sequences=True)", "--input-shape", "32,3,1"])
    assert result.exit_code == 0
    out = result.output
    assert re.search(r"kernel\s+\(1, 16\)\s+16 parameters\s+= \[W_i \| W_f \| W_c \| W_o\]", out)
    assert re.search(r"recurrent_kernel\s+\(4, 16\)\s+64 parameters", out)
    assert re.search(r"bias\s+\(16,\)\s+16 parameters", out)
    assert "total: 16 + 64 + 16 = 96 parameters" in out
    assert "Output: (32, 3, 4)" in out
    assert re.search(r"output\s+y1\s+y2\s+y3", out)
    assert "many-to-many" in out and "Not stateful" in out


def test_explain_many_to_one_stateful_backwards_with_states():
    text = explain("LSTM(8, stateful=True, go_backwards=True, return_state=True)", "16,20,3")
    assert "Output (return_state=True): [output, h, c] = (16, 8), (16, 8), (16, 8)" in text
    assert re.search(r"input\s+x20\s+x19\s+x18\s+\.\.\.\s+x1", text)  # processing order
    assert re.search(r"output\s+y20\s+only the last step emits", text)
    assert "many-to-one" in text and "reads input step 1" in text
    assert "row j of batch k+1 starts from the final (h, c) of row j of batch k" in text
    assert "fit never resets them" in text


@pytest.mark.keras
@needs_keras
@pytest.mark.parametrize("spec,shape", [
    ("LSTM(4, return_sequences=True)", (32, 3, 1)),
    ("LSTM(7)", (2, 5, 3)),
    ("LSTM(3, use_bias=False, return_state=True)", (4, 6, 2)),
    ("GRU(4, return_sequences=True)", (8, 3, 2)),
    ("GRU(4, reset_after=False, return_state=True)", (8, 3, 2)),
    ("SimpleRNN(5, return_sequences=True, return_state=True)", (2, 4, 3)),
])
def test_explain_counts_and_shapes_match_keras(spec, shape):
    call = ast.parse(spec, mode="eval").body
    if call.func.id not in LAYERS:
        pytest.skip(f"lstm_np has no {call.func.id} yet")
    text = explain(spec, shape)
    k = getattr(keras.layers, call.func.id)(
        *[ast.literal_eval(a) for a in call.args],
        **{kw.arg: ast.literal_eval(kw.value) for kw in call.keywords})
    k.build(shape)
    assert f"= {k.count_params()} parameters" in text
    for w in k.weights:
        assert str(tuple(w.shape)) in text
    out = k.compute_output_shape(shape)
    several = isinstance(out[0], (tuple, list))  # return_state: one shape per output
    expected = ", ".join(str(tuple(s)) for s in out) if several else str(tuple(out))
    assert expected in text


@pytest.mark.parametrize("spec,message", [
    ("LSTM(4", "Cannot parse layer spec"),
    ("Dense(3)", "Unknown layer 'Dense'"),
    ("LSTM(units=n)", "arguments must be literals"),
    ("LSTM(4, **opts)", "arguments must be literals"),
    ("lstm_np.LSTM(4)", "is not a layer call"),
    ("LSTM(4, foo=1)", "unexpected keyword argument"),
    ("LSTM(0)", "units must be a positive integer"),
    ("LSTM(4, kernel_regularizer='l2')", "kernel_regularizer is not supported"),
])
def test_explain_bad_specs_give_a_clear_usage_error(spec, message):
    result = CliRunner().invoke(main, ["explain", spec, "--input-shape", "1,2,3"])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_explain_never_evaluates_the_spec(tmp_path):
    target = tmp_path / "pwned"
    spec = f"__import__('pathlib').Path({str(target)!r}).touch()"
    result = CliRunner().invoke(main, ["explain", spec, "--input-shape", "1,2,3"])
    assert result.exit_code == 2 and not target.exists()
    result = CliRunner().invoke(main, ["explain", f"LSTM({spec})", "--input-shape", "1,2,3"])
    assert result.exit_code == 2 and not target.exists()


@pytest.mark.parametrize("shape", ["32,3", "a,b,c", "0,3,1", "32,None,1", ""])
def test_explain_bad_input_shape(shape):
    result = CliRunner().invoke(main, ["explain", "LSTM(4)", "--input-shape", shape])
    assert result.exit_code == 2
    assert "--input-shape must be three positive integers batch,timesteps,features" in \
        result.output


def test_explain_stateful_needs_a_batch_size():
    assert parse_input_shape("None,3,1") == (None, 3, 1)
    result = CliRunner().invoke(main, ["explain", "LSTM(4, stateful=True)", "--input-shape",
                                       "None,3,1"])
    assert result.exit_code == 2 and "A stateful layer needs a fixed batch size" in result.output


def test_explain_takes_the_keras2_shape_arguments_of_the_spec():
    text = explain("LSTM(4, stateful=True, batch_input_shape=(8, 3, 1))", "None,3,1")
    assert "Stateful: the batch size is fixed at 8" in text
    with pytest.raises(ValueError, match="declares input shape \\(None, 3, 2\\) \\(2 features\\) "
                                         "but --input-shape gives 1 features"):
        explain("LSTM(4, input_shape=(3, 2))", "4,3,1")


def test_help_and_version():
    result = _invoke(["--help"])
    assert "demo" in result.output and "explain" in result.output
    assert "version" in _invoke(["--version"]).output
