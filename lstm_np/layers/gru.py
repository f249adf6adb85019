"""``GRU``: Keras 3's gated recurrent unit on the shared recurrent driver.

The maths is in :mod:`lstm_np.ops.gru` (forward and backward side by side); this file
declares the weights and connects the driver to those functions.

Keras doc: https://keras.io/api/layers/recurrent_layers/gru/
"""

from __future__ import annotations

from .. import activations, initializers
from .engine import gru_backward, gru_forward
from .recurrent import Recurrent, check_use_cudnn, gated_implementation, refuse_unsupported


class GRU(Recurrent):
    """Gated Recurrent Unit (Cho et al. 2014), Keras-exact.

    Weights (Keras order): ``kernel (F, 3u)``, ``recurrent_kernel (u, 3u)``, gates stacked
    z (update), r (reset), h (candidate); ``bias (2, 3u)`` with ``reset_after=True`` (the
    default: row 0 input bias, row 1 recurrent bias) or ``(3u,)`` with
    ``reset_after=False``. Input ``(batch, timesteps, features)``; output ``(batch, u)``,
    ``(batch, timesteps, u)`` with ``return_sequences``, ``[output, h]`` with
    ``return_state``. Also takes ``dtype``, ``engine`` ("numba"/"numpy") and Keras 2's
    shape arguments, as :class:`~lstm_np.layers.LSTM` does.

    >>> import numpy as np, lstm_np
    >>> layer = lstm_np.GRU(3)
    >>> layer(np.zeros((2, 5, 4))).shape, layer.get_weights()[2].shape
    ((2, 3), (2, 9))
    """

    state_names = ("h",)
    n_gates = 3

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed=None, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 reset_after: bool = True, use_cudnn="auto", implementation: int = 2,
                 zero_output_for_mask: bool = False, engine: str | None = None, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed,
                         return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         zero_output_for_mask=zero_output_for_mask, engine=engine, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.reset_after = bool(reset_after)
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
        return 3 if self.implementation == 1 else 1

    def build_cell(self, input_dim: int) -> None:
        u = self.units
        rng = self._init_rng()
        self.add_weight("kernel", (input_dim, 3 * u), self.kernel_initializer, rng)
        self.add_weight("recurrent_kernel", (u, 3 * u), self.recurrent_initializer, rng)
        if self.use_bias:
            shape = (2, 3 * u) if self.reset_after else (3 * u,)
            self.add_weight("bias", shape, self.bias_initializer, rng)

    def cell_forward(self, x, states, mask, dropout_mask, recurrent_dropout_mask, keep):
        w = self._weights
        outputs, h, cache = gru_forward(
            x, w["kernel"], w["recurrent_kernel"], w.get("bias"), states[0],
            reset_after=self.reset_after, mask=mask, activation=self.activation,
            recurrent_activation=self.recurrent_activation,
            zero_output_for_mask=self.zero_output_for_mask, dropout_mask=dropout_mask,
            recurrent_dropout_mask=recurrent_dropout_mask, engine=self.engine, keep=keep,
            check=False, workspace=self._workspace if keep else None)
        return outputs, [h], cache

    def cell_backward(self, d_outputs, d_states, cache):
        dx, grads, dh0 = gru_backward(d_outputs, d_states[0], cache, check=False)
        return dx, grads, [dh0]

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(recurrent_activation=self.recurrent_activation.name,
                   reset_after=self.reset_after, use_cudnn=self.use_cudnn,
                   implementation=self.implementation)
        return cfg
