"""Input checks for fit/evaluate/predict: arrays per model input and output, sample
counts, target shapes against the output (with what ``return_sequences`` does), and the
fixed batch size of stateful layers. They run once per call, never per batch."""

from __future__ import annotations

import numpy as np

from .. import losses as losses_mod


def _as_list(x):
    if x is None:
        return None
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _as_array(a, what):
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numeric arrays; got dtype {arr.dtype}.")
    if arr.ndim == 0:
        raise ValueError(f"{what} must have a batch axis; got a scalar.")
    return arr


class DataChecks:
    """The checks, as a mixin of :class:`~lstm_np.models.training.Trainer`."""

    def _inputs_of(self, x, what="x"):
        xs = _as_list(x)
        if xs is None:
            raise ValueError(f"{what} is required: pass the input array(s), e.g. "
                             "model.predict(x) with x of shape (samples, timesteps, features).")
        xs = [_as_array(a, what) for a in xs]
        if len(xs) != len(self._inputs):
            raise ValueError(f"The model has {len(self._inputs)} inputs; got {len(xs)} arrays "
                             f"in {what}.")
        for a, t in zip(xs, self._inputs, strict=False):
            fixed = [(d, s) for d, s in zip(t.shape[1:], a.shape[1:], strict=False)]
            if a.ndim != len(t.shape) or any(d is not None and d != s for d, s in fixed):
                raise ValueError(
                    f"Input {t.name!r} expects shape {t.shape} (batch first, None = any); got "
                    f"{what} of shape {a.shape}. For recurrent layers the input is "
                    "(samples, timesteps, features): reshape a univariate series of windows "
                    "with x.reshape(samples, timesteps, 1).")
        if xs[0].shape[0] == 0:
            raise ValueError(f"{what} has 0 samples (shape {xs[0].shape}): give at least one "
                             "sample (Keras fails on an empty input too).")
        return xs

    def _targets_of(self, y, n):
        ys = _as_list(y)
        if ys is None:
            raise ValueError("fit/evaluate need targets y.")
        ys = [_as_array(a, "y") for a in ys]
        if len(ys) != len(self._outputs):
            raise ValueError(f"The model has {len(self._outputs)} outputs; got {len(ys)} target "
                             "arrays.")
        for a in ys:
            if a.shape[0] != n:
                raise ValueError(
                    f"x and y must have the same number of samples; x has {n} and y has "
                    f"{a.shape[0]}.")
        for a, t, loss in zip(ys, self._outputs, self._losses, strict=False):
            self._check_target_shape(a, t.shape, loss)
        return ys

    def _check_target_shape(self, y, out_shape, loss):
        out = tuple(out_shape[1:])
        got = tuple(y.shape[1:])
        if isinstance(loss, losses_mod.SparseCategoricalCrossentropy):
            ok = any(len(want) == len(got) and all(w is None or w == g
                                                   for w, g in zip(want, got, strict=True))
                     for want in (out[:-1], (*out[:-1], 1)))  # None: any length (e.g. time)
            want = f"{out[:-1]} (integer class ids)"
        else:
            aligned = got
            if len(got) == len(out) + 1 and got and got[-1] == 1:
                aligned = got[:-1]
            elif len(out) == len(got) + 1 and out[-1] == 1:
                aligned = (*got, 1)
            ok = len(aligned) == len(out) and all(o is None or o == a
                                                  for o, a in zip(out, aligned, strict=False))
            want = f"{out}"
        if ok:
            return
        hint = ""
        if len(out) >= 2 and len(got) < len(out):
            hint = (" The output has a time axis: the last recurrent layer has "
                    "return_sequences=True, which returns one output per timestep "
                    "(batch, timesteps, units). For one target per sequence set "
                    "return_sequences=False on the last recurrent layer; for one target per "
                    "step give y the shape (samples, timesteps, ...).")
        elif len(got) > len(out):
            hint = (" The targets have a time axis but the output does not: the last recurrent "
                    "layer returns only its last step (return_sequences=False). Set "
                    "return_sequences=True (and wrap following Dense layers in "
                    "TimeDistributed) to predict every timestep.")
        def shape(first, rest):
            return "(" + ", ".join([first, *map(str, rest)]) + ("," if not rest else "") + ")"

        raise ValueError(f"Targets of shape {shape('samples', got)} do not fit the model output "
                         f"{shape('batch', out)}; expected per-sample targets of shape {want}."
                         f"{hint}")

    def _fixed_batch_size(self):
        """The batch size stateful layers were built for (None when there are none)."""
        for layer in self.stateful_layers():
            states = getattr(layer, "_states", None)
            if states:
                return states[0].shape[0]
        return None

    def _batch_size(self, batch_size, n, what):
        fixed = self._fixed_batch_size()
        if batch_size is None:
            batch_size = fixed if fixed is not None else 32
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
        if fixed is not None and (batch_size != fixed or n % fixed):
            names = ", ".join(la.name for la in self.stateful_layers())
            problem = (f"batch_size={batch_size}" if batch_size != fixed else
                       f"{n} samples, which is not a multiple of {fixed}: the last batch "
                       f"would have {n % fixed} sample(s)")
            raise ValueError(
                f"This model has stateful layers ({names}) built for batch size {fixed}: they "
                f"keep one state per sample slot, so every batch of {what} must have exactly "
                f"{fixed} samples; got {problem}. Pass batch_size={fixed} and a number of "
                f"samples divisible by {fixed} (e.g. drop the last {n % fixed} with "
                f"x[:{n - n % fixed}]), or rebuild the model with the batch size you need.")
        return int(batch_size)

    def _sample_weights(self, sample_weight, class_weight, y, n):
        """Per-sample weights (or None) from ``sample_weight`` or a ``class_weight`` dict,
        as Keras: one-hot targets use their argmax, others their rounded value."""
        if sample_weight is not None and class_weight is not None:
            raise ValueError("Give sample_weight or class_weight, not both.")
        if class_weight is not None:
            if not isinstance(class_weight, dict):
                raise TypeError(f"class_weight must be a dict {{class: weight}}; got "
                                f"{type(class_weight).__name__}.")
            labels = np.asarray(y)
            if labels.ndim > 1:
                labels = labels.argmax(axis=-1) if labels.shape[-1] != 1 else labels[..., 0]
            if labels.ndim != 1:
                raise ValueError("class_weight needs one class per sample; for per-step "
                                 "targets pass sample_weight of shape (samples, timesteps).")
            labels = np.round(labels).astype(np.int64)
            return np.array([class_weight.get(int(c), 1.0) for c in labels], "float32")
        if sample_weight is None:
            return None
        sw = np.asarray(sample_weight, dtype="float32")
        if sw.ndim == 0 or sw.shape[0] != n:
            raise ValueError(f"sample_weight must have one entry per sample ({n}); got shape "
                             f"{sw.shape}.")
        return sw

