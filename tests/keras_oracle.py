"""The Keras 3 oracle of every cross-check: the one place that runs the real Keras layer and
compares it with lstm_np, in the spirit of tinygrad's ``helper_test_op``.

Entry points:

* :func:`assert_close` is the comparison every cross-check calls: one tolerance rule, its
  tolerance read from :data:`TOL` by dtype (or given);
* :func:`assert_matches_keras` runs lstm_np's LSTM (both engines) and ``keras.layers.LSTM``
  on the same random non-zero weights, biases and initial states and compares outputs,
  stored states and (with ``dy``) every gradient, in one line; :class:`KerasTwin` is the
  pair it builds, for stateful sequences of calls compared call by call;
  :func:`keras_lstm_run` runs the Keras LSTM alone (outputs and autograd's gradients);
* :func:`run_and_compare` takes any lstm_np recurrent layer (LSTM, GRU, SimpleRNN,
  Bidirectional) and its Keras twin, built by :func:`build_pair` with the same random
  weights, and compares outputs over one or more calls, then every gradient.

Gradients come from torch autograd on ``sum(output * dy)``, the scalar whose gradient our
``backward(dy)`` computes.

Dropout: after a training call our layer exposes ``last_dropout_masks = (dp, rdp)``, each
(G, B, X). Keras draws its masks once per call through ``cell.get_dropout_mask`` /
``cell.get_recurrent_dropout_mask`` (``keras/src/layers/rnn/dropout_rnn_cell.py``), one
tensor or, when the cell sets ``dropout_mask_count``, a list of G. :func:`use_dropout_masks`
replaces those two methods on the Keras cell instance so that they return *our* masks.

float64 (one policy, :func:`keras_precision`): Keras 3 on torch and JAX computes float64
``ops.matmul`` results in float32 (``keras/src/backend/common/dtypes.py``,
``BIT64_TO_BIT32_DTYPE``: "aligned with JAX's default"), and torch's ``hardsigmoid``
backward multiplies by 1/6 rounded to float32 (3e-8 relative, even in float64). While Keras
runs, the oracle maps float64 to float64 in that table (what Keras' TensorFlow backend does)
and gives ``hard_sigmoid`` the exact 1/6; the maths is otherwise untouched. ``exact_float64=
False`` runs stock Keras (tests that document the difference use it).

Without Keras (or torch) installed this module still imports: whatever needs Keras skips
the calling test with the reason (:func:`require_keras`; :data:`needs_keras` marks a test
ahead of time), so modules that mix Keras cross-checks with other tests keep the others.

Keras doc: https://keras.io/api/layers/recurrent_layers/
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

import lstm_np  # noqa: E402

try:
    import keras
    import torch
    from keras.src.backend.common import dtypes as keras_dtypes
    from keras.src.backend.torch import nn as keras_torch_nn
    from keras.src.backend.torch.core import convert_to_tensor
except ImportError as error:
    keras = torch = keras_dtypes = keras_torch_nn = convert_to_tensor = None
    #: Why the Keras cross-checks skip here (None: Keras and torch are installed).
    KERAS_MISSING = (f"Keras 3 on the torch backend is the oracle of the cross-checks ({error});"
                     " pip install torch==2.13.0 && pip install -e '.[test]'")
else:
    KERAS_MISSING = None

#: Marks a test that needs live Keras: skipped with the reason without it.
needs_keras = pytest.mark.skipif(KERAS_MISSING is not None, reason=KERAS_MISSING or "")


def require_keras():
    """The ``keras`` module; without Keras (or torch) skip the calling test, or the calling
    test module at import, with the reason."""
    if KERAS_MISSING is not None:
        pytest.skip(KERAS_MISSING, allow_module_level=True)
    return keras

ENGINES = ("numpy", "numba")

# ----------------------------------------------------------------------------- tolerances

#: The tolerance table of every Keras cross-check: outputs ("out", relative, plus the same
#: fraction of the largest output) and gradients ("grad", relative to the largest gradient
#: of each array), by dtype. float64 is held to ~1e-10 since the oracle keeps Keras float64.
TOL = {
    "float32": {"out": 1e-4, "grad": 2e-4},
    "float64": {"out": 1e-9, "grad": 1e-9},
}
#: Stock Keras (``exact_float64=False``) is float32-precise in float64: outputs within 1e-6,
#: gradients within the float32 gradient tolerance.
STOCK_KERAS_FLOAT64_TOL = {"out": 1e-6, "grad": 2e-4}
#: Views of :data:`TOL` by kind.
FORWARD_RTOL = {dtype: tol["out"] for dtype, tol in TOL.items()}
GRAD_RTOL = {dtype: tol["grad"] for dtype, tol in TOL.items()}

#: Stock Keras' float64 gradients through torch's hardsigmoid (its float32 1/6): compared
#: at this tolerance, relative to the call's largest gradient.
HARD_SIGMOID_FLOAT64_GRAD_RTOL = 1e-6

#: Outputs are products of O(1) gates and states: an output array whose entries are all
#: tiny (e.g. relu gates that are nearly closed) is a rounding residue of O(1) terms, so
#: the absolute floor of the forward comparison never drops below rtol * OUTPUT_FLOOR.
OUTPUT_FLOOR = 1e-2
#: Each gradient array is compared relative to max(its largest entry, GRAD_FLOOR times the
#: call's largest gradient): an array whose entries are all far smaller is a cancellation
#: residue, whose rounding follows the big terms.
GRAD_FLOOR = 1e-3

#: Above this output magnitude float32 results are ill-conditioned: rounding is amplified
#: by the same growth that made the values huge (unbounded activations, forget gates > 1),
#: and the Numba engine, which keeps scalar gate maths in float64, even overflows later
#: than Keras' float32. Such float32 cases raise :class:`IllConditioned` instead of being
#: compared; tests turn that into ``hypothesis.assume(False)``. float64 has no limit.
MAX_ABS = {"float32": 1e5, "float64": np.inf}


class IllConditioned(Exception):
    """Keras' float32 outputs are too large to compare at float32 tolerances."""


