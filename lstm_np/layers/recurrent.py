"""The recurrent driver every cell shares: Keras' RNN bookkeeping, written once.

A cell layer (LSTM, GRU, SimpleRNN) subclasses :class:`Recurrent` and supplies only

* ``state_names`` / ``n_gates``, its weights in ``build_cell(input_dim)``,
* ``cell_forward(x, states, mask, dropout_mask, recurrent_dropout_mask, keep)`` and
  ``cell_backward(d_outputs, d_states, cache)`` on arrays in *processing order*.

Everything else lives here, once, exactly as in Keras 3's ``keras/src/layers/rnn/rnn.py``:

* input checks (3-D ``(batch, timesteps, features)``, numeric, feature size);
* ``go_backwards``: the input (and mask) is read last step first, and the output
  sequence is **not** flipped back: ``outputs[:, k]`` belongs to input step ``T-1-k``;
* ``stateful``: a fixed batch size; the final states of every call become the initial
  states of the next, until ``reset_state()``; ``initial_state=`` overrides them for
  one call and the stored state is still updated afterwards;
* ``return_sequences`` (all outputs, or the last: ``outputs[:, -1]``), ``return_state``
  (``[output, *states]``);
* dropout masks (training only), drawn once per call from the layer's seeded generator;
* ``backward``: the reverse of all of the above around the cell's BPTT.

Keras doc: https://keras.io/api/layers/recurrent_layers/rnn/
"""

from __future__ import annotations

import numpy as np

from .. import activations
from ..arrays import as_float_array
from ..config import resolve_engine
from .base import Layer


def refuse_unsupported(**options) -> None:
    """Raise for the Keras regularizer/constraint arguments lstm_np does not implement."""
    for what, value in options.items():
        if value is not None:
            raise NotImplementedError(
                f"{what} is not supported by lstm_np yet (got {value!r}); leave it None.")


def check_use_cudnn(use_cudnn) -> None:
    """Keras' ``use_cudnn`` is accepted (so Keras configs load) and validated as Keras does."""
    if use_cudnn not in ("auto", True, False):
        raise ValueError(f"use_cudnn must be 'auto', True or False (as in Keras); got "
                         f"{use_cudnn!r}. lstm_np never uses cuDNN; it is accepted so "
                         "Keras configs load.")


def gated_implementation(implementation, recurrent_dropout: float) -> int:
    """Keras' ``implementation`` of a gated cell: 1 draws one dropout mask per gate, 2 one for
    all; Keras forces 1 once ``recurrent_dropout > 0`` (LSTMCell/GRUCell ``__init__`` in
    keras/src/layers/rnn/lstm.py and gru.py)."""
    if implementation not in (1, 2):
        raise ValueError(
            f"implementation must be 1 or 2 (as in Keras); got {implementation!r}.")
    return 1 if recurrent_dropout != 0.0 else int(implementation)


