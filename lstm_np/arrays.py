"""Small array helpers shared by the NumPy equations (:mod:`lstm_np.ops`), the Numba engine
(:mod:`lstm_np.kernels`) and the layers, kept in this leaf module so that each side imports
them without importing the other.

* :func:`as_float_array`: inputs cast to a float dtype as Keras casts them;
* :func:`gate_project` / :func:`gate_project_backward`: ``v @ W`` with per-gate dropout masks;
* :func:`split_bias` / :func:`gate_mask`: the GRU's two biases and one gate's dropout mask.
"""

from __future__ import annotations

import numpy as np


def as_float_array(x, dtype: np.dtype, what: str = "input") -> np.ndarray:
    """Convert ``x`` to a C-contiguous float array of ``dtype`` as Keras casts inputs (ints
    and bools too). Strings, objects and complex numbers are refused with a ``TypeError``.
    """
    if type(x) is np.ndarray and x.dtype == dtype and x.flags.c_contiguous:
        return x  # the common case (a layer's own arrays): no copy, no checks
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(
            f"The {what} must be a numeric array (a NumPy array or nested lists of numbers); "
            f"could not convert {type(x).__name__}: {exc}"
        ) from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"The {what} must be numeric (float, int or bool); got an array of dtype "
            f"{arr.dtype} ({arr.dtype.kind!r} kind). Convert it first, e.g. x.astype('float32')."
        )
    return np.ascontiguousarray(arr, dtype=dtype)


def gate_project(v, weight, masks):
    """``v @ weight`` with optional per-gate dropout masks on ``v``.

    v (B, D), weight (D, G*H), masks (G', B, D) with G' in {1, G} or None  ->  (B, G*H).
    Leading axes broadcast as NumPy's ``@`` does: v (B, T, D) with masks (G', B, 1, D)
    projects a whole sequence at once.
    """
    if masks is None:
        return v @ weight
    if masks.shape[0] == 1:
        return (v * masks[0]) @ weight
    weights = np.split(weight, len(masks), axis=1)  # one (D, H) block per gate
    return np.concatenate([(v * m) @ w for m, w in zip(masks, weights, strict=True)], axis=-1)


def gate_project_backward(dz, v, weight, masks):
    """Gradients of :func:`gate_project`: returns (dv (B, D), dweight (D, G*H))."""
    if masks is None:
        return dz @ weight.T, v.T @ dz
    if masks.shape[0] == 1:
        vm = v * masks[0]
        return (dz @ weight.T) * masks[0], vm.T @ dz
    dzs = np.split(dz, len(masks), axis=1)
    ws = np.split(weight, len(masks), axis=1)
    dv = sum((g @ w.T) * m for g, w, m in zip(dzs, ws, masks, strict=True))
    dweight = np.concatenate([(v * m).T @ g for g, m in zip(dzs, masks, strict=True)], axis=1)
    return dv, dweight


def split_bias(bias, reset_after):
    """(b_in (3H,) or None, b_rec (3H,) or None) from Keras' GRU bias: (2, 3H) rows
    b_in, b_rec with ``reset_after=True``, (3H,) = b_in otherwise."""
    if bias is None:
        return None, None
    if reset_after:
        return bias[0], bias[1]
    return bias, None


def gate_mask(masks, g):
    """The dropout mask of gate g: (B, D), or None. G = 1 shares one mask among gates."""
    if masks is None:
        return None
    return masks[g if masks.shape[0] > 1 else 0]
