"""compile / fit / evaluate / predict and the *_on_batch calls, as Keras runs them.

One training step (``_train_step``): forward with ``training=True``, the loss and its
gradient w.r.t. each output (masked outputs count only their unmasked steps), the
model's backward, one optimizer step. Per batch that is all: inputs are checked once
per ``fit`` call, not per batch, because the stateful batch-1 programs run thousands
of tiny batches and Python overhead is their whole cost.

Stateful models: a stateful layer keeps its states between batches of ``fit``,
``evaluate`` and ``predict`` (and between those calls); nothing here ever resets
them, only the user does (``model.reset_states()``, ``layer.reset_state()``). Every
batch must have the layer's batch size, so ``fit`` refuses a sample count that is not
a multiple of it before it starts; ``predict``/``evaluate`` default to that batch size.
(Keras 3 on the JAX backend silently does not carry the states between the batches of
``fit``/``predict``; torch and TensorFlow do, as here. Keras 3.15 on torch cannot ``fit`` a
stateful LSTM at all: autograd stops on the in-place state update, so the tests carry
the states by hand around stateless Keras models to get the oracle.)

The reported epoch loss is Keras' running mean: each batch's loss weighted by its size.

Keras doc: https://keras.io/api/models/model_training_apis/
"""

from __future__ import annotations

import time

import numpy as np

from .. import losses as losses_mod
from .. import metrics as metrics_mod
from .. import optimizers as optimizers_mod
from .callbacks import CallbackList, History, progress
from .data import DataChecks, _as_list


class NotCompiledError(ValueError, RuntimeError):
    """fit/evaluate/train_on_batch before compile (a ValueError, as Keras raises)."""


class _OutputLoss(metrics_mod.Metric):
    """One output's unweighted loss, averaged over the epoch weighted by batch size."""

    def __init__(self):
        super().__init__("loss", None)

    def add(self, value, n):
        self.total += value * n
        self.count += n