class Recurrent(Layer):
    """Base class of the recurrent layers (not a layer of its own)."""

    #: Names of the states, output state first (LSTM: ["h", "c"]).
    state_names: tuple[str, ...] = ("h",)
    #: Gate blocks along the last axis of the kernels (LSTM 4, GRU 3, SimpleRNN 1).
    n_gates: int = 1
    supports_masking = True
    #: True when the cell's numba engine does no NumPy arithmetic that could warn about
    #: overflow (its kernels never do), so the per-call ``np.errstate`` can be skipped.
    numba_fp_quiet = False

    def __init__(self, units: int, activation="tanh", use_bias: bool = True,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed=None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, engine: str | None = None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(
                f"units must be a positive integer (the size of the hidden state); got {units!r}."
            )
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        for what, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not isinstance(rate, (int, float, np.floating, np.integer)) or np.isnan(rate):
                raise ValueError(f"{what} must be a number in [0, 1); got {rate!r}.")
        # Keras clamps the rates to [0, 1] and applies them only when 0 < rate < 1.
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        #: Training buffers the engine may keep from call to call (lstm_forward's workspace).
        self._workspace: dict = {}
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)  # accepted for Keras compatibility; the result is the same
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.engine = resolve_engine(engine)
        self._states: list[np.ndarray] | None = None
        self.state_grads: list[np.ndarray] | None = None
        self.last_dropout_masks: tuple[np.ndarray | None, np.ndarray | None] = (None, None)

    # ------------------------------------------------------------------ to implement
    def build_cell(self, input_dim: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def cell_forward(self, x, states, mask, dropout_mask, recurrent_dropout_mask, keep):
        raise NotImplementedError  # pragma: no cover

    def cell_backward(self, d_outputs, d_states, cache):
        raise NotImplementedError  # pragma: no cover

    def dropout_mask_count(self) -> int:
        """How many input/recurrent dropout masks a call draws (1, or one per gate)."""
        return 1

    # ------------------------------------------------------------------ shapes
    @property
    def input_dim(self) -> int | None:
        return self._weights["kernel"].shape[0] if self.built else None

    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(
                f"{type(self).__name__} expects input of shape (batch, timesteps, features); "
                f"got shape {input_shape}. Reshape with x.reshape(samples, timesteps, features)."
            )
        features = input_shape[-1]
        declared = self.batch_input_shape
        if features is None and declared is not None and len(declared) == 3:
            features = declared[-1]
        if features is None:
            raise ValueError(f"{self.name}: the feature size must be known to build the layer.")
        self.build_cell(int(features))
        if self.stateful:
            batch = input_shape[0]
            if declared is not None and declared[0] is not None:
                batch = declared[0]
            if batch is None:
                raise ValueError(
                    "A stateful layer needs a fixed batch size: pass batch_input_shape="
                    "(batch, timesteps, features) (Keras 2) or batch_size=, or build it from an "
                    "input of that batch size (Keras 3: Input(batch_shape=...))."
                )
            self._states = [np.zeros((int(batch), self.units), self.dtype)
                            for _ in self.state_names]
        self.built = True

    def compute_output_shape(self, input_shape):
        B, T, _ = input_shape
        out = (B, T, self.units) if self.return_sequences else (B, self.units)
        if self.return_state:
            return [out] + [(B, self.units) for _ in self.state_names]
        return out

    def compute_mask(self, inputs, mask=None):
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None for _ in self.state_names]
        return output_mask

    # ------------------------------------------------------------------ states
    @property
    def states(self) -> list[np.ndarray] | None:
        """The stored states ``[h, ...]`` of a stateful layer (copies); None when stateless."""
        return None if self._states is None else [s.copy() for s in self._states]

    def reset_state(self, states=None) -> None:
        """Zero the stored states (Keras 3), or set them to ``states`` (Keras 2's argument)."""
        if not self.stateful:
            raise AttributeError(
                f"{self.name} is not stateful: only a layer made with stateful=True keeps "
                "states between calls."
            )
        if self._states is None:
            return  # not built yet: nothing stored
        if states is None:
            self._states = [np.zeros_like(s) for s in self._states]
        else:
            self._states = self._check_states(states, self._states[0].shape[0], "states")

    reset_states = reset_state  # Keras 2 spelling

    def _check_states(self, states, batch, what):
        if isinstance(states, np.ndarray) and len(self.state_names) == 1:
            states = [states]
        if not isinstance(states, (list, tuple)) or len(states) != len(self.state_names):
            raise ValueError(
                f"{what} must be a list of {len(self.state_names)} arrays "
                f"[{', '.join(self.state_names)}], each of shape ({batch}, {self.units}); "
                f"got {type(states).__name__}"
                + (f" of length {len(states)}" if isinstance(states, (list, tuple)) else "") + "."
            )
        out = []
        for name, s in zip(self.state_names, states, strict=True):
            s = as_float_array(s, self.dtype, what=f"{what} {name!r}")
            if s.shape != (batch, self.units):
                raise ValueError(
                    f"{what} {name!r} must have shape (batch, units) = ({batch}, {self.units}); "
                    f"got {s.shape}."
                )
            out.append(s)
        return out

    # ------------------------------------------------------------------ forward
    def _check_input(self, x):
        x = as_float_array(x, self.dtype)
        if x.ndim != 3:
            raise ValueError(
                f"{type(self).__name__} expects a 3-D input (batch, timesteps, features); got "
                f"shape {x.shape}. A univariate series of N windows of T steps is "
                f"x.reshape(N, T, 1); N samples of F features at one step is x.reshape(N, 1, F)."
            )
        B, T, F = x.shape
        if T == 0:
            raise ValueError(f"{self.name}: the input has 0 timesteps (shape {x.shape}); "
                             "a recurrent layer needs at least one step.")
        if self.built and F != self.input_dim:
            raise ValueError(
                f"{self.name} was built for {self.input_dim} input features but got {F} "
                f"(input shape {x.shape}). The last axis of (batch, timesteps, features) must "
                "stay the same from call to call."
            )
        declared = self.batch_input_shape
        if not self.built and declared is not None and len(declared) == 3 \
                and declared[-1] is not None and declared[-1] != F:
            raise ValueError(
                f"{self.name} was declared with input shape {declared} ({declared[-1]} features) "
                f"but got input of shape {x.shape}."
            )
        return x

    def _check_mask(self, mask, B, T):
        if mask is None:
            return None
        m = np.asarray(mask)
        if m.ndim == 3 and m.shape[-1] == 1:
            m = m[..., 0]
        if m.shape != (B, T):
            raise ValueError(
                f"mask must have shape (batch, timesteps) = ({B}, {T}); got {m.shape}. "
                "True keeps a step, False skips it."
            )
        if m.dtype.kind not in "biuf":
            raise TypeError(f"mask must be boolean (or 0/1); got dtype {m.dtype}.")
        return m.astype(bool)

    def _draw_dropout_masks(self, B, F):
        G = self.dropout_mask_count()

        def draw(rate, width):
            keep = self._rng.random((G, B, width)) >= rate
            return (keep / (1.0 - rate)).astype(self.dtype)  # inverted dropout, Keras' scaling

        dp = draw(self.dropout, F) if 0.0 < self.dropout < 1.0 else None
        rdp = draw(self.recurrent_dropout, self.units) if 0.0 < self.recurrent_dropout < 1.0 \
            else None
        return dp, rdp

    def call(self, x, initial_state=None, mask=None, training=False):
        """Run the layer. Returns the output, or ``[output, *states]`` with ``return_state``."""
        x = self._check_input(x)
        B, T, F = x.shape
        if not self.built:
            self.build(x.shape)
        if self.stateful and self._states[0].shape[0] != B:
            expected = self._states[0].shape[0]
            raise ValueError(
                f"{self.name} is stateful with batch size {expected} (one stored state per "
                f"sample), but got a batch of {B}. Every batch must have {expected} samples: "
                f"make the number of samples a multiple of {expected} and pass "
                f"batch_size={expected} to fit/predict, or build the layer for {B} "
                f"(batch_input_shape=({B}, {T}, {F}), or Input(batch_shape=...)). "
                "reset_state() does not change the batch size."
            )
        mask = self._check_mask(mask, B, T)
        if initial_state is not None:
            states = self._check_states(initial_state, B, "initial_state")
        elif self.stateful:
            states = self._states
        else:
            states = [np.zeros((B, self.units), self.dtype) for _ in self.state_names]

        if self.go_backwards:  # processing order: last input step first
            x = x[:, ::-1]
            mask = None if mask is None else mask[:, ::-1]
        x = np.ascontiguousarray(x)
        dp, rdp = self._draw_dropout_masks(B, F) \
            if training and (self.dropout or self.recurrent_dropout) else (None, None)
        self.last_dropout_masks = (dp, rdp)

        if self.engine == "numba" and self.numba_fp_quiet:  # saves ~0.7 µs per call
            outputs, final_states, cache = self.cell_forward(x, states, mask, dp, rdp,
                                                             keep=training)
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                outputs, final_states, cache = self.cell_forward(x, states, mask, dp, rdp,
                                                                 keep=training)
        if self.stateful:
            self._states = [np.array(s, dtype=self.dtype, copy=True) for s in final_states]
        self._cache = (cache, B, T) if training else None
        output = outputs if self.return_sequences else outputs[:, -1]
        if self.return_state:
            return [output, *final_states]
        return output

    # ------------------------------------------------------------------ backward
    def backward(self, dy):
        """Gradient of the last training call. ``dy`` mirrors its output (a list with the
        states' gradients when ``return_state``; None for an unused state).

        Returns dx (B, T, F) in the input's own time order; sets ``grads`` (aligned with
        ``get_weights()``, replaced each call) and ``state_grads`` (gradients w.r.t. that
        call's initial states: given, carried or zeros; a stateful layer's gradient stops
        there, truncated BPTT as in Keras). Each forward allows one backward.
        """
        cache, B, T = self._require_cache()
        n_out = 1 + len(self.state_names) if self.return_state else 1
        parts = list(dy) if self.return_state else [dy]
        if self.return_state and (not isinstance(dy, (list, tuple)) or len(parts) != n_out):
            raise ValueError(
                f"{self.name} returns [output, {', '.join(self.state_names)}] "
                f"(return_state=True), so dy must be a list of {n_out} arrays (None for an "
                f"unused one); got {type(dy).__name__}"
                + (f" of length {len(parts)}" if isinstance(dy, (list, tuple)) else "") + "."
            )
        out_shape = (B, T, self.units) if self.return_sequences else (B, self.units)
        d_out = self._grad_array(parts[0], out_shape, "dy (the output's gradient)")
        if self.return_sequences:
            d_outputs = d_out  # read-only from here on: no copy needed
        else:
            d_outputs = np.zeros((B, T, self.units), self.dtype)
            d_outputs[:, -1] = d_out
        d_states = [self._grad_array(p, (B, self.units), f"d{name}")
                    for p, name in zip(parts[1:], self.state_names, strict=False)]
        d_states += [np.zeros((B, self.units), self.dtype)
                     for _ in range(len(self.state_names) - len(d_states))]
        if self.engine == "numba" and self.numba_fp_quiet:
            dx, grads, d_init = self.cell_backward(d_outputs, d_states, cache)
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                dx, grads, d_init = self.cell_backward(d_outputs, d_states, cache)
        if self.go_backwards:
            dx = dx[:, ::-1]
        self.grads = [np.asarray(g, self.dtype) for g in grads]
        self.state_grads = [np.asarray(d, self.dtype) for d in d_init]
        return np.ascontiguousarray(dx, dtype=self.dtype)

    def _grad_array(self, g, shape, what):
        if g is None:
            return np.zeros(shape, self.dtype)
        g = as_float_array(g, self.dtype, what=what)
        if g.shape != shape:
            raise ValueError(f"{self.name}: {what} must have shape {shape} (the shape of what "
                             f"the forward pass returned); got {g.shape}.")
        return g

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(units=self.units, activation=self.activation.name, use_bias=self.use_bias,
                   dropout=self.dropout, recurrent_dropout=self.recurrent_dropout,
                   seed=self.seed, return_sequences=self.return_sequences,
                   return_state=self.return_state, go_backwards=self.go_backwards,
                   stateful=self.stateful, unroll=self.unroll,
                   zero_output_for_mask=self.zero_output_for_mask, engine=self.engine)
        if self.batch_input_shape is not None:
            cfg["batch_input_shape"] = self.batch_input_shape
        return cfg
