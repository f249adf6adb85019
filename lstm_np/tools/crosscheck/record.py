"""What ``lstm-np crosscheck`` records inside each run of the user's program.

One :class:`Recorder` per child process wraps the model methods that train or infer
(``fit``, ``evaluate``, ``predict``, ``train_on_batch``, ``test_on_batch``,
``predict_on_batch``) with :func:`unittest.mock.patch.object`, on Keras' ``Model`` in the
Keras run and on lstm_np's ``Model`` in the lstm_np run; both are the same code below, behind
a small :class:`Side` adapter. For every outermost call it keeps an event: per-epoch logs
and per-batch losses of a ``fit``, the values of an ``evaluate``, the arrays of a
``predict``. At each model's first use it fixes the starting point: the Keras run writes
the weights of every layer it has not seen before, and the lstm_np run loads them into its
own layers in the same order, checked by shape. In ``exact`` mode it also turns shuffling
and dropout off on both sides.
"""

from __future__ import annotations

import itertools
import threading
from contextlib import ExitStack
from unittest import mock

import numpy as np

#: Training/inference methods whose outermost calls become events.
METHODS = ("fit", "evaluate", "predict", "train_on_batch", "test_on_batch", "predict_on_batch")
#: Per-batch states and losses are kept for this many epochs of each fit, this many batches.
TRACE_EPOCHS, TRACE_BATCHES = 3, 64
#: Weight snapshots at each epoch's start are kept while a model has at most this many values.
SNAPSHOT_LIMIT = 2_000_000


class CrosscheckMismatch(RuntimeError):
    """The two programs built models that do not correspond (order, layers or shapes)."""


class Side:
    """What differs between the Keras run and the lstm_np run."""

    def __init__(self, name: str):
        self.name = name
        if name == "keras":
            import keras

            self.keras = keras
            self.model_class = keras.Model
            self.callback_class = keras.callbacks.Callback
        else:
            import lstm_np

            self.model_class = lstm_np.Model
            self.callback_class = lstm_np.callbacks.Callback

    def numpy(self, value) -> np.ndarray:
        if self.name == "keras":
            value = self.keras.ops.convert_to_numpy(value)
        return np.asarray(value)

    def build(self, model, shape) -> None:
        if getattr(model, "built", True) or shape is None:
            return
        model.build((None, *shape[1:]))

    def states(self, layer) -> list[np.ndarray] | None:
        states = getattr(layer, "states", None)
        if not states or any(s is None for s in states):
            return None
        return [self.numpy(s).copy() for s in states]


def layers_with_weights(model):
    """Every layer holding weights, depth-first in the model's layer order (nested models'
    layers included, each once)."""
    out, seen = [], set()

    def walk(m):
        for layer in getattr(m, "layers", []):
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            if hasattr(layer, "layers") and not hasattr(layer, "forward_layer"):
                walk(layer)
            elif layer.get_weights():
                out.append(layer)

    walk(model)
    return out


def stateful_layers(model):
    found = []

    def walk(m):
        for layer in getattr(m, "layers", []):
            if hasattr(layer, "layers") and not hasattr(layer, "forward_layer"):
                walk(layer)
            elif getattr(layer, "stateful", False):
                found.append(layer)

    walk(model)
    return found


def switch_off_dropout(model) -> None:
    """Rates of every dropout and noise in the model to 0 (both sides, ``--exact``)."""
    def walk(layer):
        for inner in ("layers", ):
            for sub in getattr(layer, inner, []) or []:
                walk(sub)
        for attr in ("forward_layer", "backward_layer", "layer", "cell"):
            sub = getattr(layer, attr, None)
            if sub is not None and sub is not layer and not isinstance(sub, (str, int)):
                walk(sub)
        kind = type(layer).__name__
        names = ["dropout", "recurrent_dropout"]
        if "Dropout" in kind:
            names.append("rate")
        if kind == "GaussianNoise":
            names.append("stddev")
        for name in names:
            value = getattr(layer, name, None)
            if isinstance(value, float | int) and not isinstance(value, bool) and value > 0:
                try:
                    setattr(layer, name, 0.0)
                except AttributeError:  # a read-only property mirrors the cell's value
                    pass

    walk(model)


