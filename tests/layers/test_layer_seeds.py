"""A fixed ``seed`` makes initial weights reproducible, and never makes two halves identical."""

import numpy as np
import pytest

import lstm_np


@pytest.mark.parametrize("cls", [lstm_np.LSTM, lstm_np.GRU, lstm_np.SimpleRNN])
def test_same_seed_same_initial_weights(cls):
    a, b = cls(3, seed=5), cls(3, seed=5)
    a.build((2, 4, 3))
    b.build((2, 4, 3))
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.parametrize("cls", [lstm_np.LSTM, lstm_np.GRU, lstm_np.SimpleRNN])
def test_bidirectional_halves_differ_under_a_fixed_seed(cls):
    bi = lstm_np.Bidirectional(cls(3, seed=5))
    bi(np.ones((1, 2, 2), "float32"))
    w = bi.get_weights()
    half = len(w) // 2
    assert not np.allclose(w[0], w[half]), "forward and backward kernels start identical"
