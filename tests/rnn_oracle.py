"""The Keras oracle for the recurrent family: run our layer and Keras 3 (torch backend) on the
same random weights, inputs, states, masks and dropout masks; compare outputs and gradients.

One helper, :func:`assert_matches_keras`, serves LSTM/GRU/SimpleRNN and Bidirectional.
Gradients come from torch autograd on ``sum(output * dy)``, the same scalar our ``backward``
receives as ``dy``.

Keras 3's ``ops.matmul`` computes float64 in float32 on torch
(``keras/src/backend/common/dtypes.py``), which makes Keras' generic RNN path only ~1e-7
exact in float64. :func:`exact_float64_matmul` swaps in ``torch.matmul`` for the float64
checks, so that those can be held to float64 tolerances.
"""

from __future__ import annotations

import contextlib

import numpy as np

import lstm_np

# Tolerances: outputs (absolute + relative), gradients (relative to the largest gradient).
TOL = {
    "float32": dict(out=1e-4, grad=2e-4),
    "float64": dict(out=1e-10, grad=1e-9),
}


@contextlib.contextmanager
def keras_floatx(dtype):
    import keras

    old = keras.config.floatx()
    keras.config.set_floatx(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(old)


@contextlib.contextmanager
def exact_float64_matmul(enabled=True):
    """Make Keras float64-exact: ``ops.matmul`` becomes a plain ``torch.matmul`` (float64
    stays float64), and ``hard_sigmoid`` gets an exact-1/6 gradient (torch's hardsigmoid
    backward multiplies by 1/6 rounded to float32, 3e-8 relative off in float64)."""
    import torch
    from keras.src.backend.torch import nn as knn
    from keras.src.backend.torch import numpy as knp

    old = knp.matmul, knn.hard_sigmoid
    if enabled:
        knp.matmul = lambda a, b: torch.matmul(knp.convert_to_tensor(a),
                                               knp.convert_to_tensor(b))
        knn.hard_sigmoid = _exact_hard_sigmoid
    try:
        yield
    finally:
        knp.matmul, knn.hard_sigmoid = old


def _exact_hard_sigmoid(x):
    import torch
    from keras.src.backend.torch.core import convert_to_tensor

    x = convert_to_tensor(x)
    inside = (x > -3) & (x < 3)  # torch's hardsigmoid: gradient only strictly inside
    return torch.where(inside, x / 6 + 0.5, (x >= 3).to(x.dtype))


def random_weights(layer, rng, scale=0.6):
    """Random non-zero weights (biases included) in the layer's own shapes and dtype."""
    return [(rng.normal(size=w.shape) * scale).astype(layer.dtype) for w in layer.get_weights()]


def _torch(a, dtype, grad=False):
    import torch

    t = torch.tensor(np.asarray(a, dtype=dtype))
    return t.requires_grad_(grad)


def patch_dropout(keras_cell, our_layer, dtype):
    """Make a Keras cell use our layer's last dropout masks (None where there is none)."""
    dp, rdp = our_layer.last_dropout_masks

    def as_keras(masks):
        if masks is None:
            return None
        if getattr(keras_cell, "dropout_mask_count", None) is None:
            return _torch(masks[0], dtype)
        return [_torch(m, dtype) for m in masks]

    keras_cell.get_dropout_mask = lambda step_input: as_keras(dp)
    keras_cell.get_recurrent_dropout_mask = lambda step_input: as_keras(rdp)


def _as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def _keras_subcells(keras_layer):
    if hasattr(keras_layer, "forward_layer"):
        return [keras_layer.forward_layer.cell, keras_layer.backward_layer.cell]
    return [keras_layer.cell]


def _our_sublayers(layer):
    if isinstance(layer, lstm_np.Bidirectional):
        return [layer.forward_layer, layer.backward_layer]
    return [layer]


def assert_close(ours, ref, tol, what):
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape} != Keras {ref.shape}"
    # Relative to the output's own scale once it exceeds 1 (linear/relu cells can grow, and
    # float32 rounding grows with them).
    scale = max(1.0, float(np.abs(ref).max(initial=0.0)))
    np.testing.assert_allclose(ours, ref, rtol=tol, atol=tol * scale, err_msg=what)


def assert_grad_close(ours, ref, rel, what):
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape} != Keras {ref.shape}"
    scale = max(float(np.abs(ref).max(initial=0.0)), 1e-3)
    err = float(np.abs(ours - ref).max(initial=0.0))
    assert err <= rel * scale, f"{what}: max error {err:.3g} > {rel} x {scale:.3g}"


def run_and_compare(ours, keras_layer, x, *, initial_state=None, mask=None, calls=1,
                    grads=True, exact64=True, seed=0):
    """Call both layers ``calls`` times on ``x`` (stateful layers carry states) with
    training=True and compare every output; then back-propagate a random ``dy`` through the
    last call and compare dx, weight gradients and initial-state gradients."""
    import torch

    dtype = ours.dtype.name
    rng = np.random.default_rng(seed)
    tol = TOL[dtype]
    with keras_floatx(dtype), exact_float64_matmul(exact64 and dtype == "float64"):
        for call in range(calls):
            xs = x + call  # a different batch each call, so that a carry bug shows
            y = _as_list(ours(xs, initial_state=initial_state, mask=mask, training=True))
            for cell, sub in zip(_keras_subcells(keras_layer), _our_sublayers(ours), strict=True):
                patch_dropout(cell, sub, dtype)
            xt = _torch(xs, dtype, grad=True)
            st = None if initial_state is None else [_torch(s, dtype, grad=True)
                                                     for s in initial_state]
            kwargs = {} if mask is None else {"mask": torch.tensor(np.asarray(mask))}
            yk = _as_list(keras_layer(xt, initial_state=st, training=True, **kwargs))
            assert len(y) == len(yk), f"{len(y)} outputs, Keras returned {len(yk)}"
            for i, (a, b) in enumerate(zip(y, yk, strict=True)):
                assert_close(a, b.detach().numpy(), tol["out"], f"call {call} output {i}")
        if not grads:
            return
        dys = [rng.normal(size=a.shape).astype(dtype) for a in y]
        loss = sum((b * _torch(d, dtype)).sum() for b, d in zip(yk, dys, strict=True))
        loss.backward()
        dx = ours.backward(dys if len(dys) > 1 else dys[0])
        assert_grad_close(dx, xt.grad.numpy(), tol["grad"], "dx")
        kvars = keras_layer.trainable_variables
        assert len(ours.grads) == len(kvars)
        for i, (g, v) in enumerate(zip(ours.grads, kvars, strict=True)):
            ref = v.value.grad
            ref = np.zeros(g.shape) if ref is None else ref.numpy()
            assert_grad_close(g, ref, tol["grad"], f"grad {i} ({v.path})")
        if st is not None:
            for i, (g, s) in enumerate(zip(ours.state_grads, st, strict=True)):
                assert_grad_close(g, s.grad.numpy(), tol["grad"], f"initial state {i}")


def build_pair(ours, keras_layer, x_shape, rng):
    """Build both layers for ``x_shape`` and give them the same random weights."""
    ours.build(x_shape)
    keras_layer.build(x_shape)
    weights = random_weights(ours, rng)
    ours.set_weights(weights)
    keras_layer.set_weights(weights)
    return weights


def random_mask(rng, B, T):
    """A random (B, T) mask that includes fully masked rows and leading masked steps."""
    return rng.random((B, T)) > 0.35
