"""The Keras 3 oracle every cross-check uses: one place that runs the real layer.

Two entry points, in the spirit of tinygrad's ``helper_test_op``:

* :func:`keras_lstm_run` builds ``keras.layers.LSTM`` (torch backend), gives it the
  weights we give it, runs it once and, when ``dy`` is given, returns torch autograd's
  gradients for ``x``, every weight and the initial states;
* :func:`assert_matches_keras` runs lstm_np (both engines) and Keras on the same random
  non-zero weights, biases and initial states and compares outputs, stored states and
  (with ``dy``) every gradient, in one line.

:class:`KerasTwin` is what both use: lstm_np layers (one per engine) and one Keras layer
that share weights, so that stateful sequences of calls can be compared call by call.

Dropout: after a training call our layer exposes ``last_dropout_masks = (dp, rdp)`` with
``dp`` (G, B, F) and ``rdp`` (G, B, H). Keras draws its masks once per call through
``cell.get_dropout_mask`` / ``cell.get_recurrent_dropout_mask``
(``keras/src/layers/rnn/dropout_rnn_cell.py``; ``rnn.py`` ``_maybe_config_dropout_masks``
fills the cache before the loop and ``_maybe_reset_dropout_masks`` clears it after).
We replace those two methods on the cell instance so that they return *our* masks:
G = 1 -> the (B, F) tensor, G = 4 -> a list of 4, as ``_create_dropout_mask`` would.

float64: Keras 3 on torch computes ``ops.matmul`` of float64 tensors in float32
(``keras/src/backend/common/dtypes.py``, ``BIT64_TO_BIT32_DTYPE``: "aligned with JAX's
default"); the generic RNN loop that runs whenever a mask is given (and the dropout cell
path) goes through ``ops.matmul``, so stock Keras is only ~1e-7 accurate there. With
``exact_float64=True`` (the default) the oracle maps float64 to float64 for the duration
of the Keras call, which is what Keras' TensorFlow backend does (same table); the maths
is otherwise untouched. ``exact_float64=False`` gives stock Keras (see the test that
documents the difference).

Keras doc: https://keras.io/api/layers/recurrent_layers/lstm/
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402  (the backend must be chosen first)
import torch  # noqa: E402
from keras.src.backend.common import dtypes as keras_dtypes  # noqa: E402

import lstm_np  # noqa: E402

ENGINES = ("numpy", "numba")
#: Forward tolerances (relative, plus the same fraction of the largest value).
FORWARD_RTOL = {"float32": 1e-4, "float64": 1e-6}
#: Gradient tolerances, relative to the largest gradient of each array (issue 3).
GRAD_RTOL = {"float32": 2e-4, "float64": 1e-7}

#: torch's hardsigmoid backward multiplies by the float32 constant 1/6 (0.16666667163...),
#: a 3e-8 relative error on every such derivative even in float64; ours uses the exact 1/6
#: (central differences agree, tests/test_activations.py shows it). So float64 gradients
#: through Keras' hard_sigmoid are compared at this looser tolerance.
HARD_SIGMOID_FLOAT64_GRAD_RTOL = 1e-6

#: Above this output magnitude float32 results are ill-conditioned: rounding is amplified
#: by the same growth that made the values huge (unbounded activations, forget gates > 1),
#: and the Numba engine, which keeps scalar gate maths in float64, even overflows later
#: than Keras' float32. Such float32 cases raise :class:`IllConditioned` instead of being
#: compared; tests turn that into ``hypothesis.assume(False)``. float64 has no limit.
MAX_ABS = {"float32": 1e5, "float64": np.inf}


class IllConditioned(Exception):
    """Keras' float32 outputs are too large to compare at float32 tolerances."""


#: Arguments of lstm_np.LSTM that Keras does not take (dtype is passed separately).
_OURS_ONLY = ("engine", "dtype")


def _keras2_hard_sigmoid(x):
    """Keras 1/2's hard sigmoid, ``clip(0.2 x + 0.5, 0, 1)`` (keras 2.x backend.hard_sigmoid)."""
    return keras.ops.clip(0.2 * x + 0.5, 0.0, 1.0)


#: Our activation names that Keras 3 lacks, given to Keras as the same formula.
KERAS_ACTIVATION_STANDINS = {"hard_sigmoid_keras2": _keras2_hard_sigmoid}
#: Every activation name both lstm_np and Keras 3 accept.
KERAS_NAMES = tuple(n for n in lstm_np.activations.NAMES
                    if n is not None and n not in KERAS_ACTIVATION_STANDINS)
