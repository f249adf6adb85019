"""One LSTM step for a block of rows, forward and backward: the element-wise part.

The matrix products live in :mod:`lstm_np.kernels.lstm`; these functions do what is left
at step ``t`` once ``z = W^T x_t + U^T h_{t-1} + b`` is known. Layout: **gate-major and
transposed**, ``z (4H, nb)`` with each gate one contiguous ``(H, nb)`` block, states
``(H, nb)``. So every loop below runs over one flat run of ``n = H·nb`` elements, whatever
the batch or the width (no per-row loop overhead at H = 4 or B = 1), with no branch inside:
LLVM vectorises each of them. Masked rows are patched afterwards, column by column.

Three modes, chosen once per call:

* ``MODE_FAST`` (2): tanh/sigmoid, float32, the vectorised approximations of
  :mod:`lstm_np.kernels.fastmath` (with AVX-512, the whole step in one 16-lane pass,
  :func:`lstm_np.kernels.vecmath.lstm_cell`, no division);
* ``MODE_EXACT`` (1): tanh/sigmoid with libm, the formulas of :mod:`lstm_np.activations`;
* ``MODE_GENERIC`` (0): any other pair, by activation id (``apply_scalar``).

In the two tanh/sigmoid modes the training cache keeps the *activated* gates
``[i, f, c~, o]`` (written over ``z`` in place) and ``tanh(c_t)``, so backward takes every
derivative from those outputs (``σ' = s(1-s)``, ``tanh' = 1-t²``): no transcendental in
backward. The generic mode keeps ``z`` and ``c_t`` and differentiates them.

Loops are written ``for e in range(n): a[k + e]``, never ``range(k, k + n)``: Numba's
ranges with a start do not vectorise.
"""

from __future__ import annotations

from numba import njit

from ..activations import apply_scalar, derivative_scalar
from ..config import JIT
from .fastmath import sigmoid32, tanh32
from .vecmath import AVAILABLE as VECTOR_TANH
from .vecmath import lstm_cell

#: error_model="numpy": a division never raises, so loops with / still vectorise.
KJIT = dict(JIT, error_model="numpy")
MODE_GENERIC, MODE_EXACT, MODE_FAST = 0, 1, 2


@njit(inline="always", **KJIT)
def cell_forward(z, c_prev, c_new, h_new, cs, mode, act, ract):
    """All rows, one step, as if none were masked.

    In: z (4n,) pre-activations, c_prev (n,). Out: c_new, h_new (n,), cs (n,) ``tanh(c_t)``
    (``c_t`` in the generic mode); z becomes the activated gates (tanh/sigmoid modes).
    """
    n = c_prev.shape[0]
    if mode == MODE_FAST and VECTOR_TANH:  # AVX-512: the loops below in one pass (vecmath.py)
        lstm_cell(z, c_prev, c_new, h_new, cs)
    elif mode == MODE_FAST:
        for e in range(2 * n):
            z[e] = sigmoid32(z[e])
        for e in range(n):
            z[2 * n + e] = tanh32(z[2 * n + e])
        for e in range(n):
            z[3 * n + e] = sigmoid32(z[3 * n + e])
        # Short loops touching few arrays: few enough run-time alias checks to vectorise.
        for e in range(n):
            c_new[e] = z[n + e] * c_prev[e] + z[e] * z[2 * n + e]
        for e in range(n):
            cs[e] = tanh32(c_new[e])
        for e in range(n):
            h_new[e] = z[3 * n + e] * cs[e]
    elif mode == MODE_EXACT:
        for e in range(2 * n):
            z[e] = apply_scalar(1, z[e])
        for e in range(n):
            z[2 * n + e] = apply_scalar(0, z[2 * n + e])
        for e in range(n):
            z[3 * n + e] = apply_scalar(1, z[3 * n + e])
        for e in range(n):
            c_new[e] = z[n + e] * c_prev[e] + z[e] * z[2 * n + e]
            cs[e] = apply_scalar(0, c_new[e])
            h_new[e] = z[3 * n + e] * cs[e]
    else:
        for e in range(n):
            c = apply_scalar(ract, z[n + e]) * c_prev[e] \
                + apply_scalar(ract, z[e]) * apply_scalar(act, z[2 * n + e])
            c_new[e] = c
            cs[e] = c
            h_new[e] = apply_scalar(ract, z[3 * n + e]) * apply_scalar(act, c)


