"""The layer-by-layer diff at the point where the two runs part (run with Keras).

    python -m lstm_np.tools.crosscheck.layerdiff WORKDIR EVENT EPOCH MODEL

Loads the Keras run's model ``MODEL`` (``model_MODEL.keras``) with the weights it had when
epoch ``EPOCH`` of fit ``EVENT`` began, converts it to lstm_np with the same weights
(``lstm_np.from_keras``), runs both on that fit's first batch and prints, as JSON, every
layer output's largest differences, as ``lstm-np verify`` does.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np


def layer_rows(workdir: Path, event: int, epoch: int, model_index: int) -> list[dict]:
    import keras

    import lstm_np
    from lstm_np.tools.keras_check import compare

    with np.load(workdir / "keras.npz") as arrays:
        prefix = f"event/{event}/snapshot/{epoch}/"
        count = sum(1 for k in arrays.files if k.startswith(prefix))
        weights = [arrays[f"{prefix}{j}"] for j in range(count)]
        batch = arrays[f"event/{event}/batch"]
    k_model = keras.saving.load_model(workdir / f"model_{model_index}.keras", compile=False)
    k_model.set_weights(weights)
    np_model = lstm_np.from_keras(k_model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = compare(k_model, np_model, [batch.astype(np.float32)], keras)
    return [{"layer": r[0], "class": r[1], "shape": r[2], "abs": r[3], "rel": r[4]}
            for r in rows]


if __name__ == "__main__":
    try:
        out = {"rows": layer_rows(Path(sys.argv[1]), *(int(a) for a in sys.argv[2:5]))}
    except Exception as exc:  # noqa: BLE001 - the report says the diff was not possible
        out = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(out, default=float))
