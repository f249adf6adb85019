"""One LSTM step on one batch row, forward and backward: the element-wise part of the kernels.

The matrix products live in :mod:`lstm_np.kernels.lstm`; these functions do what is left
for row ``b`` at step ``t`` once ``z = x_t W + h_{t-1} U + b`` is known. Three modes,
chosen once per call (outside the loops, so every inner loop stays branch-free and
LLVM vectorises it):

* ``MODE_FAST`` (2): tanh/sigmoid, float32, the vectorised approximations of
  :mod:`lstm_np.kernels.fastmath`;
* ``MODE_EXACT`` (1): tanh/sigmoid with libm, the formulas of :mod:`lstm_np.activations`;
* ``MODE_GENERIC`` (0): any other pair, by activation id (``apply_scalar``).

In the two tanh/sigmoid modes the training cache keeps the *activated* gates
``[i, f, c~, o]`` (written over ``z`` in place) and ``tanh(c_t)``, so backward takes
every derivative from those outputs (``σ' = s(1-s)``, ``tanh' = 1-t²``) and calls no
transcendental at all. The generic mode keeps ``z`` and ``c_t`` and differentiates them.

Shapes (one row): ``z``/``dz`` (4H,) gates i, f, c, o; everything else (H,).
"""

from __future__ import annotations

from numba import njit

from ..activations import apply_scalar, derivative_scalar
from ..config import JIT
from .fastmath import sigmoid32, tanh32

#: error_model="numpy": a division never raises, so loops with / still vectorise.
KJIT = dict(JIT, error_model="numpy")
MODE_GENERIC, MODE_EXACT, MODE_FAST = 0, 1, 2


@njit(inline='always', **KJIT)
def cell_forward_row(z, c_prev, h_prev, c_new, h_new, cs, out, prev_out, keep_step, zero_out,
                     mode, act, ract):
    """Advance one row by one step; a masked step (``keep_step`` False) carries the state.

    In: z (4H,) pre-activations, c_prev/h_prev (H,), prev_out (H,) the previous output.
    Out: c_new/h_new (H,) the carried state, out (H,) this step's output, cs (H,)
    ``tanh(c_t)`` (``c_t`` in the generic mode); z becomes the activated gates
    (tanh/sigmoid modes).
    """
    H = c_prev.shape[0]
    if not keep_step:
        for j in range(H):
            c_new[j] = c_prev[j]
            h_new[j] = h_prev[j]
            out[j] = 0.0 if zero_out else prev_out[j]
        return
    if mode == MODE_FAST:
        for j in range(2 * H):
            z[j] = sigmoid32(z[j])
        # range(H) plus an offset, not range(2 * H, 3 * H): LLVM does not vectorise the latter.
        for j in range(H):
            z[2 * H + j] = tanh32(z[2 * H + j])
        for j in range(H):
            z[3 * H + j] = sigmoid32(z[3 * H + j])
        # Four short loops, not one: each touches at most three arrays, few enough for
        # LLVM's run-time alias checks, so each one vectorises.
        for j in range(H):
            c_new[j] = z[H + j] * c_prev[j] + z[j] * z[2 * H + j]
        for j in range(H):
            cs[j] = tanh32(c_new[j])
        for j in range(H):
            h_new[j] = z[3 * H + j] * cs[j]
        for j in range(H):
            out[j] = h_new[j]
    elif mode == MODE_EXACT:
        for j in range(2 * H):
            z[j] = apply_scalar(1, z[j])
        for j in range(H):
            z[2 * H + j] = apply_scalar(0, z[2 * H + j])
        for j in range(H):
            z[3 * H + j] = apply_scalar(1, z[3 * H + j])
        for j in range(H):
            c = z[H + j] * c_prev[j] + z[j] * z[2 * H + j]
            c_new[j] = c
            cs[j] = apply_scalar(0, c)
            h = z[3 * H + j] * cs[j]
            h_new[j] = h
            out[j] = h
    else:
        for j in range(H):
            c = apply_scalar(ract, z[H + j]) * c_prev[j] \
                + apply_scalar(ract, z[j]) * apply_scalar(act, z[2 * H + j])
            c_new[j] = c
            cs[j] = c
            h = apply_scalar(ract, z[3 * H + j]) * apply_scalar(act, c)
            h_new[j] = h
            out[j] = h


@njit(inline='always', **KJIT)
def cell_backward_row(d_out, d_prev_out, dh, dc, dh_pass, z, cs, c_prev, dz, keep_step,
                      zero_out, mode, act, ract, one):
    """Backward of :func:`cell_forward_row` for one row.

    In: d_out (H,) the loss gradient on this step's output; d_prev_out (H,) what later
    masked steps passed back to it (read, then reset); dh/dc (H,) gradients on the state
    this step produced. Out: dz (4H,); dc becomes the gradient on c_{t-1}; dh_pass (H,) the
    part of dh_{t-1} that does not go through ``dz @ U^T`` (the carried state of a masked step).
    ``one`` is 1 in the row's dtype (a bare 1.0 would promote float32 arithmetic to float64).
    """
    H = dh.shape[0]
    if not keep_step:
        for j in range(H):
            d_output = d_out[j] + d_prev_out[j]
            dh_pass[j] = dh[j]
            d_prev_out[j] = 0.0 if zero_out else d_output
        for j in range(4 * H):
            dz[j] = 0.0
        return
    if mode != MODE_GENERIC:
        for j in range(H):
            g_h = dh[j] + (d_out[j] + d_prev_out[j])
            i = z[j]
            f = z[H + j]
            g = z[2 * H + j]
            o = z[3 * H + j]
            tc = cs[j]
            g_c = dc[j] + g_h * o * (one - tc * tc)
            dz[j] = g_c * g * (i * (one - i))
            dz[H + j] = g_c * c_prev[j] * (f * (one - f))
            dz[2 * H + j] = g_c * i * (one - g * g)
            dz[3 * H + j] = g_h * tc * (o * (one - o))
            dc[j] = g_c * f
            dh_pass[j] = 0.0
            d_prev_out[j] = 0.0
    else:
        for j in range(H):
            g_h = dh[j] + (d_out[j] + d_prev_out[j])
            zi = z[j]
            zf = z[H + j]
            zc = z[2 * H + j]
            zo = z[3 * H + j]
            c = cs[j]
            g_c = dc[j] + g_h * apply_scalar(ract, zo) * derivative_scalar(act, c)
            dz[j] = g_c * apply_scalar(act, zc) * derivative_scalar(ract, zi)
            dz[H + j] = g_c * c_prev[j] * derivative_scalar(ract, zf)
            dz[2 * H + j] = g_c * apply_scalar(ract, zi) * derivative_scalar(act, zc)
            dz[3 * H + j] = g_h * apply_scalar(act, c) * derivative_scalar(ract, zo)
            dc[j] = g_c * apply_scalar(ract, zf)
            dh_pass[j] = 0.0
            d_prev_out[j] = 0.0
