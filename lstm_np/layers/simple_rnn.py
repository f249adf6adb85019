"""``SimpleRNN``: Keras 3's fully-connected RNN layer on the shared recurrent driver.

The maths is in :mod:`lstm_np.ops.simple_rnn`; this file declares the weights and
connects the driver (:class:`~lstm_np.layers.recurrent.Recurrent`) to those functions.

Keras doc: https://keras.io/api/layers/recurrent_layers/simple_rnn/
"""

from __future__ import annotations

import numpy as np

from .. import initializers
from .engine import simple_rnn_backward, simple_rnn_forward
from .recurrent import Recurrent, refuse_unsupported


class SimpleRNN(Recurrent):
    """Fully-connected RNN whose output is fed back as its input, Keras-exact.

    ``h_t = activation(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel)``.

    Weights (Keras order): ``kernel (F, u)``, ``recurrent_kernel (u, u)``, ``bias (u,)``.
    Input ``(batch, timesteps, features)``; output ``(batch, u)``, ``(batch, timesteps, u)``
    with ``return_sequences``, and ``[output, h]`` with ``return_state``. Besides Keras 3's
    arguments it takes ``dtype``, ``engine`` ("numba" or "numpy") and Keras 2's shape
    arguments, as :class:`~lstm_np.layers.LSTM` does.

    >>> import numpy as np, lstm_np
    >>> lstm_np.SimpleRNN(3, return_sequences=True)(np.zeros((2, 5, 4))).shape
    (2, 5, 3)
    """

    state_names = ("h",)
    n_gates = 1

    def __init__(self, units: int, activation="tanh", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, seed=None, zero_output_for_mask: bool = False,
                 engine: str | None = None, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed,
                         return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         zero_output_for_mask=zero_output_for_mask, engine=engine, **kwargs)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        refuse_unsupported(kernel_regularizer=kernel_regularizer,
                           recurrent_regularizer=recurrent_regularizer,
                           bias_regularizer=bias_regularizer,
                           activity_regularizer=activity_regularizer,
                           kernel_constraint=kernel_constraint,
                           recurrent_constraint=recurrent_constraint,
                           bias_constraint=bias_constraint)

    def _draw_dropout_masks(self, B, F):
        # Keras' SimpleRNNCell applies its masks whenever rate > 0 (it has no "< 1" test, as
        # the GRU and LSTM cells have), and a rate of 1 drops everything.
        dp, rdp = super()._draw_dropout_masks(B, F)
        if self.dropout >= 1.0:
            dp = np.zeros((1, B, F), self.dtype)
        if self.recurrent_dropout >= 1.0:
            rdp = np.zeros((1, B, self.units), self.dtype)
        return dp, rdp

    def build_cell(self, input_dim: int) -> None:
        u = self.units
        rng = self._init_rng()
        self.add_weight("kernel", (input_dim, u), self.kernel_initializer, rng)
        self.add_weight("recurrent_kernel", (u, u), self.recurrent_initializer, rng)
        if self.use_bias:
            self.add_weight("bias", (u,), self.bias_initializer, rng)

    def cell_forward(self, x, states, mask, dropout_mask, recurrent_dropout_mask, keep):
        w = self._weights
        outputs, h, cache = simple_rnn_forward(
            x, w["kernel"], w["recurrent_kernel"], w.get("bias"), states[0], mask=mask,
            activation=self.activation, zero_output_for_mask=self.zero_output_for_mask,
            dropout_mask=dropout_mask, recurrent_dropout_mask=recurrent_dropout_mask,
            engine=self.engine, keep=keep, check=False)
        return outputs, [h], cache

    def cell_backward(self, d_outputs, d_states, cache):
        dx, grads, dh0 = simple_rnn_backward(d_outputs, d_states[0], cache, check=False)
        return dx, grads, [dh0]