#: Everything a cross-check can draw (Keras 2's hard sigmoid through its stand-in).
ALL_ACTIVATIONS = KERAS_NAMES + tuple(KERAS_ACTIVATION_STANDINS)


@dataclass
class Result:
    """What one call gave: outputs (``[output]`` or ``[output, h, c]``) and gradients."""

    outputs: list
    dx: np.ndarray | None = None
    grads: list | None = None  # aligned with get_weights()
    state_grads: list | None = None  # [dh0, dc0]
    states: list | None = None  # the stored states after the call (stateful)


@contextlib.contextmanager
def keras_precision(dtype: str, exact_float64: bool = True):
    """Set Keras' floatx to ``dtype`` (and optionally keep float64 matmuls in float64)."""
    old_floatx = keras.config.floatx()
    old_map = keras_dtypes.BIT64_TO_BIT32_DTYPE["float64"]
    keras.config.set_floatx(dtype)
    if exact_float64:
        keras_dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"
    try:
        yield
    finally:
        keras.config.set_floatx(old_floatx)
        keras_dtypes.BIT64_TO_BIT32_DTYPE["float64"] = old_map


def _t(a, dtype, grad=False):
    t = torch.tensor(np.asarray(a, dtype=dtype))
    return t.requires_grad_(True) if grad else t


def _np(t):
    return None if t is None else t.detach().cpu().numpy()


def _loss(outputs, dy):
    """sum(output * dy) over every part that has a gradient (None: unused)."""
    parts = list(dy) if isinstance(dy, (list, tuple)) else [dy]
    loss = 0
    for out, g in zip(outputs, parts, strict=True):
        if g is not None:
            loss = loss + (out * torch.as_tensor(np.asarray(g), dtype=out.dtype)).sum()
    return loss


class KerasLSTM:
    """A real ``keras.layers.LSTM`` holding given weights, called on NumPy arrays."""

    def __init__(self, layer_kwargs: dict, weights, input_shape, dtype="float64",
                 exact_float64: bool = True):
        self.dtype = dtype
        self.exact_float64 = exact_float64
        kwargs = {k: v for k, v in layer_kwargs.items() if k not in _OURS_ONLY}
        for key in ("activation", "recurrent_activation"):
            if kwargs.get(key) in KERAS_ACTIVATION_STANDINS:
                kwargs[key] = KERAS_ACTIVATION_STANDINS[kwargs[key]]
        with keras_precision(dtype, exact_float64):
            self.layer = keras.layers.LSTM(dtype=dtype, **kwargs)
            self.layer.build(tuple(input_shape))
            self.layer.set_weights([np.asarray(w, dtype) for w in weights])

    @property
    def states(self):
        return [np.array(_np(v.value)) for v in self.layer.states]

    def reset_state(self):
        self.layer.reset_state()

    def _use_dropout_masks(self, dropout_masks):
        """Make the cell return our masks instead of drawing its own (see module doc)."""
        cell = self.layer.cell

        def as_keras(masks):
            if masks is None:
                return None
            ts = [_t(m, self.dtype) for m in masks]
            return ts[0] if len(ts) == 1 else ts

        dp, rdp = (None, None) if dropout_masks is None else dropout_masks
        dp_k, rdp_k = as_keras(dp), as_keras(rdp)
        if dp_k is not None:
            cell.get_dropout_mask = lambda step_input: dp_k
        else:
            cell.__dict__.pop("get_dropout_mask", None)
        if rdp_k is not None:
            cell.get_recurrent_dropout_mask = lambda step_input: rdp_k
        else:
            cell.__dict__.pop("get_recurrent_dropout_mask", None)

    def __call__(self, x, initial_state=None, mask=None, training=False, dropout_masks=None,
                 dy=None) -> Result:
        want_grad = dy is not None
        xt = _t(x, self.dtype, want_grad)
        states_t = None
        if initial_state is not None:
            states_t = [_t(s, self.dtype, want_grad) for s in initial_state]
        elif want_grad and self.layer.stateful:
            # Keras' stored states are non-trainable variables: the gradient stops there
            # (truncated BPTT). Passing their values explicitly computes the same call and
            # lets autograd report d loss / d initial state.
            states_t = [_t(s, self.dtype, True) for s in self.states]
        mask_t = None if mask is None else torch.tensor(np.asarray(mask, bool))
        self._use_dropout_masks(dropout_masks)
        with keras_precision(self.dtype, self.exact_float64):
            for v in self.layer.trainable_variables:
                v.value.grad = None
            out = self.layer(xt, initial_state=states_t, mask=mask_t, training=training)
            outs = list(out) if isinstance(out, (list, tuple)) else [out]
            result = Result([_np(o).copy() for o in outs])
            if want_grad:
                _loss(outs, dy).backward()
                result.dx = _np(xt.grad)
                result.grads = [_np(v.value.grad) if v.value.grad is not None
                                else np.zeros(tuple(v.shape), self.dtype)
                                for v in self.layer.trainable_variables]
                if states_t is not None:
                    result.state_grads = [_np(s.grad) if s.grad is not None
                                          else np.zeros(tuple(s.shape), self.dtype)
                                          for s in states_t]
        if self.layer.stateful:
            result.states = self.states
        return result