class Trainer(DataChecks):
    """The training API shared by :class:`Model` and :class:`Sequential`."""

    def __init__(self):
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._losses: list = []
        self._metrics: list = []
        self._resolved = False
        self._step_flags = None

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=None, steps_per_execution=None,
                jit_compile=None, sample_weight_mode=None, auto_scale_loss=None, **kwargs):
        """Choose the loss(es), optimizer and metrics (Keras 3 defaults: rmsprop).

        Positional order is Keras 2's ``(optimizer, loss, metrics, loss_weights)``.
        """
        if kwargs:
            raise TypeError(f"compile() got unexpected argument(s) {', '.join(sorted(kwargs))}.")
        if weighted_metrics:
            raise NotImplementedError("weighted_metrics is not supported; metrics= are computed "
                                      "unweighted, as Keras does.")
        if loss is None:
            raise ValueError(f"compile() needs a loss, e.g. loss='mse'. Valid names: "
                             f"{', '.join(losses_mod.NAMES)}.")
        # Resolve names now, so that a typo fails here and not at fit time.
        items = loss.values() if isinstance(loss, dict) else _as_list(loss)
        for item in items:
            losses_mod.get(item)
        groups = metrics.values() if isinstance(metrics, dict) else (_as_list(metrics) or [])
        for group in groups:
            for m in group if isinstance(group, (list, tuple)) else [group]:
                metrics_mod.get(m)
        self.optimizer = optimizers_mod.get(optimizer)
        self.loss = loss
        self._compile_spec = (loss, metrics, loss_weights)
        self._resolved = False
        self.compiled = True
        if self.built:
            self._resolve_compile()

    def _resolve_compile(self):
        """Per-output losses and metrics (needs the outputs, so a Sequential built)."""
        loss, metrics, loss_weights = self._compile_spec
        n_out = len(self._outputs)
        if isinstance(loss, dict):
            loss = [loss.get(t.layer.name) for t in self._outputs]
        loss_list = list(loss) if isinstance(loss, (list, tuple)) else [loss] * n_out
        if len(loss_list) != n_out:
            raise ValueError(f"The model has {n_out} outputs but {len(loss_list)} losses were "
                             "given; give one loss, or one per output.")
        self._losses = [losses_mod.get(item) for item in loss_list]
        self._loss_weights = [1.0] * n_out if loss_weights is None else list(loss_weights)
        self._metrics = []
        names = [t.layer.name for t in self._outputs]
        names = [n if names.count(n) == 1 else f"{n}_{i}" for i, n in enumerate(names)]
        if isinstance(metrics, dict):
            per_output = [_as_list(metrics.get(n)) or [] for n in names]
        elif n_out > 1 and metrics and all(isinstance(m, (list, tuple)) for m in metrics):
            per_output = [list(m) for m in metrics]  # Keras: one list per output
        else:
            per_output = [_as_list(metrics) or []] * n_out
        for i, t in enumerate(self._outputs):
            prefix = "" if n_out == 1 else f"{names[i]}_"
            if n_out > 1:  # Keras logs each output's unweighted loss too
                self._metrics.append((i, prefix + "loss", _OutputLoss()))
            for m in per_output[i]:
                metric = metrics_mod.get(m, loss=self._losses[i], output_shape=t.shape)
                self._metrics.append((i, prefix + metric.name, metric))
        self._resolved = True

    def _require_compiled(self, what):
        if not self.compiled:
            raise NotCompiledError(f"You must compile the model before {what}: call "
                               "model.compile(loss='mse', optimizer='adam') first.")
        if not self._resolved:
            self._resolve_compile()

    def ensure_built(self, x_shape=None):
        """Build the model if it is not built yet (a Sequential from its first layer's input
        shape, or from ``x_shape``, the shape of the first data); a functional model is
        built already."""

    @property
    def compile_spec(self) -> tuple:
        """``(loss, metrics, loss_weights)`` as given to :meth:`compile`."""
        return self._compile_spec

    # ------------------------------------------------------------------ steps
    def _loss_and_grads(self, ys, outs, masks, sw=None):
        total, d_outs, values = 0.0, [], []
        parts = zip(ys, outs, masks, self._losses, self._loss_weights, strict=False)
        for y, out, mask, loss, w in parts:
            value, grad = loss.compute(y, out, mask, sw)
            total += w * value
            values.append(value)
            d_outs.append(grad * w if w != 1.0 else grad)
        self._output_losses = values
        return total, d_outs

    def _update_metrics(self, ys, outs, masks):
        # compile(metrics=...) ignore sample weights in Keras (weighted_metrics would not).
        for i, _, metric in self._metrics:
            if isinstance(metric, _OutputLoss):
                metric.add(self._output_losses[i], len(outs[i]))
            else:
                metric.update(ys[i], outs[i], masks[i])

    def _prepare_steps(self):
        """Which weights train, looked up once per fit/train_on_batch (None: all of them)."""
        flags = self._trainable_flags()
        self._step_flags = None if all(flags) else flags

    def _train_step(self, xs, ys, sw=None):
        outs, masks = self._run(xs, None, training=True)
        loss, d_outs = self._loss_and_grads(ys, outs, masks, sw)
        self._backprop(d_outs)
        # Weights are read per step (set_weights replaces arrays); the flags once per call.
        flags = self._step_flags
        if flags is None:
            self.optimizer.apply(self.grads, self.weights)
        else:
            weights = [w for w, f in zip(self.weights, flags, strict=False) if f]
            grads = [g for g, f in zip(self.grads, flags, strict=False) if f]
            self.optimizer.apply(grads, weights)
        if self._metrics:
            self._update_metrics(ys, outs, masks)
        return loss

    def _test_step(self, xs, ys, sw=None):
        outs, masks = self._run(xs, None, training=False)
        self._output_losses = [lo.compute(y, o, m, sw)[0] for y, o, m, lo in
                               zip(ys, outs, masks, self._losses, strict=False)]
        loss = sum(w * v for w, v in zip(self._loss_weights, self._output_losses, strict=False))
        if self._metrics:
            self._update_metrics(ys, outs, masks)
        return loss

    def _logs(self, loss, prefix=""):
        logs = {prefix + "loss": float(loss)}
        for _, name, metric in self._metrics:
            logs[prefix + name] = metric.result()
        return logs

    def _reset_metrics(self):
        for _, _, metric in self._metrics:
            metric.reset_state()

    # ------------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, nb_epoch=None, **kwargs):
        """Train for ``epochs`` (Keras 1's ``nb_epoch`` too); returns a :class:`History`."""
        if kwargs:
            raise TypeError(f"fit() got unexpected argument(s) {', '.join(sorted(kwargs))}.")
        if x is not None:
            self.ensure_built(np.shape(_as_list(x)[0]))
        self._require_compiled("training it (fit)")
        if not isinstance(validation_split, (int, float, np.number)) \
                or not 0.0 <= validation_split < 1.0:
            raise ValueError(f"validation_split must be a fraction in [0, 1) (e.g. 0.2 keeps the "
                             f"last 20% of the samples for validation); got {validation_split!r}.")
        epochs = nb_epoch if nb_epoch is not None else epochs
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)):
            raise TypeError(f"epochs must be an integer; got {epochs!r}.")
        if verbose not in ("auto", 0, 1, 2):
            raise ValueError(f"verbose must be 'auto', 0 (silent), 1 (progress bar) or 2 (one "
                             f"line per epoch); got {verbose!r}.")
        if validation_data is not None and (not isinstance(validation_data, (list, tuple))
                                            or len(validation_data) not in (2, 3)):
            raise ValueError("validation_data must be a tuple (x_val, y_val) (or (x_val, y_val, "
                             f"sample_weight)); got {type(validation_data).__name__}.")
        xs = self._inputs_of(x)
        n = xs[0].shape[0]
        if n == 0:
            raise ValueError("fit() got 0 samples: x is empty.")
        for a in xs[1:]:
            if a.shape[0] != n:
                raise ValueError(f"All inputs must have the same number of samples; got "
                                 f"{[b.shape[0] for b in xs]}.")
        ys = self._targets_of(y, n)
        sw = self._sample_weights(sample_weight, class_weight, ys[0], n)
        val = None
        if validation_data is not None:
            vx, vy = validation_data[0], validation_data[1]
            vxs = self._inputs_of(vx, "validation x")
            val = (vxs, self._targets_of(vy, vxs[0].shape[0]))
        elif validation_split:
            split = int(np.floor(n * (1.0 - validation_split)))
            if split in (0, n):
                raise ValueError(f"validation_split={validation_split} leaves no training or no "
                                 f"validation samples out of {n}.")
            val = ([a[split:] for a in xs], [a[split:] for a in ys])
            xs, ys, n = [a[:split] for a in xs], [a[:split] for a in ys], split
            sw = None if sw is None else sw[:split]
        batch_size = self._batch_size(batch_size, n, "fit")
        if val is not None:
            self._batch_size(validation_batch_size or batch_size, val[0][0].shape[0],
                             "validation")
        verbose = 1 if verbose == "auto" else int(verbose)
        steps = -(-n // batch_size)
        if steps_per_epoch is not None:  # Keras: at most that many batches per epoch
            steps = min(steps, int(steps_per_epoch))
        self._prepare_steps()
        self.history = History()
        cbs = CallbackList(_as_list(callbacks) or [], self.history, model=self,
                           params={"epochs": epochs, "steps": steps, "verbose": verbose})
        self.stop_training = False
        batch_logs = verbose == 1 or bool(cbs.hot)
        cbs.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            self._reset_metrics()
            cbs.on_epoch_begin(epoch)
            order = np.random.permutation(n) if shuffle and shuffle != "batch" else None
            bar = progress(verbose, epoch, epochs, steps)
            start = time.perf_counter()
            loss_sum, seen = 0.0, 0
            for step in range(steps):
                lo, hi = step * batch_size, min(n, (step + 1) * batch_size)
                if order is None:
                    bx, by = [a[lo:hi] for a in xs], [a[lo:hi] for a in ys]
                    bw = None if sw is None else sw[lo:hi]
                else:
                    idx = order[lo:hi]
                    bx, by = [a[idx] for a in xs], [a[idx] for a in ys]
                    bw = None if sw is None else sw[idx]
                cbs.on_train_batch_begin(step)
                loss = self._train_step(bx, by, bw)
                loss_sum += loss * (hi - lo)
                seen += hi - lo
                if batch_logs:  # only a progress bar or a batch callback reads them
                    logs = self._logs(loss_sum / seen)
                    bar.update(step + 1, logs)
                    cbs.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            logs = self._logs(loss_sum / max(seen, 1))
            if val is not None and (epoch + 1) % validation_freq == 0:
                logs.update(self.evaluate(val[0], val[1], batch_size=validation_batch_size or
                                          batch_size, verbose=0, return_dict=True, _prefix="val_"))
            bar.close(logs, time.perf_counter() - start)
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cbs.on_train_end()
        return self.history

    # ------------------------------------------------------------------ evaluate / predict
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, _prefix=""):
        """Mean loss (and metrics) over ``x``; states carry on, nothing is reset."""
        if x is not None:
            self.ensure_built(np.shape(_as_list(x)[0]))
        self._require_compiled("evaluating it")
        xs = self._inputs_of(x)
        n = xs[0].shape[0]
        ys = self._targets_of(y, n)
        batch_size = self._batch_size(batch_size, n, "evaluate")
        sw = self._sample_weights(sample_weight, None, ys[0], n)
        self._reset_metrics()
        loss_sum = 0.0
        for lo in range(0, n, batch_size):
            hi = min(n, lo + batch_size)
            loss_sum += self._test_step([a[lo:hi] for a in xs], [a[lo:hi] for a in ys],
                                        None if sw is None else sw[lo:hi]) * (hi - lo)
        logs = self._logs(loss_sum / n, _prefix)
        if return_dict:
            return logs
        return logs[_prefix + "loss"] if len(logs) == 1 else list(logs.values())

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs for every sample, in batches; stateful layers carry their states on."""
        if x is not None:
            self.ensure_built(np.shape(_as_list(x)[0]))
        xs = self._inputs_of(x)
        n = xs[0].shape[0]
        batch_size = self._batch_size(batch_size, n, "predict")
        chunks = [[] for _ in self._outputs]
        for lo in range(0, n, batch_size):
            outs, _ = self._run([a[lo:lo + batch_size] for a in xs], None, training=False)
            for c, o in zip(chunks, outs, strict=False):
                c.append(o)
        result = [np.concatenate(c, axis=0) for c in chunks]
        return result[0] if len(result) == 1 else result

    def predict_on_batch(self, x):
        if x is not None:
            self.ensure_built(np.shape(_as_list(x)[0]))
        xs = self._inputs_of(x)
        outs, _ = self._run(xs, None, training=False)
        return outs[0] if len(outs) == 1 else outs

    def _on_batch(self, x, y, train, return_dict, sample_weight=None, class_weight=None):
        if x is not None:
            self.ensure_built(np.shape(_as_list(x)[0]))
        self._require_compiled("train_on_batch" if train else "test_on_batch")
        xs = self._inputs_of(x)
        ys = self._targets_of(y, xs[0].shape[0])
        self._batch_size(xs[0].shape[0], xs[0].shape[0], "train_on_batch")
        sw = self._sample_weights(sample_weight, class_weight, ys[0], xs[0].shape[0])
        self._reset_metrics()
        if train:
            self._prepare_steps()
        loss = self._train_step(xs, ys, sw) if train else self._test_step(xs, ys, sw)
        logs = self._logs(loss)
        if return_dict:
            return logs
        return logs["loss"] if len(logs) == 1 else list(logs.values())

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One optimizer step on one batch; returns its loss (and metrics)."""
        return self._on_batch(x, y, True, return_dict, sample_weight, class_weight)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        return self._on_batch(x, y, False, return_dict, sample_weight)

    @property
    def metrics_names(self):
        return ["loss"] + [name for _, name, _ in self._metrics]
