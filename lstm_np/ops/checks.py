"""Argument checks for the functional recurrences (``lstm_forward``, ``gru_forward``,
``simple_rnn_forward`` and their backward passes): the functions of :mod:`lstm_np.ops` run
them, and so do the Numba engine's (:mod:`lstm_np.kernels.api`), which read their arrays
without bounds checks. Every array is checked once per call:

* the computation dtype is the kernel's (float32 or float64); ``x``, states, masks and
  gradients are cast to it, integers included (as Keras casts inputs); strings, objects and
  complex values are refused;
* x (B, T, F), kernel (F, G*H), recurrent_kernel (H, G*H), states (B, H), mask (B, T),
  dropout masks (1 or G, B, F) and (1 or G, B, H); G = 4 (LSTM), 3 (GRU), 1 (SimpleRNN).
"""

from __future__ import annotations

import numpy as np

from ..arrays import as_float_array


def _shape_error(name, what, expected, got, hint=""):
    return ValueError(f"{name}: {what} must have shape {expected}; got {got}.{hint}")


def check_forward(name, n_gates, x, kernel, recurrent_kernel, bias, states, bias_shapes,
                  mask=None, dropout_mask=None, recurrent_dropout_mask=None):
    """Validate and cast the arguments of a forward recurrence.

    ``states`` is a list with None for a state that starts at zero; ``bias_shapes`` lists
    the accepted bias shapes. Returns ``(x, kernel, recurrent_kernel, bias, states, mask,
    dropout_mask, recurrent_dropout_mask)``, cast to the kernel's dtype.
    """
    if type(kernel) is not np.ndarray:
        kernel = np.asarray(kernel)
    if kernel.dtype != np.float32 and kernel.dtype != np.float64:
        raise TypeError(f"{name}: kernel must be a float32 or float64 array (it sets the "
                        f"dtype of the computation); got dtype {kernel.dtype}.")
    dtype = kernel.dtype
    x = as_float_array(x, dtype, what=f"{name}'s x")
    if x.ndim != 3:
        raise ValueError(f"{name}: x must be 3-D (batch, timesteps, features); got shape "
                         f"{x.shape}.")
    B, T, F = x.shape
    if T == 0:
        raise ValueError(f"{name}: x has 0 timesteps (shape {x.shape}); a recurrence needs at "
                         "least one step.")
    recurrent_kernel = as_float_array(recurrent_kernel, dtype, what="recurrent_kernel")
    if recurrent_kernel.ndim != 2 or recurrent_kernel.shape[1] != n_gates * \
            recurrent_kernel.shape[0]:
        raise _shape_error(name, "recurrent_kernel", f"(units, {n_gates} * units)",
                           recurrent_kernel.shape)
    H = recurrent_kernel.shape[0]
    if kernel.shape != (F, n_gates * H):
        raise _shape_error(name, "kernel", f"(features, {n_gates} * units) = "
                           f"({F}, {n_gates * H})", kernel.shape,
                           " features come from x's last axis, units from recurrent_kernel.")
    if not kernel.flags.c_contiguous:
        kernel = np.ascontiguousarray(kernel)
    if bias is not None:
        bias = as_float_array(bias, dtype, what="bias")
        if bias.shape not in bias_shapes(H):
            raise _shape_error(name, "bias", " or ".join(map(str, bias_shapes(H))), bias.shape)
    states = [None if s is None else as_float_array(s, dtype, what="initial state")
              for s in states]
    for s in states:
        if s is not None and s.shape != (B, H):
            raise _shape_error(name, "each initial state", f"(batch, units) = ({B}, {H})",
                               s.shape)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != (B, T) or mask.dtype.kind not in "biuf":
            raise ValueError(f"{name}: mask must be a boolean (batch, timesteps) = ({B}, {T}) "
                             f"array; got shape {mask.shape}, dtype {mask.dtype}.")
        if mask.dtype != bool or not mask.flags.c_contiguous:
            mask = np.ascontiguousarray(mask, dtype=bool)
    masks = []
    for what, m, width in (("dropout_mask", dropout_mask, F),
                           ("recurrent_dropout_mask", recurrent_dropout_mask, H)):
        if m is not None:
            m = as_float_array(m, dtype, what=what)
            if m.ndim != 3 or m.shape[0] not in (1, n_gates) or m.shape[1:] != (B, width):
                raise _shape_error(name, what, f"(1 or {n_gates}, batch, {width}) with batch "
                                   f"{B}", m.shape)
        masks.append(m)
    return (x, kernel, recurrent_kernel, bias, states, mask, *masks)


def check_backward(name, cache, d_outputs, d_states):
    """Validate and cast the output and final-state gradients of a backward recurrence
    against the forward pass that made ``cache``. Returns ``(d_outputs, d_states)``."""
    if cache is None:
        raise ValueError(f"{name}: the cache is None; pass the cache the forward pass returned "
                         "(lstm_np.kernels' forward keeps one only with keep=True).")
    B, T, _ = cache.x.shape
    H = cache.recurrent_kernel.shape[0]
    dtype = cache.x.dtype
    d_outputs = as_float_array(d_outputs, dtype, what="d_outputs")
    if d_outputs.shape != (B, T, H):
        raise _shape_error(name, "d_outputs", f"(batch, timesteps, units) = ({B}, {T}, {H})",
                           d_outputs.shape)
    out = []
    for d in d_states:
        d = as_float_array(d, dtype, what="final-state gradient")
        if d.shape != (B, H):
            raise _shape_error(name, "each final-state gradient", f"(batch, units) = ({B}, {H})",
                               d.shape)
        out.append(d)
    return d_outputs, out
