"""``LSTM``: Keras 3's LSTM layer on the shared recurrent driver.

The maths is in :mod:`lstm_np.ops.lstm` (read it there, forward and backward side by
side); this file only declares the weights and connects the driver to those functions.

Keras doc: https://keras.io/api/layers/recurrent_layers/lstm/
"""

from __future__ import annotations

from .. import activations, initializers
from .engine import lstm_backward, lstm_forward
from .recurrent import Recurrent, check_use_cudnn, gated_implementation, refuse_unsupported


class LSTM(Recurrent):
    """Long Short-Term Memory layer (Hochreiter & Schmidhuber 1997), Keras-exact.

    Weights (Keras order): ``kernel (F, 4u)``, ``recurrent_kernel (u, 4u)``, ``bias (4u,)``,
    gates stacked i, f, c, o. Input ``(batch, timesteps, features)``; output ``(batch, u)``,
    ``(batch, timesteps, u)`` with ``return_sequences``, and ``[output, h, c]`` with
    ``return_state``.

    Besides Keras 3's arguments it takes ``dtype`` ("float32"/"float64"), ``engine``
    ("numba", the compiled default, or "numpy", the readable reference) and Keras 2's
    ``input_shape``/``input_dim``/``batch_input_shape``/``batch_size``.

    >>> import numpy as np, lstm_np
    >>> layer = lstm_np.LSTM(3, return_sequences=True)
    >>> layer(np.zeros((2, 5, 4))).shape
    (2, 5, 3)
    """

    state_names = ("h", "c")
    n_gates = 4
    numba_fp_quiet = True  # lstm_np/kernels/lstm.py: all arithmetic is compiled

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias: bool = True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed=None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, implementation: int = 2,
                 use_cudnn="auto", engine: str | None = None, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed,
                         return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         zero_output_for_mask=zero_output_for_mask, engine=engine, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        refuse_unsupported(kernel_regularizer=kernel_regularizer,
                           recurrent_regularizer=recurrent_regularizer,
                           bias_regularizer=bias_regularizer,
                           activity_regularizer=activity_regularizer,
                           kernel_constraint=kernel_constraint,
                           recurrent_constraint=recurrent_constraint,
                           bias_constraint=bias_constraint)
        check_use_cudnn(use_cudnn)
        self.use_cudnn = use_cudnn
        self.implementation = gated_implementation(implementation, self.recurrent_dropout)

    def dropout_mask_count(self) -> int:
        return 4 if self.implementation == 1 else 1

    def build_cell(self, input_dim: int) -> None:
        u = self.units
        rng = self._init_rng()
        self.add_weight("kernel", (input_dim, 4 * u), self.kernel_initializer, rng)
        self.add_weight("recurrent_kernel", (u, 4 * u), self.recurrent_initializer, rng)
        if self.use_bias:
            bias = self.add_weight("bias", (4 * u,), self.bias_initializer, rng)
            if self.unit_forget_bias:  # replaces the forget slice with ones (does not add)
                init = self.bias_initializer
                bias[:u] = init((u,), self.dtype, rng)
                bias[u:2 * u] = 1.0
                bias[2 * u:] = init((2 * u,), self.dtype, rng)

    def cell_forward(self, x, states, mask, dropout_mask, recurrent_dropout_mask, keep):
        w = self._weights
        outputs, (h, c), cache = lstm_forward(
            x, w["kernel"], w["recurrent_kernel"], w.get("bias"), states[0], states[1],
            mask=mask, activation=self.activation, recurrent_activation=self.recurrent_activation,
            zero_output_for_mask=self.zero_output_for_mask, dropout_mask=dropout_mask,
            recurrent_dropout_mask=recurrent_dropout_mask, engine=self.engine, keep=keep,
            workspace=self._workspace if keep else None, check=False)
        return outputs, [h, c], cache

    def cell_backward(self, d_outputs, d_states, cache):
        dx, grads, (dh0, dc0) = lstm_backward(d_outputs, d_states[0], d_states[1], cache,
                                              check=False)
        return dx, grads, [dh0, dc0]

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(recurrent_activation=self.recurrent_activation.name,
                   unit_forget_bias=self.unit_forget_bias, implementation=self.implementation)
        return cfg
