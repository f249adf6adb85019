"""The compiled state of a model in a Keras 3 ``.keras`` file: ``compile_config`` and the
optimizer's variables.

Keras 3 writes a compiled model's optimizer into ``model.weights.h5`` under
``optimizer/vars/<i>`` (``keras/src/saving/saving_lib.py``), in the order the optimizer
created its variables (``keras/src/optimizers/base_optimizer.py`` and each optimizer's
``build``)::

    0: iterations (an integer scalar)
    1: learning_rate (a float scalar of floatx; absent when the rate is a schedule)
    then the slots, per optimizer, over ``model.trainable_variables`` in order:
      SGD      momentum_i                       (only when momentum != 0)
      Adam     momentum_i, velocity_i interleaved per variable; then velocity_hat_i (amsgrad)
      RMSprop  velocity_i; then momentum_i (momentum > 0); then average_gradient_i (centered)
      Adagrad  accumulator_i

and the loss / optimizer configuration into ``config.json``'s ``compile_config``.
lstm_np's optimizers (:mod:`lstm_np.optimizers`) keep the same numbers under their own slot
names (Adam's ``m``/``v``/``vhat``, ...), over the same trainable weights in the same order.

Keras doc: https://keras.io/api/models/model_saving_apis/model_saving_and_loading/
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import losses as losses_mod
from .. import optimizers as optimizers_mod

#: Keras optimizer config keys lstm_np cannot follow when they are set (not None/False).
_UNSUPPORTED_KEYS = ("use_ema", "gradient_accumulation_steps", "loss_scale_factor")


def slot_groups(opt) -> list[tuple[str, ...]]:
    """lstm_np slot names in Keras' variable order: each group interleaves its slots per
    trainable weight; groups follow each other."""
    if isinstance(opt, optimizers_mod.Adam):
        return [("m", "v")] + ([("vhat",)] if opt.amsgrad else [])
    if isinstance(opt, optimizers_mod.SGD):
        return [("momentum",)] if opt.momentum != 0 else []
    if isinstance(opt, optimizers_mod.RMSprop):
        return ([("velocity",)] + ([("momentum",)] if opt.momentum > 0 else [])
                + ([("average_gradient",)] if opt.centered else []))
    if isinstance(opt, optimizers_mod.Adagrad):
        return [("accumulator",)]
    raise ValueError(f"No Keras layout for the optimizer {type(opt).__name__}.")


def _fill(opt, key) -> float:
    return opt.initial_accumulator_value if key == "accumulator" else 0.0


def _trainable(model) -> list[np.ndarray]:
    return list(model.trainable_weights)


# ------------------------------------------------------------------------------- save
def why_not_exportable(model) -> str | None:
    """Why the compiled state of ``model`` cannot be written the Keras way (None: it can)."""
    if not getattr(model, "compiled", False) or model.optimizer is None:
        return "the model is not compiled"
    opt = model.optimizer
    if callable(opt.learning_rate):
        return "its learning rate is a schedule (a Python callable Keras cannot read back)"
    if opt.decay:
        return (f"its optimizer uses Keras 2's time-based decay={opt.decay}, which Keras 3 "
                "ignores")
    if keras_loss(model.compile_spec[0]) is None:
        return f"its loss {model.compile_spec[0]!r} has no Keras 3 name"
    return None


def keras_loss(loss):
    """lstm_np's compile(loss=...) as Keras 3 serializes it (None: not expressible)."""
    if isinstance(loss, (list, tuple)):
        items = [keras_loss(item) for item in loss]
        return None if any(i is None for i in items) else items
    if isinstance(loss, dict):
        items = {k: keras_loss(v) for k, v in loss.items()}
        return None if any(i is None for i in items.values()) else items
    if isinstance(loss, str):
        try:
            losses_mod.get(loss)
        except ValueError:
            return None
        return loss
    if isinstance(loss, losses_mod.Loss):
        config = {"name": loss.name, "reduction": "sum_over_batch_size"}
        config.update({k: v for k, v in loss.get_config().items() if k != "name"})
        return {"module": "keras.losses", "class_name": type(loss).__name__,
                "config": config, "registered_name": None}
    name = getattr(loss, "__name__", None)  # lstm_np.losses.mse and friends
    return keras_loss(name) if isinstance(name, str) else None


def compile_config(model) -> dict:
    """``config.json``'s ``compile_config`` for a compiled lstm_np model."""
    opt = model.optimizer
    loss, metrics, loss_weights = model.compile_spec
    config = {k: v for k, v in opt.get_config().items() if k != "decay"}
    config["learning_rate"] = float(np.float32(opt.learning_rate))
    config.update(use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                  loss_scale_factor=None, gradient_accumulation_steps=None)
    name = type(opt).__name__
    return {"optimizer": {"module": "keras.optimizers", "class_name": name, "config": config,
                          "registered_name": None},
            "loss": keras_loss(loss), "loss_weights": loss_weights,
            "metrics": [m for m in (metrics or []) if isinstance(m, str)] or None,
            "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1,
            "jit_compile": False}


def optimizer_arrays(model) -> list[np.ndarray]:
    """The optimizer's variables of a compiled lstm_np model, in Keras' ``optimizer/vars``
    order. Slots lstm_np has not created yet (no step taken) are written as Keras starts
    them (zeros; Adagrad's ``initial_accumulator_value``)."""
    opt = model.optimizer
    weights = _trainable(model)
    arrays = [np.array(opt.iterations, np.int64), np.array(opt.learning_rate, np.float32)]
    for group in slot_groups(opt):
        for i, w in enumerate(weights):
            for key in group:
                slot = opt.slots.get(key)
                if slot is not None and len(slot) == len(weights) and slot[i].shape == w.shape:
                    arrays.append(np.asarray(slot[i], w.dtype))
                else:
                    arrays.append(np.full(w.shape, _fill(opt, key), w.dtype))
    return arrays


