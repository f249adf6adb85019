"""``lstm-np crosscheck``: real Keras 3 and lstm_np run the same unmodified program.

The end-to-end tests start the command as a user would (each side in its own process),
on the small programs in ``crosscheck_programs/``; the comparison rules are tested on
hand-made records.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lstm_np.tools.crosscheck import compare, hook

PROGRAMS = Path(__file__).parent / "crosscheck_programs"
ROOT = Path(__file__).resolve().parents[2]


def crosscheck(*args, tmp_path, backend="torch", keras_home=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), KERAS_BACKEND=backend)
    if keras_home is not None:
        env["KERAS_HOME"] = str(keras_home)
    code = "import sys; from lstm_np.tools.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, "crosscheck", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)


pytestmark = pytest.mark.keras


@pytest.mark.slow
def test_a_program_that_agrees_exits_0_with_a_per_epoch_loss_table(tmp_path):
    out = tmp_path / "r.json"
    html = tmp_path / "r.html"
    proc = crosscheck(PROGRAMS / "agree.py", "--json", out, "--html", html, tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Agree" in proc.stdout
    result = json.loads(out.read_text())
    fit_rows = [r for r in result["rows"] if r["kind"] == "fit" and r["name"] == "loss"]
    assert [r["epoch"] for r in fit_rows] == [0, 1, 2]
    assert all(r["rel"] <= 1e-4 for r in result["rows"])
    assert {r["kind"] for r in result["rows"]} == {"fit", "evaluate", "predict"}
    assert all(abs(r["keras"] - r["lstm_np"]) <= 1e-4 * abs(r["keras"]) for r in fit_rows)
    assert "Agree" in html.read_text()


@pytest.mark.slow
def test_the_stateful_program_on_jax_parts_and_names_the_carried_state(tmp_path):
    pytest.importorskip("jax")
    out = tmp_path / "r.json"
    proc = crosscheck(PROGRAMS / "stateful.py", "--backend", "jax", "--json", out,
                      tmp_path=tmp_path, backend="jax")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result["parting"]["kind"] == "fit" and result["parting"]["epoch"] == 0
    assert "did not carry the state of 'lstm'" in result["cause"]
    assert "jax backend" in result["cause"]
    assert "did not carry" in proc.stdout.replace("\n", " ")


@pytest.mark.slow
def test_the_stateful_program_on_torch_names_keras_own_limit(tmp_path):
    proc = crosscheck(PROGRAMS / "stateful.py", tmp_path=tmp_path)
    assert proc.returncode == 2
    assert "cannot fit a stateful RNN" in proc.stderr and "--backend jax" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_a_keras2_program_runs_on_lstm_np_alone_and_names_the_api(tmp_path):
    proc = crosscheck(PROGRAMS / "keras2_batch_input_shape.py", tmp_path=tmp_path)
    assert proc.returncode == 2
    text = " ".join(proc.stdout.split())
    assert "Keras 3 cannot run this program: it uses the batch_input_shape argument" in text
    assert "lstm_np fit #1 (model 0): loss per epoch" in text


@pytest.mark.slow
def test_models_built_differently_are_a_clear_error(tmp_path):
    proc = crosscheck(PROGRAMS / "different_order.py", tmp_path=tmp_path)
    assert proc.returncode == 2
    assert "Layer #0 differs between the runs" in proc.stderr
    assert "(2, 16)" in proc.stderr and "(2, 12)" in proc.stderr


@pytest.mark.slow
def test_a_download_without_network_names_the_url_and_the_cache(tmp_path):
    proc = crosscheck(PROGRAMS / "downloads.py", tmp_path=tmp_path, keras_home=tmp_path / "kh")
    assert proc.returncode == 2
    assert "imdb.npz" in proc.stderr and "no network" in proc.stderr
    assert str(tmp_path / "kh" / "datasets" / "imdb.npz") in proc.stderr


@pytest.mark.slow
def test_a_program_that_never_builds_a_model_exits_2(tmp_path):
    proc = crosscheck(PROGRAMS / "never_builds.py", tmp_path=tmp_path)
    assert proc.returncode == 2
    assert "never built and used a model" in proc.stderr


def test_a_missing_or_non_python_program_exits_2(tmp_path):
    proc = crosscheck(tmp_path / "nope.py", tmp_path=tmp_path)
    assert proc.returncode == 2 and "no such file" in proc.stderr
    proc = crosscheck(PROGRAMS / "not_python.py.txt", tmp_path=tmp_path)
    assert proc.returncode == 2 and "is not a Python program" in proc.stderr
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- rules on made-up records
def fit_event(losses, n=0, batch_loss=None):
    return {"kind": "fit", "model": 0, "n": n, "epochs": [{"loss": v} for v in losses],
            "batch_loss": batch_loss or [[] for _ in losses]}


def test_compare_finds_the_first_epoch_and_batch_that_part():
    keras = {"events": [fit_event([1.0, 0.5, 0.25], batch_loss=[[1, 1], [0.6, 0.5], [0.3]])]}
    ours = {"events": [fit_event([1.0, 0.5001, 0.3], batch_loss=[[1, 1], [0.6, 0.5001], [0.3]])]}
    found = compare.compare_runs(keras, ours, {}, {}, tol=1e-4)
    assert found["parting"]["epoch"] == 1 and found["parting"]["batch"] == 1
    assert [round(r["rel"], 6) for r in found["rows"]] == [0.0, 0.0002, 0.166667]


def test_compare_reports_different_paths_and_predictions():
    keras = {"events": [{"kind": "predict", "model": 0, "n": 0, "outputs": 1},
                        {"kind": "evaluate", "model": 0, "n": 1, "values": [1.0]}]}
    ours = {"events": [{"kind": "predict", "model": 0, "n": 0, "outputs": 1},
                       {"kind": "fit", "model": 0, "n": 1, "epochs": []}]}
    k_arrays = {"event/0/0": np.array([[1.0, 2.0]])}
    n_arrays = {"event/0/0": np.array([[1.0, 2.0]])}
    found = compare.compare_runs(keras, ours, k_arrays, n_arrays, tol=1e-4)
    assert found["rows"][0]["rel"] == 0.0
    assert "took different paths" in found["parting"]["why"]
    n_arrays = {"event/0/0": np.array([[1.0, 2.1]])}
    found = compare.compare_runs(keras, ours, k_arrays, n_arrays, tol=1e-4)
    assert found["parting"]["kind"] == "predict"
    assert found["parting"]["rel"] == pytest.approx(0.1 / 2.1)


def test_rel_diff_treats_matching_nans_as_equal_and_shapes_as_infinite():
    assert compare.rel_diff([np.nan, 1.0], [np.nan, 1.0]) == 0.0
    assert compare.rel_diff([np.nan, 1.0], [0.0, 1.0]) == np.inf
    assert compare.rel_diff([1.0, 2.0], [1.0]) == np.inf


def test_explain_states_names_the_side_that_did_not_carry():
    model = {"stateful": ["lstm"]}
    keras = {"backend": "jax", "models": [model], "events": [fit_event([1.0])]}
    ours = {"backend": "lstm_np", "models": [model], "events": [fit_event([1.1])]}
    zeros = {f"event/0/states/0/{b}/0/0": np.zeros((1, 2)) for b in range(3)}
    moving = {f"event/0/states/0/{b}/0/0": np.full((1, 2), b + 1.0) for b in range(3)}
    parting = {"event": 0, "kind": "fit", "epoch": 0}
    cause = compare.explain_states(keras, ours, zeros, moving, parting, 1e-4)
    assert cause.startswith("Keras (jax backend) did not carry the state of 'lstm'")
    cause = compare.explain_states(keras, ours, moving, dict(moving, **{
        "event/0/states/0/2/0/0": np.full((1, 2), 9.0)}), parting, 1e-4)
    assert cause == "The states carried by 'lstm' first differ after batch 3 of epoch 1."


def test_the_import_hook_maps_keras_modules_to_lstm_np_and_names_missing_ones():
    finder = hook.AliasFinder({"keras": "lstm_np", "tensorflow.keras": "lstm_np"}, hook.RENAMES)
    assert finder.target_of("keras.layers") == "lstm_np.layers"
    assert finder.target_of("tensorflow.keras.models") == "lstm_np.models"
    assert finder.target_of("keras.ops") == "lstm_np.backend"
    assert finder.target_of("kerasx") is None
    import lstm_np.layers

    spec = finder.find_spec("keras.layers")
    assert spec.loader.create_module(spec) is lstm_np.layers
    with pytest.raises(ModuleNotFoundError, match="'keras.no_such_module' is imported by the "
                       "program; its counterpart 'lstm_np.no_such_module' does not exist"):
        finder.find_spec("keras.no_such_module")
