"""Look inside a recurrent layer: every gate and state at every time step.

``lstm_np.trace(layer, x)`` reruns the layer's forward pass with the NumPy equations of
:mod:`lstm_np.ops` (the functions the numpy engine runs) and reads back from their per-step
caches what a layer call hides:

    LSTM       z (B, T, 4H)  i, f, c_tilde, o, c, h (B, T, H)      (Olah's i, f, C~, o, C, h)
    GRU        z, r, h_tilde, h (B, T, H)                           (Keras' gate order z, r, h)
    SimpleRNN  z (pre-activation), h (B, T, H)

Axis 1 is the *processing order*: with ``go_backwards=True`` position ``k`` holds input
step ``T-1-k``, exactly as the layer's own output sequence (``Trace.input_step`` says
which input step each position read). Tracing is an inference pass: no dropout, no mask,
and a stateful layer's stored state is read as the initial state but never changed.

Keras doc: https://keras.io/api/layers/recurrent_layers/lstm/
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import activations, layers, ops
from ..ops.checks import check_forward


@dataclass
class Trace:
    """Per-step quantities of one traced call; ``trace["f"]`` is the forget gate (B, T, H)."""

    kind: str  # "LSTM", "GRU" or "SimpleRNN"
    arrays: dict[str, np.ndarray]  # name -> (B, T, ·), processing order
    input_step: np.ndarray  # (T,): input step read at each processing position
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        self.names = tuple(self.arrays)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.arrays:
            raise KeyError(f"A {self.kind} trace has {', '.join(self.names)}; not {name!r}.")
        return self.arrays[name]

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k} {v.shape}" for k, v in self.arrays.items())
        return f"<Trace {self.kind}: {shapes}>"


def trace_lstm_arrays(x, kernel, recurrent_kernel, bias=None, h0=None, c0=None,
                      activation="tanh", recurrent_activation="sigmoid") -> dict:
    """Trace an LSTM given as arrays (Keras layout, gates i, f, c, o); x (B, T, F) in
    processing order. Returns ``{"z", "i", "f", "c_tilde", "o", "c", "h"}``.

    The pass is :func:`lstm_np.ops.lstm.lstm_forward`; the gates are read back from the
    pre-activations ``z`` (B, 4H) its per-step caches keep."""
    act, ract = activations.get(activation), activations.get(recurrent_activation)
    x, kernel, recurrent_kernel, bias, (h0, c0), *_ = check_forward(
        "trace_lstm_arrays", 4, x, kernel, recurrent_kernel, bias, [h0, c0],
        lambda H: [(4 * H,)])
    h, _, cache = ops.lstm_forward(x, kernel, recurrent_kernel, bias, h0, c0,
                                   activation=act, recurrent_activation=ract)
    z = np.stack([step[3] for step in cache.steps], axis=1)  # (B, T, 4H)
    z_i, z_f, z_c, z_o = np.split(z, 4, axis=2)  # each (B, T, H)
    c = np.stack([step[4] for step in cache.steps], axis=1)  # (B, T, H)
    return {"z": z, "i": ract(z_i), "f": ract(z_f), "c_tilde": act(z_c), "o": ract(z_o),
            "c": c, "h": h}


def trace_gru_arrays(x, kernel, recurrent_kernel, bias=None, h0=None, activation="tanh",
                     recurrent_activation="sigmoid", reset_after=True) -> dict:
    """Trace a GRU given as arrays (Keras layout, gates z, r, h).

    With ``reset_after`` (Keras' default) bias is (2, 3H): row 0 input, row 1 recurrent::

        x_z, x_r, x_h = split(x_t @ W + b_in)                      (B, H) each
        u_z, u_r, u_h = split(h @ U + b_rec)
        z = σ(x_z + u_z)   r = σ(x_r + u_r)   h~ = φ(x_h + r * u_h)
        h = z * h_prev + (1 - z) * h~

    Without it, bias is (3H,) and ``h~ = φ(x_h + (r * h_prev) @ U_h)``.
    The pass is :func:`lstm_np.ops.gru.gru_forward`; the gates are read back from the
    pre-activations its per-step caches keep. Returns ``{"z", "r", "h_tilde", "h"}``.
    """
    act, ract = activations.get(activation), activations.get(recurrent_activation)
    x, kernel, recurrent_kernel, bias, (h0,), *_ = check_forward(
        "trace_gru_arrays", 3, x, kernel, recurrent_kernel, bias, [h0],
        lambda H: [(2, 3 * H)] if reset_after else [(3 * H,)])
    h, _, cache = ops.gru_forward(x, kernel, recurrent_kernel, bias, h0,
                                  reset_after=reset_after, activation=act,
                                  recurrent_activation=ract)
    a = np.stack([step[2] for step in cache.steps], axis=1)  # (B, T, 3H): a_z, a_r, a_h
    a_z, a_r, a_h = np.split(a, 3, axis=2)  # each (B, T, H)
    return {"z": ract(a_z), "r": ract(a_r), "h_tilde": act(a_h), "h": h}


def trace_simple_rnn_arrays(x, kernel, recurrent_kernel, bias=None, h0=None,
                            activation="tanh") -> dict:
    """Trace a SimpleRNN: ``z = x_t @ W + b + h_prev @ U``, ``h = φ(z)``
    (:func:`lstm_np.ops.simple_rnn.simple_rnn_forward`). Returns ``{"z", "h"}``."""
    act = activations.get(activation)
    x, kernel, recurrent_kernel, bias, (h0,), *_ = check_forward(
        "trace_simple_rnn_arrays", 1, x, kernel, recurrent_kernel, bias, [h0], lambda H: [(H,)])
    h, _, cache = ops.simple_rnn_forward(x, kernel, recurrent_kernel, bias, h0, activation=act)
    z = np.stack([step[2] for step in cache.steps], axis=1)  # (B, T, H)
    return {"z": z, "h": h}


def _lstm(layer, x, states):
    w = layer._weights
    return trace_lstm_arrays(x, w["kernel"], w["recurrent_kernel"], w.get("bias"), *states,
                             activation=layer.activation,
                             recurrent_activation=layer.recurrent_activation)


def _gru(layer, x, states):
    w = layer.get_weights()
    bias = w[2] if len(w) > 2 else None
    return trace_gru_arrays(x, w[0], w[1], bias, states[0], activation=layer.activation,
                            recurrent_activation=layer.recurrent_activation,
                            reset_after=getattr(layer, "reset_after", True))


def _simple_rnn(layer, x, states):
    w = layer.get_weights()
    bias = w[2] if len(w) > 2 else None
    return trace_simple_rnn_arrays(x, w[0], w[1], bias, states[0], activation=layer.activation)


#: The layers that can be traced.
TRACERS = {layers.LSTM: _lstm, layers.GRU: _gru, layers.SimpleRNN: _simple_rnn}
TRACEABLE = tuple(TRACERS)


def trace(layer, x, initial_state=None) -> Trace:
    """Run ``layer`` on ``x`` (B, T, F) step by step and return a :class:`Trace` of every
    gate and state (see the module docstring). ``initial_state`` is a list of (B, H)
    states as for a layer call; by default a stateful layer starts from its stored
    states, any other from zeros. The layer's weights and stored states are not changed.

    >>> import numpy as np, lstm_np
    >>> tr = lstm_np.trace(lstm_np.LSTM(2, seed=0), np.ones((1, 3, 1)))
    >>> tr["f"].shape, tr.names
    ((1, 3, 2), ('z', 'i', 'f', 'c_tilde', 'o', 'c', 'h'))
    """
    if not isinstance(layer, TRACEABLE):
        have = ", ".join(c.__name__ for c in TRACEABLE)
        raise TypeError(
            f"trace() takes a recurrent layer ({have}); got {type(layer).__name__}. "
            "For a model, trace its recurrent layer on that layer's own input."
        )
    x = layer._check_input(x)  # same checks and dtype cast as a call: (B, T, F)
    B, T, _ = x.shape
    if not layer.built:
        layer.build(x.shape)
    if initial_state is not None:
        states = layer._check_states(initial_state, B, "initial_state")
    elif layer.stateful:
        states = layer.states
        if states[0].shape[0] != B:
            raise ValueError(
                f"{layer.name} is stateful with batch size {states[0].shape[0]}; got a batch "
                f"of {B}. Trace it with its own batch size, or pass initial_state."
            )
    else:
        states = [np.zeros((B, layer.units), layer.dtype) for _ in layer.state_names]
    input_step = np.arange(T)[::-1].copy() if layer.go_backwards else np.arange(T)  # (T,)
    x = np.ascontiguousarray(x[:, input_step])  # processing order
    cls = next(c for c in TRACEABLE if isinstance(layer, c))
    with np.errstate(over="ignore", invalid="ignore"):
        arrays = TRACERS[cls](layer, x, states)
    return Trace(cls.__name__, arrays, input_step)


__all__ = ["Trace", "trace", "trace_lstm_arrays", "trace_gru_arrays", "trace_simple_rnn_arrays"]
