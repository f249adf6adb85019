"""Optimizers with Keras 3's update rules (``keras/src/backend/torch/optimizers/``).

One step, for every trainable weight ``w`` with gradient ``g``, in Keras' order:
clip (``clipnorm`` per weight, ``global_clipnorm``, or ``clipvalue``), decoupled weight
decay ``w -= w * wd * lr``, the update rule, ``iterations += 1``.

* SGD:      ``w -= lr g``; momentum ``m = mu m - lr g; w += m``;
            nesterov ``m = mu m - lr g; w += mu m - lr g``.
* Adam:     ``m += (g - m)(1 - b1)``, ``v += (g^2 - v)(1 - b2)``,
            ``w -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``;
            amsgrad uses ``v_hat = max(v_hat, v)`` for ``v``.
* RMSprop:  ``v = rho v + (1 - rho) g^2``, ``w -= lr g / sqrt(v + eps)`` (centered:
            ``v - a^2`` with ``a = rho a + (1 - rho) g``; momentum: ``m = mu m + step``).
* Adagrad:  ``a += g^2`` (from ``initial_accumulator_value``), ``w -= lr g / sqrt(a + eps)``.

Keras 2 arguments keep their Keras 2 meaning: ``lr`` is ``learning_rate``, ``decay``
is time-based decay ``lr / (1 + decay * iterations)`` (Keras 3 ignores it with a
warning), ``epsilon=None`` is ``1e-7`` (Keras 2's ``K.epsilon()``).

Keras doc: https://keras.io/api/optimizers/
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .config import JIT


class Optimizer:
    """Base: learning rate, clipping, weight decay, iterations and the per-weight slots."""

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, lr=None, decay=None, **kwargs):
        for key in ("use_ema", "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
                    "gradient_accumulation_steps"):
            kwargs.pop(key, None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected argument(s) "
                            f"{', '.join(sorted(kwargs))}.")
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of clipnorm, clipvalue and global_clipnorm can be set; got "
                             f"clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}.")
        self.learning_rate = learning_rate if lr is None else lr
        rate = self.learning_rate
        if not callable(rate) and (isinstance(rate, bool)
                                   or not isinstance(rate, (int, float, np.number))):
            raise TypeError(f"learning_rate must be a number (or a schedule: a callable of the "
                            f"step); got {rate!r}.")
        self.decay = float(decay or 0.0)
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.name = name or type(self).__name__.lower()
        self.iterations = 0
        self.slots: dict[str, list[np.ndarray]] = {}
        self._shapes_changed = True

    # Keras 2 spelling
    @property
    def lr(self):
        return self.learning_rate

    @lr.setter
    def lr(self, value):
        self.learning_rate = value

    def current_learning_rate(self, dtype) -> float:
        lr = self.learning_rate
        if callable(lr):  # a schedule: f(iterations)
            lr = lr(self.iterations)
        # Keras keeps the learning rate in a float32 variable.
        lr = float(np.float32(lr))
        if self.decay:
            lr = lr / (1.0 + self.decay * self.iterations)
        return float(np.asarray(lr, dtype))

    def _slot(self, key, weights, fill=0.0):
        """Per-weight state arrays (created on the first step with the weights' shapes)."""
        slot = self.slots.get(key)
        if slot is None or (self._shapes_changed
                            and [s.shape for s in slot] != [w.shape for w in weights]):
            slot = [np.full(w.shape, fill, w.dtype) for w in weights]
            self.slots[key] = slot
        return slot

    def _clip(self, grads):
        if self.clipnorm and self.clipnorm > 0:
            out = []
            for g in grads:
                norm = np.sqrt(np.sum(np.square(g)))
                out.append(g * self.clipnorm / max(norm, self.clipnorm))
            return out
        if self.global_clipnorm and self.global_clipnorm > 0:
            norm = np.sqrt(sum(float(np.sum(np.square(g))) for g in grads))
            scale = self.global_clipnorm * min(1.0 / norm if norm else np.inf,
                                               1.0 / self.global_clipnorm)
            return [g * scale for g in grads]
        if self.clipvalue and self.clipvalue > 0:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def apply(self, grads, weights) -> None:
        """One step: update every array of ``weights`` in place from ``grads``."""
        if not weights:
            return
        grads = [np.asarray(g, dtype=w.dtype) for g, w in zip(grads, weights, strict=False)]
        if self.clipnorm or self.global_clipnorm or self.clipvalue:
            grads = self._clip(grads)
        signature = [w.shape for w in weights]
        self._shapes_changed = signature != getattr(self, "_signature", None)
        self._signature = signature
        lr = self.current_learning_rate(weights[0].dtype)
        if self.weight_decay:
            for w in weights:
                w -= w * self.weight_decay * lr
        self._update(grads, weights, lr)
        self.iterations += 1

    def apply_gradients(self, grads_and_vars) -> None:
        """Keras' spelling of :meth:`apply`: ``apply_gradients(zip(grads, weights))``."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def _update(self, grads, weights, lr):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict:
        lr = self.learning_rate
        return {"name": self.name, "learning_rate": lr if not callable(lr) else None,
                "decay": self.decay, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "clipvalue": self.clipvalue,
                "global_clipnorm": self.global_clipnorm}

    def get_state(self) -> dict:
        """Iterations and slot arrays (for saving)."""
        return {"iterations": self.iterations,
                "slots": {k: [a.copy() for a in v] for k, v in self.slots.items()}}

    def set_state(self, state, weights=None) -> None:
        """Put back what :meth:`get_state` returned. With ``weights`` (the arrays the slots
        belong to, in order) the next step keeps the slots, which fit those weights."""
        self.iterations = int(state["iterations"])
        self.slots = {k: [np.array(a) for a in v] for k, v in state["slots"].items()}
        if weights is not None:
            self._signature = [w.shape for w in weights]
            self._shapes_changed = False




class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    Keras doc: https://keras.io/api/optimizers/sgd/
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1]; got {momentum!r}.")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _update(self, grads, weights, lr):
        if self.momentum == 0.0:
            for w, g in zip(weights, grads, strict=False):
                w -= lr * g
            return
        for w, g, m in zip(weights, grads, self._slot("momentum", weights), strict=False):
            m *= self.momentum
            m -= lr * g
            if self.nesterov:
                w += self.momentum * m - lr * g
            else:
                w += m

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma & Ba), Keras' form: epsilon added to the uncorrected sqrt(v).

    Keras doc: https://keras.io/api/optimizers/adam/
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = 1e-7 if epsilon is None else float(epsilon)
        self.amsgrad = bool(amsgrad)

    def _update(self, grads, weights, lr):
        t = self.iterations + 1
        alpha = lr * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        ms, vs = self._slot("m", weights), self._slot("v", weights)
        vhats = self._slot("vhat", weights) if self.amsgrad else vs
        for w, g, m, v, vh in zip(weights, grads, ms, vs, vhats, strict=False):
            _adam_step(w, np.ascontiguousarray(g), m, v, vh, w.dtype.type(alpha), self.beta_1,
                       self.beta_2, self.epsilon, self.amsgrad)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


@njit(**JIT)
def _adam_step(w, g, m, v, vhat, alpha, beta_1, beta_2, epsilon, amsgrad):  # pragma: no cover
    """One Adam update, in place (one compiled loop instead of ~10 NumPy temporaries per
    weight: the batch-1 stateful programs are bound by that overhead)."""
    w, g, m, v, vhat = w.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), vhat.reshape(-1)
    b1 = w.dtype.type(beta_1)
    b2 = w.dtype.type(beta_2)
    eps = w.dtype.type(epsilon)
    one = w.dtype.type(1.0)
    for i in range(w.shape[0]):
        m[i] = m[i] * b1 + (one - b1) * g[i]
        v[i] = v[i] * b2 + (one - b2) * (g[i] * g[i])
        if amsgrad:
            vhat[i] = max(vhat[i], v[i])
        w[i] -= (alpha * m[i]) / (np.sqrt(vhat[i]) + eps)


class RMSprop(Optimizer):
    """RMSprop (Hinton), Keras 3's form: epsilon inside the square root.

    Keras doc: https://keras.io/api/optimizers/rmsprop/
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho, self.momentum = float(rho), float(momentum)
        self.epsilon = 1e-7 if epsilon is None else float(epsilon)
        self.centered = bool(centered)

    def _update(self, grads, weights, lr):
        rho = self.rho
        vs = self._slot("velocity", weights)
        avgs = self._slot("average_gradient", weights) if self.centered else [None] * len(vs)
        moms = self._slot("momentum", weights) if self.momentum > 0 else [None] * len(vs)
        for w, g, v, a, mom in zip(weights, grads, vs, avgs, moms, strict=False):
            v *= rho
            v += (1 - rho) * (g * g)
            denom = v + self.epsilon
            if self.centered:
                a *= rho
                a += (1 - rho) * g
                denom -= a * a
            step = (g * lr) / np.sqrt(denom)
            if mom is not None:
                mom *= self.momentum
                mom += step
                w -= mom
            else:
                w -= step

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.): per-coordinate rates from the sum of squared gradients.

    Keras doc: https://keras.io/api/optimizers/adagrad/
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = 1e-7 if epsilon is None else float(epsilon)

    def _update(self, grads, weights, lr):
        accs = self._slot("accumulator", weights, self.initial_accumulator_value)
        for w, g, acc in zip(weights, grads, accs, strict=False):
            acc += g * g
            w -= (g * lr) / np.sqrt(acc + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon,
                "initial_accumulator_value": self.initial_accumulator_value}


_CLASSES = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad}
NAMES = tuple(_CLASSES)


def get(identifier) -> Optimizer:
    """An optimizer from a name (``'adam'``), a class or an instance (passed through)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, str) and identifier.lower() in _CLASSES:
        return _CLASSES[identifier.lower()]()
    raise ValueError(f"Unknown optimizer {identifier!r}. Valid names: {', '.join(NAMES)} "
                     "(or an instance such as lstm_np.optimizers.Adam(learning_rate=0.01)).")


def from_config(class_name: str, config: dict) -> Optimizer:
    cfg = {k: v for k, v in config.items() if k != "name" and v is not None}
    cls = _CLASSES[class_name.lower()]
    return cls(name=config.get("name"), **cfg)