def write_h5(h5, arrays, name: str) -> None:
    """``optimizer/vars/<i>`` as Keras' saving_lib writes them (for the Keras-free path)."""
    group = h5.require_group("optimizer").create_group("vars")
    group.attrs["name"] = name
    for i, a in enumerate(arrays):
        group.create_dataset(str(i), data=a)


def set_keras_optimizer(live, arrays) -> None:
    """Assign ``arrays`` to the built optimizer of a compiled live Keras model."""
    variables = live.optimizer.variables
    if len(variables) != len(arrays):
        raise ValueError(f"Keras built {len(variables)} optimizer variables where lstm_np has "
                         f"{len(arrays)}; the optimizer layouts disagree.")
    for var, a in zip(variables, arrays, strict=True):
        var.assign(np.asarray(a).astype(var.dtype).reshape(var.shape))


# ------------------------------------------------------------------------------- load
def _loss_from_keras(cfg):
    if isinstance(cfg, list):
        return [_loss_from_keras(c) for c in cfg]
    if isinstance(cfg, dict) and "class_name" not in cfg:
        return {k: _loss_from_keras(v) for k, v in cfg.items()}
    if isinstance(cfg, str):
        return losses_mod.get(cfg)
    if isinstance(cfg, dict) and cfg.get("class_name") == "function":  # keras.losses.mae
        return losses_mod.get(cfg.get("config"))
    if isinstance(cfg, dict):
        inner = dict(cfg.get("config") or {})
        if inner.get("reduction", "sum_over_batch_size") != "sum_over_batch_size":
            raise ValueError(f"reduction={inner['reduction']!r}")
        kwargs = {k: inner[k] for k in ("from_logits", "label_smoothing") if k in inner}
        loss = losses_mod.get(cfg["class_name"])
        if kwargs:
            loss = type(loss)(**kwargs)
        return loss
    raise ValueError(f"loss {cfg!r}")


def _optimizer_from_keras(cfg: dict):
    class_name = cfg.get("class_name")
    inner = dict(cfg.get("config") or {})
    if class_name not in ("SGD", "Adam", "RMSprop", "Adagrad"):
        raise ValueError(f"optimizer {class_name!r} (lstm_np has SGD, Adam, RMSprop, Adagrad)")
    for key in _UNSUPPORTED_KEYS:
        if inner.get(key):
            raise ValueError(f"optimizer setting {key}={inner[key]!r}")
    if isinstance(inner.get("learning_rate"), dict):
        raise ValueError("a learning-rate schedule")
    for key in _UNSUPPORTED_KEYS + ("ema_momentum", "ema_overwrite_frequency"):
        inner.pop(key, None)
    return optimizers_mod.from_config(class_name, inner)


def compile_from_keras(model, config: dict, h5, path) -> None:
    """Compile ``model`` from a ``.keras`` file's ``compile_config`` and restore the optimizer
    variables from ``h5``; when lstm_np cannot follow them, warn and leave it uncompiled."""
    compile_cfg = config.get("compile_config")
    if not compile_cfg:
        return
    try:
        opt = _optimizer_from_keras(compile_cfg.get("optimizer") or {})
        loss = _loss_from_keras(compile_cfg.get("loss"))
    except (ValueError, TypeError, KeyError) as exc:
        warnings.warn(f"{path!s}: the weights are loaded but the model is not compiled: "
                      f"lstm_np cannot follow Keras' {exc}. Call model.compile(...) yourself.",
                      stacklevel=3)
        return
    metrics = compile_cfg.get("metrics")
    # Metric names carry over; serialized metric objects are left out (they do not change
    # training, only what fit logs).
    metrics = [m for m in metrics if isinstance(m, str)] if isinstance(metrics, list) else None
    model.compile(optimizer=opt, loss=loss, metrics=metrics or None,
                  loss_weights=compile_cfg.get("loss_weights"))
    group = h5.get("optimizer/vars") if "optimizer" in h5 else None
    if group is None or len(group) == 0:
        return  # compiled but never built/trained in Keras: a fresh optimizer
    arrays = [np.asarray(group[str(i)]) for i in range(len(group))]
    set_state_from_keras(model, arrays, path)


def set_state_from_keras(model, arrays, path) -> None:
    """Fill the lstm_np optimizer of ``model`` from Keras' ``optimizer/vars`` arrays."""
    opt = model.optimizer
    weights = _trainable(model)
    groups = slot_groups(opt)
    expected = 2 + sum(len(g) for g in groups) * len(weights)
    if len(arrays) == 2 and expected > 2:
        # Keras compiled but never built the slots (no step yet): iterations and rate only.
        opt.learning_rate = float(arrays[1])
        opt.set_state({"iterations": int(arrays[0]), "slots": {}})
        return
    if len(arrays) != expected:
        raise ValueError(f"{path!s}: the optimizer holds {len(arrays)} variables; an lstm_np "
                         f"{type(opt).__name__} over {len(weights)} trainable weights needs "
                         f"{expected} (iterations, learning_rate, slots).")
    opt.learning_rate = float(arrays[1])
    slots: dict[str, list] = {}
    k = 2
    for group in groups:
        for w in weights:
            for key in group:
                a = arrays[k]
                if a.shape != w.shape:
                    raise ValueError(f"{path!s}: optimizer variable {k} has shape {a.shape}; "
                                     f"its weight has {w.shape}.")
                slots.setdefault(key, []).append(a.astype(w.dtype))
                k += 1
    opt.set_state({"iterations": int(arrays[0]), "slots": slots}, weights=weights)