def keras_lstm_run(layer_kwargs: dict, weights, x, initial_state=None, mask=None,
                   dtype="float64", training=False, dropout_masks=None, dy=None,
                   exact_float64: bool = True) -> Result:
    """Run a fresh Keras 3 LSTM once with ``weights``; gradients when ``dy`` is given.

    ``dy`` mirrors the output (``[dy, dh, dc]`` with ``return_state``; None for an unused
    part). When ``dy`` is given, the initial states are always differentiated: zeros are
    passed explicitly when ``initial_state`` is None (the same call in Keras), so that
    ``state_grads`` is filled.
    """
    x = np.asarray(x)
    if dy is not None and initial_state is None:
        units = layer_kwargs["units"]
        initial_state = [np.zeros((x.shape[0], units), dtype)] * 2
    k = KerasLSTM(layer_kwargs, weights, x.shape, dtype, exact_float64)
    return k(x, initial_state, mask, training, dropout_masks, dy)


# ----------------------------------------------------------------------------- comparison


def random_weights(rng, input_dim, units, use_bias=True, dtype="float64", scale=0.6):
    """Random non-zero kernel (F, 4u), recurrent kernel (u, 4u) and bias (4u,)."""
    ws = [rng.uniform(-scale, scale, (input_dim, 4 * units)),
          rng.uniform(-scale, scale, (units, 4 * units))]
    if use_bias:
        ws.append(rng.uniform(-scale, scale, (4 * units,)))
    return [w.astype(dtype) for w in ws]


#: Outputs are products of O(1) gates and states: an output array whose entries are all
#: tiny (e.g. relu gates that are nearly closed) is a rounding residue of O(1) terms, so
#: the absolute floor of the forward comparison never drops below rtol * OUTPUT_FLOOR.
OUTPUT_FLOOR = 1e-2


def assert_close(actual, expected, rtol, what="", scale=None):
    """``|a - e| <= rtol * (|e| + max(max|e|, OUTPUT_FLOOR))`` elementwise (NaN == NaN).

    ``scale`` replaces that max (gradients: relative to the largest gradient).
    """
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    finite = np.isfinite(expected)
    if scale is None:
        scale = max(float(np.max(np.abs(expected[finite]), initial=0.0)), OUTPUT_FLOOR)
    top = scale
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * max(top, 1e-30),
                               equal_nan=True, err_msg=what)