def _first_batch(x):
    """``(shape of the first input, x to pass on)``; a generator is peeked and rebuilt."""
    if x is None:
        return None, x
    if isinstance(x, list | tuple) and x and hasattr(x[0], "shape"):
        return tuple(np.shape(x[0])), x
    if hasattr(x, "shape"):
        return tuple(np.shape(x)), x
    if hasattr(x, "__getitem__") and hasattr(x, "__len__"):  # Sequence / PyDataset
        first = x[0]
    elif hasattr(x, "__next__"):
        first = next(x)
        x = itertools.chain([first], x)
    else:
        return None, x
    inputs = first[0] if isinstance(first, tuple) else first
    if isinstance(inputs, list | tuple):
        inputs = inputs[0]
    return tuple(np.shape(inputs)), x


class Recorder:
    """Events of one run, and the arrays they refer to (``arrays[key]``)."""

    def __init__(self, side: Side, mode: str = "exact", initial=None, save_dir=None):
        self.side = side
        self.save_dir = save_dir  # Keras run: each model's architecture, for the layer diff
        self.mode = mode
        self.initial = initial  # lstm_np run: the Keras run's layer weights, in order
        self.events: list[dict] = []
        self.models: list[dict] = []
        self.arrays: dict[str, np.ndarray] = {}
        self._model_index: dict[int, int] = {}
        self._layers_seen: set[int] = set()
        self._layers_done = 0
        self._depth = threading.local()
        self._stack = ExitStack()
        self.snapshots: dict[int, object] = {}

    # ------------------------------------------------------------------ installing
    def install(self) -> None:
        cls = self.side.model_class
        for name in METHODS:
            original = getattr(cls, name, None)
            if original is not None:
                self._stack.enter_context(
                    mock.patch.object(cls, name, self._wrap(name, original)))

    def uninstall(self) -> None:
        self._stack.close()

    def _wrap(self, name, original):
        recorder = self

        def recorded(model, *args, **kwargs):
            depth = getattr(recorder._depth, "n", 0)
            if depth:
                return original(model, *args, **kwargs)
            recorder._depth.n = 1
            try:
                return recorder.record(name, original, model, args, kwargs)
            finally:
                recorder._depth.n = 0

        recorded.__name__ = name
        recorded.__doc__ = original.__doc__
        return recorded

    # ------------------------------------------------------------------ first use
    def first_use(self, model, x):
        key = id(model)
        if key in self._model_index:
            return self._model_index[key], x
        shape, x = _first_batch(x)
        self.side.build(model, shape)
        index = len(self.models)
        self._model_index[key] = index
        if self.mode == "exact":
            switch_off_dropout(model)
        if self.save_dir is not None:
            try:
                model.save(f"{self.save_dir}/model_{index}.keras")
            except Exception:  # noqa: BLE001 - without it the report only lacks a layer diff
                pass
        new = [layer for layer in layers_with_weights(model) if id(layer) not in self._layers_seen]
        entries = []
        for layer in new:
            self._layers_seen.add(id(layer))
            weights = [np.asarray(self.side.numpy(w)) for w in layer.get_weights()]
            entries.append({"name": layer.name, "class": type(layer).__name__,
                            "shapes": [list(w.shape) for w in weights]})
            position = self._layers_done
            self._layers_done += 1
            if self.initial is None:
                for j, w in enumerate(weights):
                    self.arrays[f"init/{position}/{j}"] = w
            else:
                self._load_initial(layer, position, weights)
        self.models.append({"index": index, "class": type(model).__name__,
                            "name": getattr(model, "name", ""), "layers": entries,
                            "stateful": [layer.name for layer in stateful_layers(model)]})
        return index, x

    def _load_initial(self, layer, position, weights):
        theirs = self.initial.get(position)
        if theirs is None:
            raise CrosscheckMismatch(
                f"The lstm_np run built a layer {layer.name!r} ({type(layer).__name__}) with "
                f"weights where the Keras run had none left to match (layer #{position}): the "
                "two runs built different models or built them in a different order.")
        shapes = [tuple(w.shape) for w in weights]
        if shapes != [tuple(w.shape) for w in theirs["arrays"]]:
            raise CrosscheckMismatch(
                f"Layer #{position} differs between the runs: Keras {theirs['name']!r} "
                f"({theirs['class']}) has weight shapes "
                f"{[tuple(w.shape) for w in theirs['arrays']]}, lstm_np {layer.name!r} "
                f"({type(layer).__name__}) has {shapes}. The runs built different models or "
                "built them in a different order.")
        layer.set_weights(theirs["arrays"])

    # ------------------------------------------------------------------ events
    def record(self, name, original, model, args, kwargs):
        x = args[0] if args else kwargs.get("x")
        index, x_new = self.first_use(model, x)
        if x_new is not x:
            if args:
                args = (x_new, *args[1:])
            else:
                kwargs["x"] = x_new
        event = {"kind": name, "model": index, "n": len(self.events)}
        self.events.append(event)
        if name == "fit":
            return self._fit(event, original, model, args, kwargs, x_new)
        result = original(model, *args, **kwargs)
        key = f"event/{event['n']}"
        if name in ("predict", "predict_on_batch"):
            outputs = result if isinstance(result, list | tuple) else [result]
            event["outputs"] = len(outputs)
            for j, out in enumerate(outputs):
                self.arrays[f"{key}/{j}"] = np.asarray(self.side.numpy(out), np.float64)
        else:
            event["values"] = _scalars(self.side, result)
        return result

    def _fit(self, event, original, model, args, kwargs, x):
        if self.mode == "exact":
            kwargs["shuffle"] = False
        probe = self._fit_probe(event, model)
        callbacks = list(kwargs.get("callbacks") or [])
        kwargs["callbacks"] = [*callbacks, probe]
        if hasattr(x, "shape") and len(x):
            batch = kwargs.get("batch_size") or (args[2] if len(args) > 2 else None) or 32
            self.arrays[f"event/{event['n']}/batch"] = np.asarray(x[:batch], np.float64)
        history = original(model, *args, **kwargs)
        event["epochs"] = probe.epochs
        event["batch_loss"] = probe.batch_loss
        return history

    def _fit_probe(self, event, model):
        recorder, side = self, self.side
        stateful = stateful_layers(model)
        n_values = sum(int(np.prod(np.shape(w))) for w in model.get_weights()) or 1
        key = f"event/{event['n']}"

        class Probe(side.callback_class):
            epochs: list = []
            batch_loss: list = []

            def on_epoch_begin(self, epoch, logs=None):
                self.epoch = epoch
                self.batch_loss.append([])
                if side.name == "keras" and (epoch < 5 or n_values * (epoch + 1) <=
                                             SNAPSHOT_LIMIT):
                    for j, w in enumerate(model.get_weights()):
                        recorder.arrays[f"{key}/snapshot/{epoch}/{j}"] = np.asarray(w)

            def on_train_batch_end(self, batch, logs=None):
                losses = self.batch_loss[-1]
                if self.epoch < TRACE_EPOCHS and len(losses) < TRACE_BATCHES:
                    losses.append(float((logs or {}).get("loss", np.nan)))
                    for li, layer in enumerate(stateful):
                        states = side.states(layer)
                        for si, s in enumerate(states or []):
                            recorder.arrays[
                                f"{key}/states/{self.epoch}/{batch}/{li}/{si}"] = s

            def on_epoch_end(self, epoch, logs=None):
                self.epochs.append(_scalars(side, logs or {}))

        probe = Probe()
        probe.epochs, probe.batch_loss = [], []
        return probe


def _scalars(side, value):
    """JSON-ready numbers from a loss, a list of them or a logs dict."""
    if isinstance(value, dict):
        return {k: float(np.asarray(side.numpy(v))) for k, v in value.items()
                if np.size(side.numpy(v)) == 1}
    if isinstance(value, list | tuple):
        return [float(np.asarray(side.numpy(v)).ravel()[0]) for v in value]
    return [float(np.asarray(side.numpy(value)).ravel()[0])]


def load_initial(arrays, models) -> dict[int, dict]:
    """The Keras run's first-use layer weights, by layer position, for the lstm_np run."""
    entries = [entry for model in models for entry in model["layers"]]
    initial = {}
    for position, entry in enumerate(entries):
        count = len(entry["shapes"])
        initial[position] = {"name": entry["name"], "class": entry["class"],
                             "arrays": [arrays[f"init/{position}/{j}"] for j in range(count)]}
    return initial
