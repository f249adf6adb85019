"""``Bidirectional``: run a recurrent layer forwards and a copy of it backwards, then merge.

As Keras 3 (``keras/src/layers/rnn/bidirectional.py``):

* the forward layer is a fresh copy of the wrapped layer (named ``forward_<name>``); the
  backward layer is a copy with ``go_backwards=True`` (``backward_<name>``), or the
  ``backward_layer`` given, which must differ in ``go_backwards`` and agree in
  ``stateful``, ``return_sequences`` and ``return_state``;
* both copies get ``zero_output_for_mask = return_sequences``, so masked steps output zeros
  in a returned sequence;
* the backward layer's output sequence comes out last-step-first; with
  ``return_sequences`` it is flipped back in time before merging, so that position t of
  both halves belongs to input step t;
* merge modes: ``concat`` ``[y, y_rev]`` (last axis), ``sum`` ``y + y_rev``, ``ave``
  ``(y + y_rev) / 2``, ``mul`` ``y * y_rev``, ``None`` the list ``[y, y_rev]``;
* ``return_state`` returns ``[output, *forward_states, *backward_states]`` (with merge_mode
  None ``[y, y_rev, *forward_states, *backward_states]``); ``initial_state`` is split in
  halves, forward first; weights are the forward layer's then the backward layer's.

``backward(dy)`` splits ``dy`` the way the merge combined the halves, flips the backward
half back into its layer's processing order, runs both layers' BPTT and sums the two
input gradients.

Keras doc: https://keras.io/api/layers/recurrent_layers/bidirectional/
"""

from __future__ import annotations

import copy

import numpy as np

from ..arrays import as_float_array
from .base import Layer
from .recurrent import Recurrent

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _fresh_copy(layer: Recurrent, name: str, go_backwards: bool) -> Recurrent:
    """An unbuilt copy of ``layer`` with the same configuration (Keras re-creates the
    wrapped layer from its config: the copies never share weights with it)."""
    new = copy.copy(layer)
    new.__dict__ = {k: v for k, v in layer.__dict__.items()
                    if k not in ("_weights", "_states", "_cache", "_rng", "_workspace")}
    new.__dict__ = copy.deepcopy(new.__dict__)
    new._weights, new._states, new._cache, new._workspace = {}, None, None, {}
    new._rng = np.random.default_rng(layer.seed)
    new.built = False
    new.grads = new.state_grads = None
    new.last_dropout_masks = (None, None)
    new.name = name
    new.go_backwards = go_backwards
    if go_backwards:  # a fixed seed must not give both halves the same initial weights
        new._init_salt = 1
    return new


