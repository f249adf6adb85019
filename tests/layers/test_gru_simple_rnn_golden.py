"""Keras' own golden numbers for GRU and SimpleRNN (keras/src/layers/rnn/gru_test.py and
simple_rnn_test.py, test_correctness): no Keras needed."""

import numpy as np
import pytest

import lstm_np
from lstm_np.initializers import Constant

CONST = dict(kernel_initializer=Constant(0.01), recurrent_initializer=Constant(0.02),
             bias_initializer=Constant(0.03))

GRU_GOLDEN = [
    ({}, [0.5217289, 0.6371659, 0.39384964]),
    ({"go_backwards": True}, [0.24406259, 0.611516, 0.3928808]),
    ({"reset_after": False}, [0.51447755, 0.6426879, 0.40208298]),
    ({"use_bias": False}, [0.49988455, 0.64701194, 0.4103359]),
    ({"implementation": 1}, [0.5217289, 0.6371659, 0.39384964]),
]


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize("kwargs,rows", GRU_GOLDEN)
def test_gru_constant_initializers_match_keras_golden_values(engine, kwargs, rows):
    x = np.arange(72, dtype="float32").reshape(3, 6, 4)
    out = lstm_np.GRU(3, engine=engine, **CONST, **kwargs)(x)
    np.testing.assert_allclose(out, np.repeat(np.array(rows)[:, None], 3, axis=1), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_simple_rnn_constant_initializers_match_keras_golden_values(engine):
    x = np.arange(24, dtype="float32").reshape(2, 3, 4)
    out = lstm_np.SimpleRNN(4, engine=engine, **CONST)(x)
    expected = np.repeat(np.array([0.405432, 0.73605347])[:, None], 4, axis=1)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