@njit(inline="always", **KJIT)
def cell_backward(d_out, d_prev_out, dh, dc, z, cs, c_prev, dz, dc_new, mode, act, ract, one):
    """Backward of :func:`cell_forward` for all rows, as if none were masked.

    In: d_out (n,) the loss gradient on this step's output, d_prev_out (n,) what later
    masked steps passed back to it, dh/dc (n,) gradients on the state this step produced.
    Out: dz (4n,), dc_new (n,) the gradient on c_{t-1}. ``one`` is 1 in the dtype (a bare
    1.0 would promote float32 arithmetic to float64).
    """
    n = dh.shape[0]
    if mode != MODE_GENERIC:
        for e in range(n):
            g_h = dh[e] + (d_out[e] + d_prev_out[e])
            i = z[e]
            f = z[n + e]
            g = z[2 * n + e]
            o = z[3 * n + e]
            tc = cs[e]
            g_c = dc[e] + g_h * o * (one - tc * tc)
            dz[e] = g_c * g * (i * (one - i))
            dz[n + e] = g_c * c_prev[e] * (f * (one - f))
            dz[2 * n + e] = g_c * i * (one - g * g)
            dz[3 * n + e] = g_h * tc * (o * (one - o))
            dc_new[e] = g_c * f
    else:
        for e in range(n):
            g_h = dh[e] + (d_out[e] + d_prev_out[e])
            zi = z[e]
            zf = z[n + e]
            zc = z[2 * n + e]
            zo = z[3 * n + e]
            c = cs[e]
            g_c = dc[e] + g_h * apply_scalar(ract, zo) * derivative_scalar(act, c)
            dz[e] = g_c * apply_scalar(act, zc) * derivative_scalar(ract, zi)
            dz[n + e] = g_c * c_prev[e] * derivative_scalar(ract, zf)
            dz[2 * n + e] = g_c * apply_scalar(ract, zi) * derivative_scalar(act, zc)
            dz[3 * n + e] = g_h * apply_scalar(act, c) * derivative_scalar(ract, zo)
            dc_new[e] = g_c * apply_scalar(ract, zf)


@njit(inline="always", **KJIT)
def cell_backward_skipped(e, z, cs, c_prev, dz, mode, act, ract, one):
    """dz for element ``e`` of a masked step, and the term it adds to dc_{t-1}.

    Keras computes a masked step and then discards it (``ops.where`` in
    ``keras/src/backend/torch/rnn.py``), so autograd sends it zero gradient times its
    derivatives: 0, unless the step overflowed or saw a NaN, which then propagates, exactly
    as in Keras and the NumPy engine. n = len(cs)."""
    n = cs.shape[0]
    zero = one - one
    if mode != MODE_GENERIC:
        i = z[e]
        f = z[n + e]
        g = z[2 * n + e]
        o = z[3 * n + e]
        tc = cs[e]
        g_c = zero * o * (one - tc * tc)
        dz[e] = g_c * g * (i * (one - i))
        dz[n + e] = g_c * c_prev[e] * (f * (one - f))
        dz[2 * n + e] = g_c * i * (one - g * g)
        dz[3 * n + e] = zero * tc * (o * (one - o))
        return g_c * f
    zi = z[e]
    zf = z[n + e]
    zc = z[2 * n + e]
    zo = z[3 * n + e]
    c = cs[e]
    g_c = zero * apply_scalar(ract, zo) * derivative_scalar(act, c)
    dz[e] = g_c * apply_scalar(act, zc) * derivative_scalar(ract, zi)
    dz[n + e] = g_c * c_prev[e] * derivative_scalar(ract, zf)
    dz[2 * n + e] = g_c * apply_scalar(ract, zi) * derivative_scalar(act, zc)
    dz[3 * n + e] = zero * apply_scalar(act, c) * derivative_scalar(ract, zo)
    return g_c * apply_scalar(ract, zf)
