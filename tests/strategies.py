"""Hypothesis strategies shared by the LSTM cross-checks: configurations and random data.

Hypothesis draws the *configuration* (every constructor argument, shapes, which inputs
exist); the arrays come from a NumPy generator seeded by a drawn integer, which keeps
examples cheap to generate and still reproducible from the printed falsifying example.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

from lstm_np.activations import NAMES

#: Hypothesis examples per test; LSTM_NP_EXAMPLES=500 for a long hunt.
EXAMPLES = int(os.environ.get("LSTM_NP_EXAMPLES", "40"))


def examples(n: int = 40) -> int:
    """``n`` scaled by LSTM_NP_EXAMPLES / 40."""
    return max(1, n * EXAMPLES // 40)


#: Activations both lstm_np and Keras 3 accept, plus Keras 2's hard sigmoid (the oracle
#: hands Keras the same formula for it).
ACTIVATIONS = tuple(n for n in NAMES if n is not None)
DTYPES = ("float32", "float64")


@dataclass
class Case:
    """One drawn configuration and its data (all arrays already in ``dtype``)."""

    kwargs: dict
    dtype: str
    x: np.ndarray  # (B, T, F)
    initial_state: list | None
    mask: np.ndarray | None  # (B, T) bool
    dy: object  # mirrors the output
    rng: np.random.Generator = field(repr=False)

    @property
    def shape(self):
        return self.x.shape


def random_mask(rng, B, T, kind):
    """A (B, T) bool mask: 'random', 'rows' (some rows fully masked), 'ones' or 'first'."""
    if kind == "ones":
        return np.ones((B, T), bool)
    mask = rng.random((B, T)) < 0.6
    if kind == "rows":
        mask[rng.random(B) < 0.5] = False
        mask[0] = False  # at least one all-masked row
    if kind == "first":  # the first steps masked: outputs start from Keras' zeros
        mask[:, : max(1, T // 2)] = False
    return mask


def random_dy(rng, kwargs, B, T, dtype, drop_states=True):
    """A random output gradient mirroring the layer's output (None for unused states)."""
    units = kwargs["units"]
    out = rng.normal(size=(B, T, units) if kwargs.get("return_sequences") else (B, units))
    if not kwargs.get("return_state"):
        return out.astype(dtype)
    parts = [out, rng.normal(size=(B, units)), rng.normal(size=(B, units))]
    parts = [p.astype(dtype) for p in parts]
    if drop_states and rng.random() < 0.25:
        parts[int(rng.integers(1, 3))] = None  # a state whose gradient never arrives
    return parts


def make_x(rng, B, T, F, dtype, scale=1.0):
    return (rng.normal(size=(B, T, F)) * scale).astype(dtype)


def make_states(rng, B, units, dtype):
    return [rng.uniform(-1, 1, (B, units)).astype(dtype) for _ in range(2)]


@st.composite
def cases(draw, dtypes=DTYPES, max_units=5, max_batch=3, max_steps=6, max_features=4,
          dropout=False, stateful=False, with_dy=False, activations=ACTIVATIONS):
    """A full configuration over every LSTM constructor argument, with its data."""
    units = draw(st.integers(1, max_units))
    B = draw(st.integers(1, max_batch))
    T = draw(st.integers(1, max_steps))
    F = draw(st.integers(1, max_features))
    dtype = draw(st.sampled_from(dtypes))
    kwargs = dict(
        units=units,
        activation=draw(st.sampled_from(activations)),
        recurrent_activation=draw(st.sampled_from(activations)),
        use_bias=draw(st.booleans()),
        unit_forget_bias=draw(st.booleans()),
        return_sequences=draw(st.booleans()),
        return_state=draw(st.booleans()),
        go_backwards=draw(st.booleans()),
        zero_output_for_mask=draw(st.booleans()),
    )
    # Keras 3.15 on torch crashes on unroll=True + go_backwards + a mask ("'tuple' object
    # has no attribute 'shape'", keras/src/backend/torch/rnn.py's unrolled masked loop),
    # so unroll is drawn only without go_backwards (it changes nothing in lstm_np).
    kwargs["unroll"] = False if kwargs["go_backwards"] else draw(st.booleans())
    if stateful:
        kwargs["stateful"] = True
    if dropout:
        kwargs["dropout"] = draw(st.sampled_from([0.0, 0.2, 0.5]))
        kwargs["recurrent_dropout"] = draw(st.sampled_from([0.0, 0.3, 0.6]))
        if kwargs["dropout"] == kwargs["recurrent_dropout"] == 0.0:
            kwargs["dropout"] = 0.4
    else:
        # (keras.layers.LSTM crashes on implementation=1 with dropout but no recurrent
        # dropout in training; test_lstm_keras checks that combination on RNN(LSTMCell).)
        kwargs["implementation"] = draw(st.sampled_from([1, 2]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = make_x(rng, B, T, F, dtype)
    initial_state = make_states(rng, B, units, dtype) if draw(st.booleans()) else None
    mask_kind = draw(st.sampled_from([None, "random", "rows", "ones", "first"]))
    mask = None if mask_kind is None else random_mask(rng, B, T, mask_kind)
    dy = random_dy(rng, kwargs, B, T, dtype) if with_dy else None
    return Case(kwargs, dtype, x, initial_state, mask, dy, rng)
