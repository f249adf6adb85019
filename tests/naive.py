"""Slow, obviously-correct references for the gradient tests (stumpy's tests/naive.py idea).

:func:`numerical_grad` is a central finite difference of a scalar function with respect to
one array, element by element; :func:`lstm_loss` is the scalar the BPTT tests
differentiate: ``sum(output * dy)`` over every output of one LSTM call, with the masks and
states fixed, on the functional core (``lstm_np.ops.lstm_forward``).
"""

from __future__ import annotations

import numpy as np

from lstm_np.layers.engine import lstm_forward


def numerical_grad(f, arr: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """``d f / d arr`` by central differences; ``arr`` is perturbed in place and restored."""
    grad = np.zeros_like(arr, dtype=np.float64)
    flat = arr.reshape(-1)  # a view: writes reach arr
    g = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        g[i] = (up - down) / (2 * eps)
    return grad


def lstm_loss(args: dict, d_outputs, dh, dc, engine="numpy") -> float:
    """``sum(outputs * d_outputs) + sum(h_T * dh) + sum(c_T * dc)`` of one forward pass.

    ``args`` holds the keyword arguments of :func:`lstm_forward` (x, kernel,
    recurrent_kernel, bias, h0, c0, mask, activations, dropout masks...).
    """
    outputs, (h, c), _ = lstm_forward(**args, engine=engine, keep=False)
    return float(np.sum(outputs * d_outputs) + np.sum(h * dh) + np.sum(c * dc))
