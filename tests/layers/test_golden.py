"""Keras' own golden numbers (keras/src/layers/rnn/lstm_test.py): no Keras needed."""

import numpy as np
import pytest

import lstm_np
from lstm_np.initializers import Constant


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_lstm_constant_initializers_match_keras_golden_values(engine):
    x = np.arange(72, dtype="float32").reshape(3, 6, 4)
    layer = lstm_np.LSTM(3, kernel_initializer=Constant(0.01),
                         recurrent_initializer=Constant(0.02), bias_initializer=Constant(0.03),
                         engine=engine)
    out = layer(x)
    expected = np.array([0.6288687, 0.86899155, 0.9460773], "float32")
    np.testing.assert_allclose(out, np.repeat(expected[:, None], 3, axis=1), rtol=1e-6)
