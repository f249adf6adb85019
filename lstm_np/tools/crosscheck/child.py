"""One run of the user's program for ``lstm-np crosscheck``, in its own process.

    python -m lstm_np.tools.crosscheck.child SIDE WORKDIR PROGRAM [ARGS...]

``SIDE`` is ``keras`` or ``lstm_np``. The run seeds ``random`` and NumPy (after importing
Keras, whose import draws from NumPy's global generator), installs the import aliases
(``hook.py``) and the recorder (``record.py``), runs the program as ``__main__`` with its
own arguments, and writes ``WORKDIR/SIDE.json`` (events, models, the outcome) and
``WORKDIR/SIDE.npz`` (the arrays). ``CROSSCHECK_SEED`` and ``CROSSCHECK_MODE`` come from the
parent; the lstm_np run reads the Keras run's ``keras.json``/``keras.npz`` for its starting
weights.
"""

from __future__ import annotations

import json
import os
import random
import runpy
import sys
import traceback
from pathlib import Path
from unittest import mock

import numpy as np

#: Exceptions that mean the program used a Keras 2 API that Keras 3 removed, with the API.
KERAS2_APIS = (
    ("keras.preprocessing.text", "keras.preprocessing.text (Tokenizer, one_hot)"),
    ("keras.preprocessing.sequence", "keras.preprocessing.sequence (pad_sequences)"),
    ("keras.utils.np_utils", "keras.utils.np_utils"),
    ("keras.layers.recurrent", "keras.layers.recurrent"),
    ("keras.layers.embeddings", "keras.layers.embeddings"),
    ("keras.layers.core", "keras.layers.core"),
    ("keras.layers.convolutional", "keras.layers.convolutional"),
    ("keras.layers.wrappers", "keras.layers.wrappers"),
    ("keras.layers.merge", "keras.layers.merge"),
    ("keras.layers.advanced_activations", "keras.layers.advanced_activations"),
    ("fit_generator", "Model.fit_generator"),
    ("evaluate_generator", "Model.evaluate_generator"),
    ("predict_generator", "Model.predict_generator"),
    ("batch_input_shape", "the batch_input_shape argument"),
    ("'lr'", "the optimizer argument lr (Keras 3: learning_rate)"),
    ("reset_states", "Model.reset_states"),
    ("predict_classes", "Sequential.predict_classes"),
)


class NoNetwork(OSError):
    """The program tried to download something."""


def _block_downloads(stack) -> None:
    import urllib.request

    def refuse(url, *args, **kwargs):
        url = getattr(url, "full_url", url)
        name = str(url).rstrip("/").rsplit("/", 1)[-1]
        cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / name
        raise NoNetwork(
            f"The program downloads {url} and this run has no network. Put the file where "
            f"Keras caches it ({cache}) and run again.")

    stack.append(mock.patch.object(urllib.request, "urlopen", refuse))
    stack.append(mock.patch.object(urllib.request, "urlretrieve", refuse))
    try:
        from keras.src.utils import file_utils

        stack.append(mock.patch.object(file_utils, "urlretrieve", refuse))
    except ImportError:
        pass
    for patch in stack:
        patch.start()


def keras2_api(exc: BaseException) -> str | None:
    """The Keras 2 API a Keras-side failure points at, or None."""
    text = f"{type(exc).__name__}: {exc}"
    for needle, api in KERAS2_APIS:
        if needle in text:
            return api
    return None


def summarise(exc: BaseException, program: str) -> dict:
    """The exception and the program's own frames (Keras' or lstm_np's internals left out)."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if os.path.abspath(f.filename) == os.path.abspath(program)]
    last = (own or frames)[-1] if (own or frames) else None
    return {
        "type": type(exc).__name__,
        "message": str(exc).strip().splitlines()[0][:500] if str(exc).strip() else "",
        "where": f"{os.path.basename(last.filename)}:{last.lineno}" if last else "",
        "line": (last.line or "") if last else "",
        "traceback": "".join(traceback.format_exception_only(type(exc), exc)).strip()[-2000:],
        "network": isinstance(exc, NoNetwork),
        "keras2": keras2_api(exc),
        "mismatch": type(exc).__name__ == "CrosscheckMismatch",
    }


def run(side_name: str, workdir: Path, program: str, argv: list[str]) -> int:
    from . import hook, record

    seed = int(os.environ.get("CROSSCHECK_SEED", "0"))
    mode = os.environ.get("CROSSCHECK_MODE", "exact")
    hook.install(side_name)
    if side_name == "keras":
        import keras

        keras.utils.set_random_seed(seed)
        backend = keras.backend.backend()
    else:
        backend = "lstm_np"
    random.seed(seed)
    np.random.seed(seed)
    initial = None
    if side_name == "lstm_np":
        theirs = json.loads((workdir / "keras.json").read_text())
        if theirs["models"]:  # none: Keras could not run it, lstm_np runs it alone
            with np.load(workdir / "keras.npz") as arrays:
                initial = record.load_initial(dict(arrays), theirs["models"])
    recorder = record.Recorder(record.Side(side_name), mode=mode, initial=initial,
                               save_dir=workdir if side_name == "keras" else None)
    recorder.install()
    patches: list = []
    _block_downloads(patches)
    outcome = {"status": "ok"}
    sys.argv = [program, *argv]
    sys.path.insert(0, os.path.dirname(os.path.abspath(program)))
    try:
        runpy.run_path(program, run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (None, 0):
            outcome = {"status": "error", "error": {
                "type": "SystemExit", "message": f"exit status {exc.code}", "where": "",
                "line": "", "traceback": "", "network": False, "keras2": None,
                "mismatch": False}}
    except BaseException as exc:  # noqa: BLE001 - every failure is reported to the parent
        outcome = {"status": "error", "error": summarise(exc, program)}
    finally:
        recorder.uninstall()
        for patch in patches:
            patch.stop()
    result = {"side": side_name, "backend": backend, "seed": seed, "mode": mode,
              "models": recorder.models, "events": recorder.events, **outcome}
    (workdir / f"{side_name}.json").write_text(json.dumps(result, indent=1))
    np.savez(workdir / f"{side_name}.npz", **recorder.arrays)
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4:]))
