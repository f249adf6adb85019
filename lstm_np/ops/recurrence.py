"""The recurrence every cell shares, on the NumPy engine: the time loop and Keras' masking.

A cell supplies one step ``step(x_t, states) -> (new_states, cache_t)`` whose output is
its new hidden state ``new_states[0]`` (true of LSTM, GRU and SimpleRNN), and its
backward ``step_backward(d_new_states, cache_t) -> (dx_t, d_states, d_params)``.
This module does the rest, exactly as Keras' ``backend.rnn`` does
(``keras/src/backend/torch/rnn.py``):

* time runs over axis 1 in *processing order* (the caller flips for ``go_backwards``);
* at a masked step every state is carried unchanged, and the output is the previous
  output (zeros before the first unmasked step, *not* the initial state), or zeros with
  ``zero_output_for_mask=True``;
* the last output is ``outputs[:, -1]``.

Backward routes gradients through the same choices: a masked step passes the state
gradients through untouched, and its output gradient flows to the previous output
(the hidden state of the last unmasked step, or nowhere when there is none).
"""

from __future__ import annotations

import numpy as np


def scan_forward(step, x, states0, mask=None, zero_output_for_mask=False):
    """Run ``step`` over the time axis.

    Parameters
    ----------
    step : callable ``(x_t (B, F), states list of (B, H)) -> (new_states, cache_t)``
    x : (B, T, F) input in processing order.
    states0 : list of (B, H) initial states.
    mask : (B, T) bool or None; False marks a skipped step.

    Returns
    -------
    outputs (B, T, H), final states (list of (B, H)), caches (list of per-step caches)
    """
    B, T, _ = x.shape
    states = [s for s in states0]
    H = states[0].shape[1]
    outputs = np.empty((B, T, H), dtype=x.dtype)  # (B, T, H)
    prev_output = np.zeros((B, H), dtype=x.dtype)  # (B, H): Keras starts from zeros
    caches = []
    for t in range(T):
        new_states, cache_t = step(x[:, t], states)
        if mask is None:
            output = new_states[0]
        else:
            m = mask[:, t, None]  # (B, 1)
            pairs = zip(new_states, states, strict=True)
            new_states = [np.where(m, new, old) for new, old in pairs]  # carried if masked
            fallback = 0 if zero_output_for_mask else prev_output
            output = np.where(m, new_states[0], fallback)
        outputs[:, t] = output
        prev_output = output
        states = new_states
        caches.append(cache_t)
    return outputs, states, caches


def scan_backward(step_backward, d_outputs, d_final_states, caches, mask=None,
                  zero_output_for_mask=False):
    """Back-propagate through :func:`scan_forward`.

    Parameters
    ----------
    step_backward : callable ``(d_new_states, cache_t) -> (dx_t, d_states, d_params)``
        where ``d_params`` is a list of arrays (summed over time here).
    d_outputs : (B, T, H) gradient w.r.t. every output (zeros where an output was unused).
    d_final_states : list of (B, H) gradients w.r.t. the final states.
    caches : the per-step caches of the forward pass.

    Returns
    -------
    dx (B, T, F), d_initial_states (list of (B, H)), d_params (list, summed over time)
    """
    B, T, _ = d_outputs.shape
    d_states = [d.copy() for d in d_final_states]
    # Gradient on the previous output that masked steps handed back (see module doc).
    d_prev_output = np.zeros_like(d_outputs[:, 0])  # (B, H)
    dx_steps = [None] * T
    d_params = None
    for t in reversed(range(T)):
        d_output = d_outputs[:, t] + d_prev_output  # (B, H): all that reaches output t
        if mask is None:
            d_new = list(d_states)
            d_new[0] = d_new[0] + d_output
            d_carried = None
        else:
            m = mask[:, t, None]  # (B, 1)
            d_new = [np.where(m, d, 0) for d in d_states]
            d_new[0] = d_new[0] + np.where(m, d_output, 0)
            d_carried = [np.where(m, 0, d) for d in d_states]  # masked: passed through
            d_prev_output = np.zeros_like(d_output) if zero_output_for_mask else \
                np.where(m, 0, d_output)
        dx_t, d_old, dp = step_backward(d_new, caches[t])
        if d_carried is not None:
            d_old = [a + b for a, b in zip(d_old, d_carried, strict=True)]
        d_states = d_old
        dx_steps[t] = dx_t
        d_params = dp if d_params is None else [a + b for a, b in zip(d_params, dp, strict=True)]
    dx = np.stack(dx_steps, axis=1)  # (B, T, F)
    return dx, d_states, d_params