class KerasTwin:
    """lstm_np LSTMs (one per engine) and a Keras LSTM with the same random weights.

    ``twin(x, ...)`` calls all of them and asserts that outputs, stored states and (with
    ``dy``) gradients agree; it returns ``{engine: (outputs, layer)}`` and the Keras
    :class:`Result` for further checks.
    """

    def __init__(self, layer_kwargs: dict, input_shape, dtype="float64", weights=None,
                 rng=None, engines=ENGINES, exact_float64=True, rtol=None, grad_rtol=None):
        self.kwargs = dict(layer_kwargs)
        self.dtype = dtype
        rng = np.random.default_rng(0) if rng is None else rng
        B, T, F = input_shape
        if weights is None:
            weights = random_weights(rng, F, self.kwargs["units"],
                                     self.kwargs.get("use_bias", True), dtype)
        self.weights = [np.asarray(w, dtype) for w in weights]
        # One seed for every engine: their dropout masks are then identical, so one
        # Keras call serves both (and a stateful Keras layer advances once per call).
        self.kwargs.setdefault("seed", int(rng.integers(2**31)))
        self.layers = {}
        for engine in engines:
            layer = lstm_np.LSTM(dtype=dtype, engine=engine, **self.kwargs)
            layer.build(input_shape)
            layer.set_weights(self.weights)
            self.layers[engine] = layer
        self.keras = KerasLSTM(self.kwargs, self.weights, input_shape, dtype, exact_float64)
        self.rtol = FORWARD_RTOL[dtype] if rtol is None else rtol
        #: Each gradient array is compared relative to max(its largest entry, grad_floor
        #: times the call's largest gradient); see _check_grads.
        self.grad_floor = 1e-3
        if grad_rtol is None:
            grad_rtol = GRAD_RTOL[dtype]
            if dtype == "float64" and "hard_sigmoid" in (self.kwargs.get("activation"),
                                                         self.kwargs.get("recurrent_activation")):
                grad_rtol = HARD_SIGMOID_FLOAT64_GRAD_RTOL
                self.grad_floor = 1.0  # torch's error is relative to the big terms
        self.grad_rtol = grad_rtol

    def reset_state(self):
        for layer in self.layers.values():
            layer.reset_state()
        self.keras.reset_state()

    def __call__(self, x, initial_state=None, mask=None, training=False, dy=None):
        x = np.asarray(x)
        ours = {}
        masks = None
        for engine, layer in self.layers.items():
            out = layer(x, initial_state=initial_state, mask=mask,
                        training=training or dy is not None)
            outs = [np.array(o) for o in out] if isinstance(out, list) else [np.array(out)]
            if masks is None:
                masks = layer.last_dropout_masks
            else:  # same seed: same masks (else one Keras call could not serve both)
                for a, b in zip(masks, layer.last_dropout_masks, strict=True):
                    assert (a is None) == (b is None) and (a is None or np.array_equal(a, b))
            ours[engine] = (outs, layer)
        keras_training = training or any(m is not None for m in masks)
        ref = self.keras(x, initial_state, mask, keras_training, masks, dy)
        top = max(_top(o) for o in ref.outputs)
        if top > MAX_ABS[self.dtype] or (self.dtype == "float32" and any(
                np.isinf(o).any() for o in ref.outputs)):
            raise IllConditioned(f"float32 outputs reach {top:.3g}")
        for engine, (outs, layer) in ours.items():
            tag = f"[{engine} {self.dtype} {self.kwargs}]"
            assert len(outs) == len(ref.outputs), f"{tag} output count"
            for i, (a, e) in enumerate(zip(outs, ref.outputs, strict=True)):
                assert a.dtype == np.dtype(self.dtype), f"{tag} output {i} dtype {a.dtype}"
                assert_close(a, e, self.rtol, f"{tag} output {i}")
            if ref.states is not None:
                for i, (a, e) in enumerate(zip(layer.states, ref.states, strict=True)):
                    assert_close(a, e, self.rtol, f"{tag} stored state {i}")
            if dy is not None:
                self._check_grads(tag, layer, dy, ref)
        return ours, ref

    def _check_grads(self, tag, layer, dy, ref):
        """Each gradient array within ``grad_rtol`` of its own largest entry, where that
        is at least 1e-3 of the call's largest gradient: an array whose entries are all
        far smaller is a cancellation residue, whose rounding follows the big terms."""
        dx = layer.backward(dy)
        assert dx.shape == ref.dx.shape and dx.dtype == np.dtype(self.dtype), tag
        assert len(layer.grads) == len(ref.grads), f"{tag} grads count"
        names = ["x"] + [f"{n}" for n in layer.weight_names]
        ours, theirs = [dx, *layer.grads], [ref.dx, *ref.grads]
        if ref.state_grads is not None:
            names += ["h0", "c0"]
            ours += list(layer.state_grads)
            theirs += list(ref.state_grads)
        overall = max(_top(e) for e in theirs)
        for name, g, e in zip(names, ours, theirs, strict=True):
            scale = max(_top(e), self.grad_floor * overall)
            assert_close(g, e, self.grad_rtol, f"{tag} d{name}", scale=scale)


def _top(a):
    a = np.abs(np.asarray(a, np.float64))
    return float(a[np.isfinite(a)].max(initial=0.0))


def assert_matches_keras(layer_kwargs: dict, x, initial_state=None, mask=None,
                         dtype="float64", training=False, dy=None, weights=None, rng=None,
                         engines=ENGINES, exact_float64=True, rtol=None, grad_rtol=None):
    """One call of lstm_np (every engine) and Keras on the same weights; assert all agree."""
    x = np.asarray(x)
    twin = KerasTwin(layer_kwargs, x.shape, dtype, weights, rng, engines, exact_float64,
                     rtol, grad_rtol)
    if dy is not None and initial_state is None and not layer_kwargs.get("stateful"):
        # Zeros passed explicitly are the same call for both, and give Keras' dh0/dc0.
        initial_state = [np.zeros((x.shape[0], layer_kwargs["units"]), dtype)] * 2
    return twin(x, initial_state, mask, training, dy)
