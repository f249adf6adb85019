"""Callbacks (History, EarlyStopping, LambdaCallback) and the per-epoch progress display.

``verbose=1``: a tqdm bar per epoch with the running loss; ``verbose=2``: one line per
epoch, as Keras prints it (``94/94 - 0s - 2ms/step - loss: 0.0123``); ``verbose=0``: quiet.

Keras doc: https://keras.io/api/callbacks/
"""

from __future__ import annotations

import warnings

import numpy as np


class Callback:
    """Base class: override any of the ``on_*`` hooks; ``self.model`` is the model trained."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...


class History(Callback):
    """``history.history[name]``: one value per epoch; ``history.epoch``: the epoch numbers."""

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


class LambdaCallback(Callback):
    """Callbacks from plain functions: ``LambdaCallback(on_epoch_end=lambda e, logs: ...)``."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 on_batch_begin=None, on_batch_end=None):
        super().__init__()
        for name, fn in (("on_epoch_begin", on_epoch_begin), ("on_epoch_end", on_epoch_end),
                         ("on_train_begin", on_train_begin), ("on_train_end", on_train_end),
                         ("on_train_batch_begin", on_train_batch_begin or on_batch_begin),
                         ("on_train_batch_end", on_train_batch_end or on_batch_end)):
            if fn is not None:
                setattr(self, name, fn)


class _Monitor(Callback):
    """Watches ``monitor`` in the epoch logs, as Keras' MonitorCallback: an improvement is
    ``value < best - min_delta`` (``>`` for accuracies, or ``mode="max"``)."""

    def __init__(self, monitor, mode, min_delta):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max'; got {mode!r}.")
        self.monitor = monitor
        maximize = mode == "max" or (mode == "auto" and ("acc" in monitor or "auc" in monitor))
        self.sign = -1.0 if maximize else 1.0  # compare sign * value: lower is better
        self.min_delta = abs(min_delta)
        self.best = None

    def _improved(self, value, reference):
        if reference is None:
            return True
        return self.sign * value + self.min_delta < self.sign * reference

    def _current(self, logs):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{type(self).__name__} is conditioned on {self.monitor!r}, which is "
                          f"not logged; available: {', '.join(logs or {})}.", stacklevel=3)
        return value


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta)
        self.patience, self.verbose = int(patience), verbose
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = start_from_epoch

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_weights, self.best = 0, 0, None, None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = self._current(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._improved(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without
    improvement (not below ``min_lr``), then wait ``cooldown`` epochs."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__(monitor, mode, min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau factor must be < 1; got {factor}.")
        self.factor, self.patience, self.verbose = float(factor), int(patience), verbose
        self.cooldown, self.min_lr = int(cooldown), float(min_lr)

    def on_train_begin(self, logs=None):
        self.wait, self.cooldown_counter, self.best = 0, 0, None

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if logs is not None:
            logs["learning_rate"] = float(np.float32(optimizer.learning_rate))
        current = self._current(logs)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(np.float32(optimizer.learning_rate))
                if old > np.float32(self.min_lr):
                    optimizer.learning_rate = max(old * self.factor, self.min_lr)
                    if self.verbose:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {optimizer.learning_rate}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


class ModelCheckpoint(_Monitor):
    """Save the model (or its weights) after every epoch, or only when ``monitor``
    improved (``save_best_only``). ``filepath`` may hold ``{epoch:02d}`` and log keys."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__(monitor, mode, 0.0)
        if save_freq != "epoch":
            raise ValueError("ModelCheckpoint supports save_freq='epoch' only.")
        self.filepath, self.verbose = str(filepath), verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.best = initial_value_threshold

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            current = self._current(logs)
            if current is None or not self._improved(current, self.best):
                return
            self.best = current
        if self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class CallbackList:
    """Calls every callback's hook in order (History last, as Keras)."""

    def __init__(self, callbacks, history, model, params):
        self.callbacks = [*callbacks, history]
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be lstm_np Callback instances; got {cb!r}.")
            cb.set_model(model)
            cb.set_params(params)
        self.hot = [cb for cb in callbacks
                    if type(cb).on_train_batch_end is not Callback.on_train_batch_end
                    or type(cb).on_train_batch_begin is not Callback.on_train_batch_begin
                    or "on_train_batch_end" in vars(cb) or "on_train_batch_begin" in vars(cb)]

    def _call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self):
        self._call("on_train_begin", {})

    def on_train_end(self):
        self._call("on_train_end", {})

    def on_epoch_begin(self, epoch):
        self._call("on_epoch_begin", epoch, {})

    def on_epoch_end(self, epoch, logs):
        self._call("on_epoch_end", epoch, dict(logs))

    # Batch hooks only visit callbacks that define them: per-batch cost stays near zero.
    def on_train_batch_begin(self, step):
        for cb in self.hot:
            cb.on_train_batch_begin(step, {})

    def on_train_batch_end(self, step, logs):
        for cb in self.hot:
            cb.on_train_batch_end(step, logs)


def _fmt(v):
    return f"{v:.4f}" if v > 1e-3 else f"{v:.4e}"  # Keras' progbar (verbose=2) rule


def _metrics_text(logs):
    return " - ".join(f"{k}: {_fmt(v)}" for k, v in logs.items())


def _per_step(seconds):
    """Keras' progbar time format: s, ms or us per step."""
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


class _Quiet:
    def update(self, step, logs):
        pass

    def close(self, logs, seconds):
        pass


class _Line(_Quiet):
    """verbose=2: ``Epoch i/N`` then ``steps/steps - 0s - 2ms/step - loss: ...``."""

    def __init__(self, epoch, epochs, steps):
        self.steps = steps
        print(f"Epoch {epoch + 1}/{epochs}", flush=True)

    def close(self, logs, seconds):
        step_text = _per_step(seconds / max(self.steps, 1))
        print(f"{self.steps}/{self.steps} - {seconds:.0f}s - {step_text} - {_metrics_text(logs)}",
              flush=True)


class _Bar(_Quiet):
    """verbose=1: a tqdm bar over the epoch's batches, the running loss as its postfix."""

    def __init__(self, epoch, epochs, steps):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=steps, desc=f"Epoch {epoch + 1}/{epochs}", unit="step",
                        leave=True, mininterval=0.1)
        self.every = max(1, steps // 20)

    def update(self, step, logs):
        self.bar.update(1)
        if step % self.every == 0:
            self.bar.set_postfix_str(_metrics_text(logs), refresh=False)

    def close(self, logs, seconds):
        self.bar.set_postfix_str(_metrics_text(logs), refresh=False)
        self.bar.close()


def progress(verbose, epoch, epochs, steps):
    if verbose == 1:
        return _Bar(epoch, epochs, steps)
    if verbose == 2:
        return _Line(epoch, epochs, steps)
    return _Quiet()