def tolerance(dtype, kind="out", exact_float64=True) -> float:
    """The table's tolerance for ``dtype`` ("float32"/"float64") and ``kind`` (out/grad)."""
    dtype = np.dtype(dtype).name
    if dtype == "float64" and not exact_float64:
        return STOCK_KERAS_FLOAT64_TOL[kind]
    return TOL[dtype][kind]


# ----------------------------------------------------------------------------- comparison


def _top(a):
    a = np.abs(np.asarray(a, np.float64))
    return float(a[np.isfinite(a)].max(initial=0.0))


def assert_close(actual, expected, rtol="float64", what="", scale=None, atol=None):
    """``|a - e| <= rtol * (|e| + max(max|e|, OUTPUT_FLOOR))`` elementwise (NaN == NaN,
    inf == inf of the same sign), the comparison of every Keras cross-check.

    ``rtol``: a number, or a dtype name whose forward tolerance :data:`TOL` gives.
    ``scale`` replaces that max (gradients: relative to the largest gradient); ``atol``
    replaces the whole absolute term (a check with its own absolute tolerance).
    ``expected`` may be a torch tensor. Lists/tuples (a layer's ``[output, *states]``) are
    compared item by item.
    """
    if isinstance(rtol, str):
        rtol = TOL[rtol]["out"]
    if isinstance(expected, (list, tuple)) and isinstance(actual, (list, tuple)):
        assert len(actual) == len(expected), (
            f"{what}: {len(actual)} outputs, Keras gave {len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_close(a, e, rtol, f"{what} [{i}]", scale, atol)
        return
    actual = np.asarray(_numpy(actual), np.float64)
    expected = np.asarray(_numpy(expected), np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != Keras {expected.shape}"
    if atol is None:
        if scale is None:
            scale = max(_top(expected), OUTPUT_FLOOR)
        atol = rtol * max(scale, 1e-30)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True,
                               err_msg=what)


def assert_grads_close(names, ours, theirs, rtol, floor=GRAD_FLOOR, tag=""):
    """Each gradient array within ``rtol`` of max(its own largest entry, ``floor`` times the
    call's largest gradient), :func:`assert_close` with that scale."""
    assert len(ours) == len(theirs) == len(names), f"{tag} gradient count"
    overall = max((_top(e) for e in theirs), default=0.0)
    for name, g, e in zip(names, ours, theirs, strict=True):
        assert_close(g, e, rtol, f"{tag} d{name}", scale=max(_top(e), floor * overall))


# ----------------------------------------------------------------------------- Keras setup


@contextlib.contextmanager
def keras_precision(dtype: str, exact_float64: bool = True):
    """Set Keras' floatx to ``dtype``; with ``exact_float64`` keep float64 in float64 while
    Keras runs (the dtype table and hard_sigmoid's 1/6, see the module doc)."""
    require_keras()
    old_floatx = keras.config.floatx()
    old_map = keras_dtypes.BIT64_TO_BIT32_DTYPE["float64"]
    old_hard_sigmoid = keras_torch_nn.hard_sigmoid
    keras.config.set_floatx(dtype)
    if exact_float64:
        keras_dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"
        keras_torch_nn.hard_sigmoid = _exact_hard_sigmoid
    try:
        yield
    finally:
        keras.config.set_floatx(old_floatx)
        keras_dtypes.BIT64_TO_BIT32_DTYPE["float64"] = old_map
        keras_torch_nn.hard_sigmoid = old_hard_sigmoid


def _exact_hard_sigmoid(x):
    """torch's hardsigmoid, ``clip(x / 6 + 1/2, 0, 1)``, with the exact 1/6 in its gradient
    (gradient only strictly inside (-3, 3), as torch's)."""
    x = convert_to_tensor(x)
    inside = (x > -3) & (x < 3)
    return torch.where(inside, x / 6 + 0.5, (x >= 3).to(x.dtype))


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

#: Arguments of lstm_np.LSTM that Keras does not take (dtype is passed separately).
_OURS_ONLY = ("engine", "dtype")


def _t(a, dtype, grad=False):
    t = torch.tensor(np.asarray(a, dtype=dtype))
    return t.requires_grad_(True) if grad else t


def _numpy(t):
    """A NumPy view of a torch tensor (or of a list of them); anything else as it is."""
    if isinstance(t, (list, tuple)):
        return [_numpy(v) for v in t]
    if torch is not None and isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return t


def _np(t):
    return None if t is None else t.detach().cpu().numpy()


def _as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def _loss(outputs, dy):
    """sum(output * dy) over every part that has a gradient (None: unused)."""
    loss = 0
    for out, g in zip(outputs, _as_list(dy), strict=True):
        if g is not None:
            loss = loss + (out * torch.as_tensor(np.asarray(g), dtype=out.dtype)).sum()
    return loss


def use_dropout_masks(keras_cell, dropout_masks, dtype):
    """Make a Keras cell return our ``(dp, rdp)`` masks, each (G, B, X) or None, in the
    form Keras' ``_create_dropout_mask`` would give: one tensor, or a list of G when the
    cell sets ``dropout_mask_count``."""
    require_keras()
    dp, rdp = (None, None) if dropout_masks is None else dropout_masks

    def as_keras(masks):
        if masks is None:
            return None
        if getattr(keras_cell, "dropout_mask_count", None) is None:
            return _t(masks[0], dtype)
        return [_t(m, dtype) for m in masks]

    dp_k, rdp_k = as_keras(dp), as_keras(rdp)
    keras_cell.get_dropout_mask = lambda step_input: dp_k
    keras_cell.get_recurrent_dropout_mask = lambda step_input: rdp_k


def random_weights(rng, input_dim, units, use_bias=True, dtype="float64", scale=0.6):
    """Random non-zero LSTM kernel (F, 4u), recurrent kernel (u, 4u) and bias (4u,)."""
    ws = [rng.uniform(-scale, scale, (input_dim, 4 * units)),
          rng.uniform(-scale, scale, (units, 4 * units))]
    if use_bias:
        ws.append(rng.uniform(-scale, scale, (4 * units,)))
    return [w.astype(dtype) for w in ws]


def random_weights_like(layer, rng, scale=0.6):
    """Random non-zero weights (biases included) in a built layer's own shapes and dtype,
    drawn as :func:`random_weights` draws them."""
    return [rng.uniform(-scale, scale, w.shape).astype(w.dtype) for w in layer.get_weights()]


# ----------------------------------------------------------------------------- LSTM twin


@dataclass
class Result:
    """What one call gave: outputs (``[output]`` or ``[output, h, c]``) and gradients."""

    outputs: list
    dx: np.ndarray | None = None
    grads: list | None = None  # aligned with get_weights()
    state_grads: list | None = None  # [dh0, dc0]
    states: list | None = None  # the stored states after the call (stateful)


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
        use_dropout_masks(self.layer.cell, dropout_masks, self.dtype)
        with keras_precision(self.dtype, self.exact_float64):
            for v in self.layer.trainable_variables:
                v.value.grad = None
            outs = _as_list(self.layer(xt, initial_state=states_t, mask=mask_t,
                                       training=training))
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
        self.rtol = tolerance(dtype, "out", exact_float64) if rtol is None else rtol
        self.grad_floor = GRAD_FLOOR
        if grad_rtol is None:
            grad_rtol = tolerance(dtype, "grad", exact_float64)
            if (dtype == "float64" and not exact_float64 and "hard_sigmoid" in
                    (self.kwargs.get("activation"), self.kwargs.get("recurrent_activation"))):
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
            outs = [np.array(o) for o in _as_list(out)]
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
            for i, a in enumerate(outs):
                assert a.dtype == np.dtype(self.dtype), f"{tag} output {i} dtype {a.dtype}"
            assert_close(outs, ref.outputs, self.rtol, f"{tag} outputs")
            if ref.states is not None:
                assert_close(list(layer.states), ref.states, self.rtol, f"{tag} stored states")
            if dy is not None:
                self._check_grads(tag, layer, dy, ref)
        return ours, ref

    def _check_grads(self, tag, layer, dy, ref):
        dx = layer.backward(dy)
        assert dx.dtype == np.dtype(self.dtype), tag
        names = ["x", *layer.weight_names]
        ours, theirs = [dx, *layer.grads], [ref.dx, *ref.grads]
        if ref.state_grads is not None:
            names += ["h0", "c0"]
            ours += list(layer.state_grads)
            theirs += list(ref.state_grads)
        assert_grads_close(names, ours, theirs, self.grad_rtol, self.grad_floor, tag)


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


# ----------------------------------------------------------------------------- any layer


def _keras_cells(keras_layer):
    if hasattr(keras_layer, "forward_layer"):
        return [keras_layer.forward_layer.cell, keras_layer.backward_layer.cell]
    return [keras_layer.cell]


def _our_sublayers(layer):
    if isinstance(layer, lstm_np.Bidirectional):
        return [layer.forward_layer, layer.backward_layer]
    return [layer]


def build_pair(ours, keras_layer, x_shape, rng):
    """Build both layers for ``x_shape`` and give them the same random non-zero weights."""
    require_keras()
    ours.build(x_shape)
    keras_layer.build(x_shape)
    weights = random_weights_like(ours, rng)
    ours.set_weights(weights)
    keras_layer.set_weights(weights)
    return weights


def run_and_compare(ours, keras_layer, x, *, initial_state=None, mask=None, calls=1,
                    grads=True, exact64=True, seed=0, rtol=None, grad_rtol=None):
    """Call both layers ``calls`` times on ``x`` (stateful layers carry states) with
    training=True and compare every output; then back-propagate a random ``dy`` through the
    last call and compare dx, weight gradients and initial-state gradients.

    ``exact64=False`` runs stock Keras (:data:`STOCK_KERAS_FLOAT64_TOL` in float64).
    """
    require_keras()
    dtype = ours.dtype.name
    rng = np.random.default_rng(seed)
    rtol = tolerance(dtype, "out", exact64) if rtol is None else rtol
    grad_rtol = tolerance(dtype, "grad", exact64) if grad_rtol is None else grad_rtol
    with keras_precision(dtype, exact64):
        for call in range(calls):
            xs = x + call  # a different batch each call, so that a carry bug shows
            y = _as_list(ours(xs, initial_state=initial_state, mask=mask, training=True))
            for cell, sub in zip(_keras_cells(keras_layer), _our_sublayers(ours), strict=True):
                use_dropout_masks(cell, sub.last_dropout_masks, dtype)
            xt = _t(xs, dtype, grad=True)
            st = None if initial_state is None else [_t(s, dtype, grad=True)
                                                     for s in initial_state]
            kwargs = {} if mask is None else {"mask": torch.tensor(np.asarray(mask))}
            yk = _as_list(keras_layer(xt, initial_state=st, training=True, **kwargs))
            assert_close(y, yk, rtol, f"call {call} outputs")
        if not grads:
            return
        dys = [rng.normal(size=a.shape).astype(dtype) for a in y]
        _loss(yk, dys).backward()
    dx = ours.backward(dys if len(dys) > 1 else dys[0])
    kvars = keras_layer.trainable_variables
    names = ["x", *(v.path for v in kvars)]
    theirs = [xt.grad.numpy(), *(np.zeros(v.shape) if v.value.grad is None
                                 else v.value.grad.numpy() for v in kvars)]
    mine = [dx, *ours.grads]
    if st is not None:
        names += [f"initial state {i}" for i in range(len(st))]
        theirs += [s.grad.numpy() for s in st]
        mine += list(ours.state_grads)
    assert_grads_close(names, mine, theirs, grad_rtol)
