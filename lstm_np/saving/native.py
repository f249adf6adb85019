"""lstm_np's own file format, written by ``model.save(path)`` / ``model.save_weights(path)``
and read by ``lstm_np.load_model(path)`` / ``model.load_weights(path)``.

One ``.npz`` (a zip of ``.npy`` arrays, readable with ``np.load`` alone) holding

* ``__config__``: JSON (as bytes): the architecture (every layer's ``get_config()``,
  and for functional models the graph: which layer is called on which tensors), the
  compile arguments and the optimizer's configuration and iteration count;
* ``weight/<i>``: the weights in ``get_weights()`` order;
* ``optimizer/<slot>/<i>``: the optimizer's per-weight state (Adam's m and v, ...);
* ``state/<k>/<i>``: the stored states of the k-th stateful layer.

Loading rebuilds the model from the configuration and puts every array back, so a
loaded model predicts and *continues training* exactly as the saved one would have.
The file is written to a temporary name and renamed, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib

import numpy as np

from .. import losses, optimizers
from ..layers.serialization import jsonable, layer_from_config, layer_to_config
from ..models.file_formats import NATIVE_FORMAT as FORMAT
from ..models.file_formats import NATIVE_VERSION as VERSION


# --------------------------------------------------------------------- save / load
def _loss_config(loss):
    if isinstance(loss, losses.Loss):
        return {"__loss__": loss.get_config()}
    if isinstance(loss, (list, tuple)):
        return [_loss_config(item) for item in loss]
    if isinstance(loss, dict):
        return {k: _loss_config(v) for k, v in loss.items()}
    if callable(loss):
        return getattr(loss, "__name__", None)
    return loss


def _loss_from_config(cfg):
    if isinstance(cfg, dict) and "__loss__" in cfg:
        inner = dict(cfg["__loss__"])
        loss = losses.get(inner.pop("name"))
        for key, value in inner.items():
            setattr(loss, key, value)
        return loss
    if isinstance(cfg, list):
        return [_loss_from_config(item) for item in cfg]
    if isinstance(cfg, dict):
        return {k: _loss_from_config(v) for k, v in cfg.items()}
    return cfg


def _write_npz(filepath, arrays) -> None:
    """np.savez to a temporary file in the same directory, then an atomic rename."""
    directory = os.path.dirname(os.path.abspath(filepath))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot save to {filepath!r}: the directory {directory!r} does "
                                "not exist. Create it first (os.makedirs(directory)).")
    fd, tmp = tempfile.mkstemp(prefix=".lstm_np-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _check_overwrite(filepath, overwrite):
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} exists; pass overwrite=True to replace it.")
    return filepath


def save_weights(model, filepath, overwrite=True) -> None:
    filepath = _check_overwrite(filepath, overwrite)
    model.ensure_built()
    arrays = {f"weight/{i}": w for i, w in enumerate(model.get_weights())}
    config = {"format": FORMAT, "version": VERSION, "weights_only": True}
    arrays["__config__"] = np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)
    _write_npz(filepath, arrays)


def load_weights(model, filepath) -> None:
    data, _ = _read(os.fspath(filepath))
    model.ensure_built()
    n = len(model.get_weights())
    stored = sum(1 for k in data if k.startswith("weight/"))
    if stored != n:
        raise ValueError(f"{filepath} holds {stored} weight arrays but the model has {n}: "
                         "it was saved from a different architecture.")
    model.set_weights([data[f"weight/{i}"] for i in range(n)])


def save_model(model, filepath, overwrite=True) -> None:
    filepath = _check_overwrite(filepath, overwrite)
    config = {"format": FORMAT, "version": VERSION, "model": layer_to_config(model)}
    arrays = {f"weight/{i}": w for i, w in enumerate(model.get_weights())}
    stateful = model.stateful_layers()
    for k, layer in enumerate(stateful):
        for i, s in enumerate(layer.states or []):
            arrays[f"state/{k}/{i}"] = s
    if model.compiled:
        loss, metrics, loss_weights = model.compile_spec
        opt = model.optimizer
        state = opt.get_state()
        config["compile"] = {
            "loss": _loss_config(loss),
            "metrics": [m for m in (metrics or []) if isinstance(m, str)],
            "loss_weights": loss_weights,
            "optimizer": {"class_name": type(opt).__name__, "config": jsonable(opt.get_config()),
                          "iterations": state["iterations"],
                          "slots": {k: len(v) for k, v in state["slots"].items()}}}
        for key, slot in state["slots"].items():
            for i, a in enumerate(slot):
                arrays[f"optimizer/{key}/{i}"] = a
    arrays["__config__"] = np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)
    _write_npz(filepath, arrays)


def _read(filepath):
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No such file: {filepath!r}.")
    if zipfile.is_zipfile(filepath):
        with zipfile.ZipFile(filepath) as z:
            if "metadata.json" in z.namelist():
                raise ValueError(f"{filepath} is a Keras .keras file, not an lstm_np file: "
                                 "build the model in lstm_np and copy the weights with "
                                 "set_weights (or use lstm_np's Keras interop).")
    if os.path.isdir(filepath):
        raise ValueError(f"{filepath!r} is a directory; give the path of a file written by "
                         "model.save() or model.save_weights().")
    if not zipfile.is_zipfile(filepath):
        raise ValueError(f"{filepath} is not a file written by lstm_np's model.save() or "
                         "save_weights(): it is not a zip (.npz) archive (empty, truncated or "
                         "another format). Save the model again.")
    try:
        # Read every array now (the files are small): a damaged member fails here, with
        # this message, and the file is closed whatever happens.
        with np.load(filepath, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
        config = json.loads(bytes(data["__config__"]).decode())
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise ValueError(f"{filepath} is not a file written by lstm_np's model.save() or "
                         f"save_weights(), or it is damaged ({type(exc).__name__}: "
                         f"{str(exc).split('. ')[0]}). Save the model again.") from None
    if config.get("format") != FORMAT:
        raise ValueError(f"{filepath} is not an lstm_np model file.")
    return data, config


def load_model(filepath, compile=True):
    """Rebuild a model saved by ``model.save``: architecture, weights, optimizer, states."""
    filepath = os.fspath(filepath)
    data, config = _read(filepath)
    if "model" not in config:
        raise ValueError(f"{filepath} holds only weights (save_weights): build the model and "
                         "call model.load_weights(path).")
    model = layer_from_config(config["model"])
    model.ensure_built()
    n = len(model.get_weights())
    model.set_weights([data[f"weight/{i}"] for i in range(n)])
    for k, layer in enumerate(model.stateful_layers()):
        states = [data[f"state/{k}/{i}"] for i in range(len(layer.state_names))
                  if f"state/{k}/{i}" in data]
        if states:
            layer.reset_state(states)
    comp = config.get("compile")
    if compile and comp:
        opt_cfg = comp["optimizer"]
        opt = optimizers.from_config(opt_cfg["class_name"], opt_cfg["config"])
        opt.set_state({"iterations": opt_cfg["iterations"],
                       "slots": {k: [data[f"optimizer/{k}/{i}"] for i in range(count)]
                                 for k, count in opt_cfg["slots"].items()}})
        model.compile(optimizer=opt, loss=_loss_from_config(comp["loss"]),
                      metrics=comp["metrics"] or None, loss_weights=comp["loss_weights"])
    return model
