"""Numerics at the extremes: inputs (and initial states) of +-1e30 and +-1e4 give
finite outputs and gradients equal to Keras' (torch backend), with no overflow warning, in
float32 and float64, for LSTM, GRU and SimpleRNN on both engines.

tests/layers/test_lstm_errors.py checks that the LSTM stays finite and silent at 1e30
(without Keras) and tests/ops/test_activations.py each activation alone; this file compares the
whole recurrent layers, forward and backward, with Keras.

About half of the timesteps are huge (random sign), the others ordinary N(0, 1) values, so
that some steps saturate every gate and others do not: the saturated ones must give exact
zeros (never ``inf * 0 = nan``), the others Keras' gradients.
"""

from __future__ import annotations

import warnings

import numba
import numpy as np
import pytest
from keras_oracle import build_pair, require_keras, run_and_compare

import lstm_np

keras = require_keras()

B, T, F, H = 3, 5, 4, 3
ACTIVATIONS = {"LSTM": ("tanh", "sigmoid"), "GRU": ("tanh", "sigmoid"), "SimpleRNN": ("tanh",)}


def extreme(rng, shape, scale, dtype):
    """N(0, 1) values where about half of the rows (the timesteps of a (B, T, F) input) are
    +-scale, so that the ordinary steps in between keep live, non-zero gradients."""
    a = rng.normal(size=shape)
    huge = np.broadcast_to(rng.random(shape[:-1] + (1,)) < 0.5, shape)
    a[huge] = scale * rng.choice([-1.0, 1.0], size=int(huge.sum()))
    return a.astype(dtype)


def pair(cls, dtype, engine, seed, **kw):
    ours = getattr(lstm_np, cls)(H, dtype=dtype, engine=engine, return_sequences=True,
                                 return_state=True, **kw)
    theirs = getattr(keras.layers, cls)(H, dtype=dtype, return_sequences=True,
                                        return_state=True, **kw)
    build_pair(ours, theirs, (B, T, F), np.random.default_rng(seed))
    return ours, theirs


@pytest.mark.keras
@pytest.mark.parametrize("cls", ["LSTM", "GRU", "SimpleRNN"])
@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("scale", [1e4, 1e30])
def test_extreme_inputs_match_keras(cls, engine, dtype, scale):
    rng = np.random.default_rng(int(np.log10(scale)))
    ours, theirs = pair(cls, dtype, engine, seed=1)
    x = extreme(rng, (B, T, F), scale, dtype)  # (B, T, F)
    n_states = 2 if cls == "LSTM" else 1
    # Huge initial states too, except float32 at 1e30: there an LSTM's true gradients reach
    # ~1e60 (dh_prev ~ 1e30 from a 1e30 step meets c_prev = 1e30 in df = dc * c_prev * f'),
    # beyond float32's 3.4e38, so inf/nan is the right float32 answer (Keras' as well).
    state_scale = 1.0 if (dtype == "float32" and scale > 1e4) else scale
    h0 = [extreme(rng, (B, H), state_scale, dtype) for _ in range(n_states)]

    # Ours alone first, with every floating-point warning an error (except in CI's
    # NUMBA_DISABLE_JIT pass: kernels run as Python on NumPy scalars flag FP events that
    # compiled code does not, so that pass checks values only).
    strict = not (engine == "numba" and numba.config.DISABLE_JIT)
    probe, _ = pair(cls, dtype, engine, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error" if strict else "ignore")
        with np.errstate(all="raise" if strict else "ignore"):
            outs = probe(x, initial_state=h0, training=True)
            dx = probe.backward([np.ones_like(o) for o in outs])
    for a in (*outs, dx, *probe.grads, *probe.state_grads):
        assert np.isfinite(a).all()

    # Then the same numbers as Keras, outputs and every gradient.
    run_and_compare(ours, theirs, x, initial_state=h0)


@pytest.mark.keras
@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extreme_inputs_with_hard_sigmoid_match_keras(cls, dtype):
    """hard_sigmoid saturates at a finite point: its derivative is exactly 0 beyond it.

    (softsign is left out on purpose: in float32 torch differentiates it as
    ``1/(1+|z|) - |z|/(1+|z|)**2``, whose second term overflows to ``|z|/inf = 0`` at
    |z| = 1e30, so Keras' gradient there is 1e-30 instead of the true 1e-60; ours underflows
    to 0 as the exact value does. Both are finite; they differ by ~5e-7 absolute.)"""
    rng = np.random.default_rng(7)
    ours, theirs = pair(cls, dtype, "numba", seed=2, recurrent_activation="hard_sigmoid")
    x = extreme(rng, (B, T, F), 1e30, dtype)
    run_and_compare(ours, theirs, x)
