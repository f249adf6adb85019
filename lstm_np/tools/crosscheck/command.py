"""The ``lstm-np crosscheck`` command: run both sides, compare, report, exit 0/1/2.

Exit codes: 0 the runs agree within ``--tol``; 1 they part (the report says where and, when
it can, why); 2 the check could not run (a bad program, a side that raised, models that do
not correspond, a download without a network, no model built).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import click
import numpy as np
from rich.console import Console

from . import compare, report


class CouldNotRun(Exception):
    """The check cannot run (exit 2); the message says why."""


def _check_program(program: str) -> None:
    path = Path(program)
    if not path.is_file():
        raise CouldNotRun(f"{program}: no such file. Give the path of a Python program.")
    try:
        source = path.read_bytes()
        compile(source, program, "exec")
    except (SyntaxError, ValueError, UnicodeDecodeError) as exc:
        raise CouldNotRun(f"{program} is not a Python program ({type(exc).__name__}: "
                          f"{exc}).") from None


def _run_side(side, workdir: Path, program, args, backend, seed, mode, timeout, alone=False):
    env = dict(os.environ, KERAS_BACKEND=backend, MPLBACKEND="Agg",
               CROSSCHECK_SEED=str(seed), CROSSCHECK_MODE=mode,
               PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[3]),
                                           os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    if alone:
        (workdir / "keras.json").write_text(json.dumps({"models": []}))
        np.savez(workdir / "keras.npz")
    cmd = [sys.executable, "-m", "lstm_np.tools.crosscheck.child", side, str(workdir),
           program, *args]
    log = workdir / f"{side}.log"
    try:
        with open(log, "w") as out:
            proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise CouldNotRun(f"The {side} run took longer than --timeout {timeout} s.") from None
    path = workdir / f"{side}.json"
    if not path.exists():
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise CouldNotRun(f"The {side} run stopped without a record (exit status "
                          f"{proc.returncode}). Its last output:\n{tail}")
    record = json.loads(path.read_text())
    with np.load(workdir / f"{side}.npz") as arrays:
        record["arrays"] = dict(arrays)
    return record


def _error(record, side):
    error = dict(record["error"])
    error["side"] = "Keras" if side == "keras" else "lstm_np"
    return error


def _fit_summary(record) -> list[str]:
    lines = []
    for i, event in enumerate(record["events"]):
        if event["kind"] == "fit":
            losses = [e.get("loss") for e in event.get("epochs", [])]
            lines.append(f"lstm_np fit #{i + 1} (model {event['model']}): loss per epoch "
                         + ", ".join(f"{v:.6g}" for v in losses if v is not None))
        elif event["kind"] in ("predict", "predict_on_batch"):
            shapes = [record["arrays"][f"event/{event['n']}/{j}"].shape
                      for j in range(event.get("outputs", 0))]
            lines.append(f"lstm_np {event['kind']} #{i + 1}: output shapes {shapes}")
    return lines


def crosscheck(program, args, backend, mode, seeds, tol, timeout, workdir: Path) -> dict:
    """Run the check; returns the result dict with ``exit`` 0, 1 or 2."""
    result = {"program": program, "backend": backend, "mode": mode, "tol": tol,
              "rows": [], "errors": [], "parting": None, "cause": None, "layer_diff": []}
    _check_program(program)
    runs = []
    for seed in range(seeds):
        run_dir = workdir / f"seed{seed}"
        run_dir.mkdir(parents=True, exist_ok=True)
        keras_run = _run_side("keras", run_dir, program, args, backend, seed, mode, timeout)
        if keras_run["status"] != "ok":
            error = _error(keras_run, "keras")
            result["errors"].append(error)
            if error["network"]:
                raise CouldNotRun(error["message"])
            if error["keras2"]:
                ours = _run_side("lstm_np", run_dir, program, args, backend, seed, mode,
                                 timeout, alone=True)
                result["own_run"] = _fit_summary(ours)
                if ours["status"] != "ok":
                    result["errors"].append(_error(ours, "lstm_np"))
                result["verdict"] = (
                    f"Keras 3 cannot run this program: it uses {error['keras2']}, a Keras 2 "
                    "API. lstm_np ran it alone" + (" (its run is above)." if ours["status"]
                                                   == "ok" else " and failed too."))
                result["exit"] = 2
                return result
            known = compare.known_keras_failure(backend, error)
            raise CouldNotRun(f"The Keras run raised {error['type']} at {error['where']}: "
                              f"{error['message']}" + (f"\n{known}" if known else ""))
        if not keras_run["models"]:
            raise CouldNotRun(f"{program} never built and used a model (no fit, evaluate or "
                              "predict ran): there is nothing to compare.")
        ours = _run_side("lstm_np", run_dir, program, args, backend, seed, mode, timeout)
        if ours["status"] != "ok":
            error = _error(ours, "lstm_np")
            result["errors"].append(error)
            if error["mismatch"]:
                raise CouldNotRun(error["message"])
            raise CouldNotRun(f"The lstm_np run raised {error['type']} at {error['where']}: "
                              f"{error['message']}")
        runs.append((keras_run, ours))
    if mode == "exact":
        return _exact(result, runs[0], workdir / "seed0", backend, timeout)
    return _as_written(result, runs)


def _exact(result, run, run_dir, backend, timeout):
    keras_run, ours = run
    found = compare.compare_runs(keras_run, ours, keras_run["arrays"], ours["arrays"],
                                 result["tol"])
    result["rows"], parting = found["rows"], found["parting"]
    result["parting"] = parting
    if parting is None:
        result["verdict"] = (f"[green]Agree[/]: {len(found['rows'])} values within "
                             f"tol={result['tol']:g} (relative).")
        result["exit"] = 0
        return result
    where = _where(parting)
    result["cause"] = compare.explain_states(keras_run, ours, keras_run["arrays"],
                                             ours["arrays"], parting, result["tol"])
    if result["cause"] is None and parting.get("kind") == "fit" and "epoch" in parting:
        event = keras_run["events"][parting["event"]]
        result["layer_diff"], note = _layer_diff(run_dir, event, parting["epoch"], backend,
                                                 timeout)
        bad = [r for r in result["layer_diff"] if r["rel"] > result["tol"]]
        if bad:
            result["cause"] = (f"With the same weights and batch, the first layer that "
                               f"differs is {bad[0]['layer']} ({bad[0]['class']}).")
        elif note:
            result["cause"] = note
        elif result["layer_diff"]:
            result["cause"] = ("With the same weights and batch every layer agrees: the runs "
                               "part in training (gradients, the optimizer, or the order of "
                               "batches).")
    result["verdict"] = f"[red]The runs part[/] {where}." + (
        f" {result['cause']}" if result["cause"] else "")
    result["exit"] = 1
    return result


def _where(parting) -> str:
    text = f"at {parting['kind']} #{parting['event'] + 1}"
    if parting.get("epoch") is not None:
        text += f", epoch {parting['epoch'] + 1}"
    if parting.get("batch") is not None:
        text += f", batch {parting['batch'] + 1}"
    if parting.get("name"):
        text += f" ({parting['name']}: relative difference {parting['rel']:.2e})"
    if parting.get("why"):
        text += f": {parting['why']}"
    return text


def _layer_diff(run_dir, event, epoch, backend, timeout):
    if not (run_dir / f"model_{event['model']}.keras").exists():
        return [], None
    env = dict(os.environ, KERAS_BACKEND=backend)
    cmd = [sys.executable, "-m", "lstm_np.tools.crosscheck.layerdiff", str(run_dir),
           str(event["n"]), str(epoch), str(event["model"])]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError):
        return [], "The layer-by-layer diff could not run."
    if "error" in out:
        return [], f"The layer-by-layer diff could not run ({out['error']})."
    return out["rows"], None


def _as_written(result, runs):
    """Per-epoch loss ranges over the seeds, each side; they part where ranges do not meet."""
    rows, parting = [], None
    first_k, first_n = runs[0]
    for i, event in enumerate(first_k["events"]):
        if event["kind"] != "fit":
            continue
        for epoch in range(len(event.get("epochs", []))):
            for name in event["epochs"][epoch]:
                ks = [k["events"][i]["epochs"][epoch].get(name) for k, _ in runs
                      if i < len(k["events"]) and epoch < len(k["events"][i].get("epochs", []))]
                ns = [n["events"][i]["epochs"][epoch].get(name) for _, n in runs
                      if i < len(n["events"]) and epoch < len(n["events"][i].get("epochs", []))]
                ks, ns = [v for v in ks if v is not None], [v for v in ns if v is not None]
                if not ks or not ns:
                    continue
                # Ranges that do not meet by more than their own widths part.
                slack = max(result["tol"] * max(abs(v) for v in ks + ns),
                            0.5 * (max(ks) - min(ks) + max(ns) - min(ns)))
                gap = max(min(ns) - max(ks), min(ks) - max(ns), 0.0)
                rel = gap / max(abs(v) for v in ks + ns + [1e-12])
                rows.append({"event": i, "kind": "fit", "model": event["model"],
                             "epoch": epoch, "name": name,
                             "keras": [min(ks), max(ks)], "lstm_np": [min(ns), max(ns)],
                             "rel": 0.0 if gap <= slack else rel})
                if gap > slack and parting is None:
                    parting = {"event": i, "kind": "fit", "epoch": epoch, "name": name,
                               "rel": rel}
    result["rows"], result["parting"] = rows, parting
    n = len(runs)
    if parting is None:
        result["verdict"] = (f"[green]Agree[/]: over {n} seeds each epoch's range on lstm_np "
                             "meets Keras' range.")
        result["exit"] = 0
    else:
        result["verdict"] = (f"[red]The runs part[/] {_where(parting)}: over {n} seeds the "
                             "ranges do not meet.")
        result["exit"] = 1
    return result


@click.command("crosscheck", context_settings={"ignore_unknown_options": True})
@click.argument("program", type=click.Path(dir_okay=False))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--backend", type=click.Choice(["torch", "jax"]), default=None,
              help="Keras backend (default: $KERAS_BACKEND, else torch).")
@click.option("--exact/--as-written", default=True, show_default=True,
              help="--exact: shuffle and dropout off on both sides, values compared one by "
                   "one. --as-written: the program as it is, loss ranges over --seeds runs.")
@click.option("--seeds", type=click.IntRange(min=1), default=None,
              help="Runs per side with --as-written (default 3).")
@click.option("--tol", type=click.FloatRange(min=0), default=1e-4, show_default=True,
              help="Largest relative difference that still agrees.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Write the result as JSON too.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), default=None,
              help="Write the report as HTML too.")
@click.option("--timeout", type=click.IntRange(min=1), default=1800, show_default=True,
              help="Seconds each run may take.")
@click.option("--keep", type=click.Path(file_okay=False), default=None,
              help="Keep the runs' records and logs in this folder.")
def crosscheck_command(program, args, backend, exact, seeds, tol, json_path, html_path,
                       timeout, keep):
    """Run PROGRAM.py (a Keras program, unmodified) on Keras and on lstm_np and show where
    they part. Exit 0: they agree; 1: they part; 2: the check could not run."""
    backend = backend or os.environ.get("KERAS_BACKEND") or "torch"
    if backend not in ("torch", "jax"):
        backend = "torch"
    mode = "exact" if exact else "as-written"
    seeds = 1 if exact else (seeds or 3)
    console = Console(record=bool(html_path))
    with tempfile.TemporaryDirectory(prefix="lstm-np-crosscheck-") as tmp:
        workdir = Path(keep) if keep else Path(tmp)
        try:
            result = crosscheck(program, list(args), backend, mode, seeds, tol, timeout,
                                workdir)
        except CouldNotRun as exc:
            click.echo(f"crosscheck: {exc}", err=True)
            if json_path:
                with open(json_path, "w") as f:
                    json.dump({"program": program, "exit": 2, "error": str(exc)}, f)
            raise SystemExit(2) from None
    report.render(result, console)
    report.save(result, json_path, html_path, console)
    raise SystemExit(result["exit"])
