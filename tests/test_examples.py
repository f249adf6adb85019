"""Every script in examples/ runs in quick mode and does what its docstring says.

Each example runs in a subprocess, as a user runs it (``python examples/NN_name.py``), with
``LSTM_NP_QUICK=1`` (few epochs, small data) and ``LSTM_NP_OUT`` pointing at a temporary
folder. The checks: it exits cleanly, it prints the shapes of its stages (the exact
strings below), every ``loss <name>: first -> last`` line it prints went down, and it
wrote its PNG files. The examples are also checked for the notebook cell format and a
module docstring that states their question.
"""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

#: script -> (strings its output must contain, PNG files it must write)
EXPECTED = {
    "01_airline_windows_vs_features_vs_stateful.py": (
        ["create_dataset(look_back=3): trainX (92, 3) trainY (92,)  testX (44, 3) testY (44,)",
         "look_back as time steps: trainX (92, 3, 1)  testX (44, 3, 1)",
         "look_back as features  : trainX (92, 1, 3)  testX (44, 1, 3)",
         "[stateful] state shapes after a batch: [(1, 4), (1, 4)]",
         "weights [(3, 16), (4, 16), (16,), (4, 1), (1,)]", "train RMSE   test RMSE"],
        ["01_airline_forecast.png", "01_airline_loss.png"]),
    "02_many_to_one_vs_many_to_many.py": (
        ["data (tanks, hours, sensors) = (256, 6, 2)", "X (256, 5, 2)",
         "many-to-one  target y (256, 2)", "many-to-many target y (256, 5, 2)",
         "LSTM            -> (4, 16)", "LSTM            -> (4, 5, 16)",
         "TimeDistributed -> (4, 5, 2)", "many-to-one with y (256, 5, 2): ValueError",
         "predictions: many-to-one (52, 2), many-to-many (52, 5, 2)"],
        ["02_tanks_predictions.png"]),
    "03_one_to_many_repeatvector.py": (
        ["X (256, 3)", "Y (256, 20, 1)", "RepeatVector    -> (2, 20, 3)",
         "LSTM            -> (2, 20, 32)", "TimeDistributed -> (2, 20, 1)",
         "predict: X[split:] (52, 3) -> (52, 20, 1)"],
        ["03_one_to_many_repeatvector.png"]),
    "04_one_to_many_stateful_generation.py": (
        ["X = data[:, :-1] (64, 60, 2), Y = data[:, 1:] (64, 60, 2)",
         "input (batch, chunk, features) = (16, 10, 2)", "generator: input (4, 1, 2)",
         "generated (4, 61, 2) from starting points (4, 1, 2)"],
        ["04_stateful_generation.png"]),
    "05_stateful_forecasting.py": (
        ["windows (72, 37, 1): inputs X[:, :-1] (72, 36, 1), targets X[:, 1:] (72, 36, 1)",
         "known[None] (1, 108, 1) -> (1, 108, 1); state [(1, 32), (1, 32)]",
         "generated future (36, 1)"],
        ["05_stateful_forecast.png"]),
    "06_sequence_autoencoder.py": (
        ["X (256, 30, 1)", "encoder     : (None, 30, 1) -> (None, 6)",
         "decoder     : (None, 6) -> (None, 30, 1)",
         "autoencoder : (None, 30, 1) -> (None, 30, 1)",
         "codes (52, 6); decoder.predict -> (52, 30, 1)",
         "decoder(encoder(x)) equals autoencoder(x): max difference 0.00e+00"],
        ["06_autoencoder.png"]),
    "07_char_text.py": (
        ["X (120, 40) int64, Y (120, 40)", "Embedding       -> (2, 40, 16)",
         "LSTM            -> (2, 40, 64)", "each output row sums to 1: True",
         "loss LSTM:", "loss GRU:", "LSTM sample, temperature 0.3: 'we hold these truths",
         "along 'four score and seven years ago': (30, "],
        ["07_char_text.png"]),
    "08_stateful_vs_stateless.py": (
        ["stateful, 2 calls of 4 steps vs stateless, 1 call of 8: max difference 0.0e+00",
         "after reset_states(): h = [0. 0. 0.]",
         "one set: streams (16, 200, 1) -> samples (320, 10, 1)",
         "targets (320, 10, 1)", "loss stateful, shuffle=False:"],
        ["08_stateful_vs_stateless.png"]),
}

LOSS = re.compile(r"^loss (.+?): (\S+) -> (\S+)", re.M)


def test_every_example_is_listed():
    assert sorted(p.name for p in EXAMPLES.glob("[0-9][0-9]_*.py")) == sorted(EXPECTED)
    assert len(EXPECTED) >= 8


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_is_a_notebook_with_a_question(name):
    source = (EXAMPLES / name).read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(source))
    assert doc and "?" in doc, "the docstring states the question it answers"
    assert "LSTM_NP_QUICK" in source and "LSTM_NP_OUT" in source
    assert source.count("# %%") >= 4, "cells: opens as a notebook in Jupyter / VS Code"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_in_quick_mode(name, tmp_path):
    env = dict(os.environ, LSTM_NP_QUICK="1", LSTM_NP_OUT=str(tmp_path / "out"),
               MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, str(EXAMPLES / name)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-3000:]
    strings, pngs = EXPECTED[name]
    for s in strings:
        assert s in out, f"{s!r} not printed by {name}:\n{out}"
    losses = LOSS.findall(out)
    assert losses, f"{name} prints no 'loss <name>: first -> last' line"
    for label, first, last in losses:
        assert float(last) < float(first), f"{name}: loss {label} did not go down"
    for png in pngs:
        data = (tmp_path / "out" / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 15_000, png
    assert not list(tmp_path.glob("*.png")), "plots go to LSTM_NP_OUT, not the cwd"