class Bidirectional(Layer):
    """Bidirectional wrapper for :class:`LSTM`, :class:`GRU` and :class:`SimpleRNN`.

    >>> import numpy as np, lstm_np
    >>> bi = lstm_np.Bidirectional(lstm_np.GRU(3, return_sequences=True))
    >>> bi(np.zeros((2, 5, 4))).shape
    (2, 5, 6)
    """

    supports_masking = True

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None,
                 **kwargs):
        if not isinstance(layer, Recurrent):
            raise ValueError(
                "Bidirectional wraps a recurrent layer (lstm_np.LSTM, GRU or SimpleRNN); got "
                f"{layer!r}. Pass the layer instance, e.g. Bidirectional(LSTM(16)).")
        if backward_layer is not None and not isinstance(backward_layer, Recurrent):
            raise ValueError(
                "backward_layer must be a recurrent layer instance (lstm_np.LSTM, GRU or "
                f"SimpleRNN) or None; got {backward_layer!r}.")
        if merge_mode not in MERGE_MODES:
            raise ValueError(
                f"Invalid merge_mode {merge_mode!r}: expected one of 'concat', 'sum', 'mul', "
                "'ave' or None (None returns the two halves as a list).")
        kwargs.setdefault("dtype", layer.dtype.name)
        super().__init__(**kwargs)
        base = layer.name.removeprefix("forward_")
        self.forward_layer = _fresh_copy(layer, f"forward_{base}", layer.go_backwards)
        if backward_layer is None:
            # Keras 3 sets go_backwards=True (not "flipped"), so wrapping a layer that already
            # has go_backwards=True is refused below, as Keras refuses it.
            self.backward_layer = _fresh_copy(
                layer, f"backward_{layer.name.removeprefix('backward_')}", True)
        else:
            self.backward_layer = backward_layer
        self._verify_layer_config()
        for sub in (self.forward_layer, self.backward_layer):
            sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = list(weights) if weights else None
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.state_grads: list[np.ndarray] | None = None
        if self.batch_input_shape is None:
            self.batch_input_shape = layer.batch_input_shape

    def _verify_layer_config(self):
        fwd, bwd = self.forward_layer, self.backward_layer
        if fwd.go_backwards == bwd.go_backwards:
            raise ValueError(
                "The forward and backward layers must have different go_backwards values; got "
                f"forward_layer.go_backwards={fwd.go_backwards} and "
                f"backward_layer.go_backwards={bwd.go_backwards}. Wrap a layer with "
                "go_backwards=False (Bidirectional makes the reversed copy itself).")
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(fwd, attr) != getattr(bwd, attr):
                raise ValueError(
                    f"The forward and backward layers must have the same {attr}; got "
                    f"{getattr(fwd, attr)} for the forward layer and {getattr(bwd, attr)} for "
                    "the backward layer.")

    # ------------------------------------------------------------------ weights
    @property
    def built(self) -> bool:
        return self.forward_layer.built and self.backward_layer.built

    @built.setter
    def built(self, value) -> None:  # the base class sets it; the sub-layers decide
        pass

    def build(self, input_shape) -> None:
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub.build(tuple(input_shape))
        if self._initial_weights is not None:
            weights, self._initial_weights = self._initial_weights, None
            self.set_weights(weights)

    @property
    def weight_names(self) -> list[str]:
        return [f"forward_layer/{n}" for n in self.forward_layer.weight_names] + \
            [f"backward_layer/{n}" for n in self.backward_layer.weight_names]

    @property
    def weights(self) -> list[np.ndarray]:
        return self.forward_layer.weights + self.backward_layer.weights

    def get_weights(self) -> list[np.ndarray]:
        """The forward layer's weights, then the backward layer's (Keras' order)."""
        return self.forward_layer.get_weights() + self.backward_layer.get_weights()

    def set_weights(self, weights) -> None:
        if not self.built:
            raise ValueError(
                f"Layer {self.name!r} has no weights yet: build it first "
                "(call it on an input, or call layer.build(input_shape)).")
        weights = list(weights)
        n_f = len(self.forward_layer.weights)
        n = n_f + len(self.backward_layer.weights)
        if len(weights) != n:
            raise ValueError(
                f"Layer {self.name!r} expects {n} weight arrays ({n_f} for the forward layer, "
                f"then {n - n_f} for the backward layer: {', '.join(self.weight_names)}); got "
                f"{len(weights)}.")
        self.forward_layer.set_weights(weights[:n_f])
        self.backward_layer.set_weights(weights[n_f:])

    def count_params(self) -> int:
        return self.forward_layer.count_params() + self.backward_layer.count_params()

    @property
    def last_dropout_masks(self):
        """The dropout masks of the last call: (forward layer's, backward layer's), each
        ``(input mask or None, recurrent mask or None)`` as on the recurrent layers."""
        return self.forward_layer.last_dropout_masks, self.backward_layer.last_dropout_masks

    # ------------------------------------------------------------------ states
    @property
    def states(self):
        f, b = self.forward_layer.states, self.backward_layer.states
        return None if f is None or b is None else f + b

    def reset_state(self) -> None:
        if not self.stateful:
            raise AttributeError(
                f"{self.name} is not stateful: only a Bidirectional around a layer made with "
                "stateful=True keeps states to reset.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    reset_states = reset_state  # Keras 2 spelling

    # ------------------------------------------------------------------ shapes and masks
    def compute_output_shape(self, input_shape):
        out = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            out, states = out[0], list(out[1:])
        if self.merge_mode == "concat":
            out = (*out[:-1], 2 * out[-1])
        outs = [out, out] if self.merge_mode is None else [out]
        if self.return_state:
            return outs + states + states
        return outs if self.merge_mode is None else out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, list):
            mask = mask[0]
        out_mask = mask if self.return_sequences else None
        masks = [out_mask, out_mask] if self.merge_mode is None else [out_mask]
        if self.return_state:
            n = len(self.forward_layer.state_names)
            return masks + [None] * (2 * n)
        return masks if self.merge_mode is None else out_mask

    # ------------------------------------------------------------------ forward
    def call(self, x, initial_state=None, mask=None, training=False):
        """Returns the merged output (see the module docstring for the list forms)."""
        x = as_float_array(x, self.dtype)
        n = len(self.forward_layer.state_names)
        fwd_state = bwd_state = None
        if initial_state is not None:
            if not isinstance(initial_state, (list, tuple)) or len(initial_state) != 2 * n:
                names = self.forward_layer.state_names
                raise ValueError(
                    f"{self.name}: initial_state must be a list of {2 * n} arrays, the forward "
                    f"layer's [{', '.join(names)}] then the backward layer's "
                    f"[{', '.join(names)}]; got {type(initial_state).__name__}"
                    + (f" of length {len(initial_state)}"
                       if isinstance(initial_state, (list, tuple)) else "") + ".")
            fwd_state, bwd_state = list(initial_state[:n]), list(initial_state[n:])
        if not self.built and x.ndim == 3:
            self.build(x.shape)
        y = self.forward_layer.call(x, initial_state=fwd_state, mask=mask, training=training)
        y_rev = self.backward_layer.call(x, initial_state=bwd_state, mask=mask,
                                         training=training)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]  # back into input time order
        self._cache = (y, y_rev) if training else None
        if self.merge_mode == "concat":
            out = [np.concatenate([y, y_rev], axis=-1)]
        elif self.merge_mode == "sum":
            out = [y + y_rev]
        elif self.merge_mode == "ave":
            out = [(y + y_rev) / 2]
        elif self.merge_mode == "mul":
            out = [y * y_rev]
        else:
            out = [y, np.ascontiguousarray(y_rev)]
        if self.return_state or self.merge_mode is None:
            return out + states
        return out[0]

    # ------------------------------------------------------------------ backward
    def backward(self, dy):
        """Gradient of the last training call. ``dy`` mirrors its output (a list when it was
        a list; None for an unused part). Returns dx; sets ``grads`` (aligned with
        ``get_weights()``) and ``state_grads`` (forward layer's, then backward layer's)."""
        y, y_rev = self._require_cache()
        n = len(self.forward_layer.state_names)
        n_out = 2 if self.merge_mode is None else 1
        n_total = n_out + (2 * n if self.return_state else 0)
        if n_total == 1:
            parts = [dy]
        elif not isinstance(dy, (list, tuple)) or len(dy) != n_total:
            raise ValueError(
                f"{self.name} returned a list of {n_total} arrays, so dy must be a list of "
                f"{n_total} gradients in the same order (None for an unused one); got "
                f"{type(dy).__name__}"
                + (f" of length {len(dy)}" if isinstance(dy, (list, tuple)) else "") + ".")
        else:
            parts = list(dy)

        def grad(g, like, what):
            if g is None:
                return np.zeros_like(like)
            g = as_float_array(g, self.dtype, what=what)
            if g.shape != like.shape:
                raise ValueError(f"{self.name}: {what} must have shape {like.shape} (the shape "
                                 f"of what the forward pass returned); got {g.shape}.")
            return g

        if self.merge_mode is None:
            dy_f, dy_r = grad(parts[0], y, "dy[0]"), grad(parts[1], y_rev, "dy[1]")
        else:
            merged = np.concatenate([y, y_rev], -1) if self.merge_mode == "concat" else y
            d = grad(parts[0], merged, "dy (the output's gradient)")
            if self.merge_mode == "concat":
                u = y.shape[-1]
                dy_f, dy_r = d[..., :u], d[..., u:]
            elif self.merge_mode == "sum":
                dy_f, dy_r = d, d
            elif self.merge_mode == "ave":
                dy_f = dy_r = d / 2
            else:  # mul
                dy_f, dy_r = d * y_rev, d * y
        if self.return_sequences:
            dy_r = dy_r[:, ::-1]  # into the backward layer's own output order
        d_states = parts[n_out:]
        if self.return_state:
            dx = self.forward_layer.backward([dy_f, *d_states[:n]])
            dx = dx + self.backward_layer.backward([dy_r, *d_states[n:]])
        else:
            dx = self.forward_layer.backward(dy_f) + self.backward_layer.backward(dy_r)
        self.grads = self.forward_layer.grads + self.backward_layer.grads
        self.state_grads = self.forward_layer.state_grads + self.backward_layer.state_grads
        return dx

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(merge_mode=self.merge_mode, layer=self.forward_layer.get_config(),
                   backward_layer=self.backward_layer.get_config())
        return cfg
