"""The LSTM's Numba kernels for batches (16 rows and more): packed weights, one product a step.

Same equations as :mod:`lstm_np.ops.lstm` and the same element-wise step
(:mod:`lstm_np.kernels.lstm_cells`) as :mod:`lstm_np.kernels.lstm`; what differs is how
the matrix products are done, which is where a batch spends its time:

* **one product per step, on packed weights.** The gates are written as the textbook
  concatenation ``z_t = [W; U; b]^T [x_t; h_{t-1}; 1]``: the stacked weights and bias
  ``(F+H+1, 4H)`` are packed once per call (:func:`lstm_np.kernels.packed.pack_parallel`)
  and every step runs one register-blocked product
  (:func:`lstm_np.kernels.packed.gemm_packed`) on the column block ``[x_t; h_{t-1}; 1]``
  ``(F+H+1, nb)``. Backward likewise: one product ``[dx_t; dh_{t-1}] = [W; U] dz_t`` a step.
* **weight gradients in one GEMM.** The columns ``[x_t; h_{t-1}; 1]`` of every step are
  kept side by side, ``xh (F+H+1, T+1, nb)``, and ``dz`` as ``(4H, T, nb)``, so
  ``[dW; dU; db] = sum_t [x_t; h_{t-1}; 1] dz_t^T`` is one BLAS ``?gemm`` over ``T·nb``
  columns after the sweep, not ``T`` small ones (the row of ones sums ``dz`` into ``db``).
* **batch padded to the vector width.** Rows are columns here (``(·, nb)`` blocks), padded
  to a multiple of :func:`lstm_np.kernels.packed.lanes` with zeros; the padding's results
  are never read, and its gradients are zeroed before they reach the weight gradients.

* **threads.** Rows never interact, so a batch of 32 rows and more is split into row
  chunks that each run the whole time loop on their own (no synchronisation). A batch that
  is one chunk (16 rows and fewer) splits its *hidden units* instead, for inference with
  enough work a step (:data:`UNIT_SPLIT_MIN_STEP_WORK`): each thread packs and multiplies
  its units' columns of ``[W; U; b]`` and runs their cells, writes its rows of h_t into the
  shared column block, and waits at a barrier (:class:`lstm_np.kernels.threads.Barrier`)
  before the next step reads it. Training keeps one thread there (its cache is per chunk).

Only the plain call comes here (no mask, no dropout); :mod:`lstm_np.kernels.lstm` routes.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.core import config as numba_config

from . import threads
from .blas import gemm
from .lstm_cells import KJIT, cell_backward, cell_forward
from .packed import MR, gemm_packed, lanes, pack_parallel, pack_stacked, panels
from .threads import barrier_wait
from .vecmath import AVAILABLE as VECTOR_TILES
from .vecmath import transpose16

#: Rows per block of the transposing copies: one cache line of float32 a side.
_BLOCK = 16


@njit(inline="always", **KJIT)
def _rows_to_columns(x, t, xh, s):
    """``xh[f, s, b] = x[b, t, f]``: step t's inputs into the product's column block, in
    16 x 16 tiles (float32 with AVX-512: transposed in registers, ``vecmath.transpose16``)."""
    nb, _, F = x.shape
    b_full, f_full = 0, 0
    if VECTOR_TILES and x.itemsize == 4:
        b_full, f_full = nb - nb % _BLOCK, F - F % _BLOCK
        for b0 in range(0, b_full, _BLOCK):
            for f0 in range(0, f_full, _BLOCK):
                transpose16(x[b0:, t, f0:].ctypes.data, x.strides[0] // 4,
                            xh[f0:, s, b0:].ctypes.data, xh.strides[0] // 4, _BLOCK)
    for b0 in range(0, nb, _BLOCK):  # what the tiles left: a column or row edge, float64
        for f in range(F):
            if b0 < b_full and f < f_full:
                continue
            for b in range(b0, min(b0 + _BLOCK, nb)):
                xh[f, s, b] = x[b, t, f]


@njit(inline="always", **KJIT)
def _columns_to_rows(hn, out, t):
    """``out[b, t, j] = hn[j, b]`` in 16 x 16 tiles: both sides stay in 16 cache lines (a
    plain loop either way measured ~1 ns per element: one side strided through L2); float32
    with AVX-512 transposes them in registers (``vecmath.transpose16``)."""
    nb, _, H = out.shape
    j_full = 0
    if VECTOR_TILES and hn.itemsize == 4:
        j_full = H - H % _BLOCK
        for b0 in range(0, nb, _BLOCK):  # hn's padding columns exist: only stores are cut
            for j0 in range(0, j_full, _BLOCK):
                transpose16(hn[j0:, b0:].ctypes.data, hn.strides[0] // 4,
                            out[b0:, t, j0:].ctypes.data, out.strides[0] // 4,
                            min(_BLOCK, nb - b0))
    for b0 in range(0, nb, _BLOCK):
        for j0 in range(j_full, H, _BLOCK):
            for b in range(b0, min(b0 + _BLOCK, nb)):
                for j in range(j0, min(j0 + _BLOCK, H)):
                    out[b, t, j] = hn[j, b]


@njit(inline="always", **KJIT)
def _to_columns(rows, cols, j0, m):
    """``cols[r, b] = rows[b, j0 + r]`` for r < m and b < nb, the rest of ``cols`` zero: a
    state ``(nb, H)`` (or its units ``j0:j0+m``) into the kernels' ``(H, nbp)`` layout, with
    zero padding columns."""
    cols[:, :] = 0.0
    for r in range(m):
        for b in range(rows.shape[0]):
            cols[r, b] = rows[b, j0 + r]


@njit(inline="always", **KJIT)
def _to_rows(cols, rows, j0, m):
    """``rows[b, j0 + r] = cols[r, b]`` for r < m and b < nb: the inverse of
    :func:`_to_columns` (padding dropped)."""
    for b in range(rows.shape[0]):
        for r in range(m):
            rows[b, j0 + r] = cols[r, b]


@njit(inline="always", **KJIT)
def _start_columns(x, h0, xh):
    """Prepare the product's right operand ``xh (F+H+1, S, nbp)`` for a chunk: padding
    columns zero, the bias row ones, h0 into slot 0 and, when every step is kept
    (S = T+1), every x_t now. Returns whether it did the latter."""
    nb, T, F = x.shape
    H = xh.shape[0] - 1 - F
    xh[:, :, nb:] = 0.0  # padding columns: zero input and state
    xh[F + H] = 1.0  # the row that multiplies the bias
    _to_columns(h0, xh[F:F + H, 0], 0, H)
    keep_all = xh.shape[1] == T + 1
    if keep_all:
        for t in range(T):
            _rows_to_columns(x, t, xh, t)
    return keep_all


@njit(inline="always", **KJIT)
def _emit_state(hn, xh, s_next, out, t):
    """h_t (H, nbp) into the next step's columns and into the output rows."""
    F = xh.shape[0] - 1 - hn.shape[0]
    for j in range(hn.shape[0]):
        for b in range(hn.shape[1]):
            xh[F + j, s_next, b] = hn[j, b]
    _columns_to_rows(hn, out, t)


@njit(inline="always", **KJIT)
def _keep_gate_grads(dzt, dz, t, nb):
    """dz_t into ``dz (G, T, nbp)`` for the weight-gradient GEMM, padding columns zeroed
    first (they carry nothing back)."""
    for k in range(dzt.shape[0]):
        for b in range(nb, dzt.shape[1]):
            dzt[k, b] = 0.0
        for b in range(dzt.shape[1]):
            dz[k, t, b] = dzt[k, b]


@njit(inline="always", **KJIT)
def _emit_dx(dxh, dx, t):
    """dx_t: the first F rows of the backward product, back into (nb, T, F) rows."""
    for b in range(dx.shape[0]):
        for f in range(dx.shape[2]):
            dx[b, t, f] = dxh[f, b]


@njit(inline="always", **KJIT)
def _weight_gradients(xh, dz, dS):
    """``dS = xh[:, :T] dz^T`` over all T·nbp columns at once: (F+H+1, G) with the bias row
    of ones summing dz into the bias gradient."""
    G, T, nbp = dz.shape
    cols = T * nbp
    put = np.zeros(2, dz.dtype)  # gemm [alpha, beta] = [1, 0]
    put[0] = 1.0
    gemm(xh.reshape((xh.shape[0], xh.shape[1] * nbp))[:, :cols], dz.reshape((G, cols)), dS,
         False, True, put)


@njit(**KJIT)
def _forward_wide(x, ap, h0, c0, mode, act, ract, xh, z, cs, ch, hn, out, h_T, c_T):
    """One row chunk through all T steps.

    x (nb, T, F) the chunk's rows; ap the packed ``[W; U; b]^T`` (P, F+H+1, MR); h0/c0 (nb, H).
    Work: xh (F+H+1, S, nbp) the product's right operand, column slot ``t % S`` holding
    ``[x_t; h_{t-1}; 1]`` (S = T+1 keeps every step for backward, S = 2 alternates); z (T or 1,
    P·MR, nbp) the gates; cs (T or 1, H, nbp) tanh(c_t); ch (T+1 or 2, H, nbp) the cell
    states, slot ``t % len`` entering step t; hn (H, nbp) h_t as the cell writes it.
    Out: out (nb, T, H), h_T/c_T (nb, H).
    """
    nb, T, F = x.shape
    FH1, S, nbp = xh.shape
    H = FH1 - 1 - F
    H4 = 4 * H
    n = H * nbp
    nz, ncs, nch = z.shape[0], cs.shape[0], ch.shape[0]
    keep_all = _start_columns(x, h0, xh)
    _to_columns(c0, ch[0], 0, H)
    for t in range(T):
        s, s_next = t % S, (t + 1) % S
        if not keep_all:
            _rows_to_columns(x, t, xh, s)
        zt = z[t % nz]  # (P·MR, nbp); rows past 4H are the product's scratch
        gemm_packed(ap, xh[:, s, :], zt, False)  # z_t = [W; U; b]^T [x_t; h_{t-1}; 1]
        cell_forward(zt[:H4].reshape(4 * n), ch[t % nch].reshape(n), ch[(t + 1) % nch].reshape(n),
                     hn.reshape(n), cs[t % ncs].reshape(n), mode, act, ract)
        _emit_state(hn, xh, s_next, out, t)
    _to_rows(hn if T > 0 else xh[F:F + H, 0], h_T, 0, H)
    _to_rows(ch[T % nch], c_T, 0, H)
    if keep_all:  # padding columns must not reach the weight gradients (0 * inf = nan)
        xh[:, :, nb:] = 0.0


@njit(**KJIT)
def _backward_wide(d_out, dh_T, dc_T, ap2, F, z, cs, ch, xh, mode, act, ract, dzt, dz, dxh,
                   dc, dc_new, d_o, dx, dh0, dc0, dWUb):
    """BPTT for one row chunk of :func:`_forward_wide` (kept with S = T+1).

    ap2 the packed ``[W; U]`` (P2, 4H, MR). Work: dzt (4H, nbp) dz_t; dz (4H, T, nbp) every
    dz_t; dxh (P2·MR, nbp) ``[dx_t; dh_{t-1}]`` (rows F:F+H are dh); dc, dc_new, d_o (H, nbp).
    Out: dx (nb, T, F), dh0/dc0 (nb, H), this chunk's ``[dW; dU; db]`` (F+H+1, 4H).
    """
    nb, T, H = d_out.shape
    H4 = 4 * H
    nbp = dz.shape[2]
    n = H * nbp
    dt = dz.dtype
    one = np.ones(1, dt)[0]
    dh = dxh[F:F + H]  # (H, nbp): the product writes dh_{t-1} here
    _to_columns(dh_T, dh, 0, H)
    _to_columns(dc_T, dc, 0, H)
    d_o[:, :] = 0.0
    no_prev = np.zeros(n, dt)  # what masked steps pass back: nothing, unmasked
    dhf, dcf, dzf = dh.reshape(n), dc.reshape(n), dzt.reshape(4 * n)
    for t in range(T - 1, -1, -1):
        for b in range(nb):
            for j in range(H):
                d_o[j, b] = d_out[b, t, j]
        cell_backward(d_o.reshape(n), no_prev, dhf, dcf, z[t][:H4].reshape(4 * n),
                      cs[t].reshape(n), ch[t].reshape(n), dzf, dc_new.reshape(n), mode, act,
                      ract, one)
        dc[:, :] = dc_new
        _keep_gate_grads(dzt, dz, t, nb)
        gemm_packed(ap2, dzt, dxh, False)  # [dx_t; dh_{t-1}] = [W; U] dz_t
        _emit_dx(dxh, dx, t)
    _to_rows(dh, dh0, 0, H)
    _to_rows(dc, dc0, 0, H)
    # [dW; dU; db] = sum over steps and rows of [x_t; h_{t-1}; 1] dz_t^T: one GEMM.
    _weight_gradients(xh, dz, dWUb)


@njit(**KJIT)
def _forward_units(xh, W, U, bias, j0, j1, c0, mode, act, ract, ap, z, c, hl, cs, out, h_T, c_T,
                   counter, abort, n_threads):
    """Hidden units ``j0:j1`` of one row chunk through all T steps, while other threads do
    the other units (inference; :func:`_forward_split_units`).

    xh (F+H+1, T+1, nbp) shared: slot t is ``[x_t; h_{t-1}; 1]``, every x_t and h0 already
    in; each thread writes its units' rows of h_t into slot t+1, then waits at the barrier
    (``counter``/``abort``: :class:`lstm_np.kernels.threads.Barrier`) before step t+1 reads
    it. This thread's own work: ap (4·Pg, F+H+1, MR) its packed columns of ``[W; U; b]``,
    gate g's units in panels ``g·Pg:(g+1)·Pg`` (so z (4·Pg·MR, nbp) holds the four gates as
    blocks of Pg·MR rows, what the cell expects); c (2, Pg·MR, nbp), hl (Pg·MR, nbp) h_t,
    cs (Pg·MR, nbp). Rows past ``j1 - j0`` are zero weights: their gates are never read.
    """
    _, T, H = out.shape
    F = xh.shape[0] - 1 - H
    m = j1 - j0
    Pg = ap.shape[0] // 4
    R = hl.shape[0]
    n = R * hl.shape[1]
    for g in range(4):  # this thread's panels, packed here: in parallel with the others
        a, e = g * H + j0, g * H + j1
        pack_stacked(W[:, a:e], U[:, a:e], bias[:, a:e], ap[g * Pg:(g + 1) * Pg], True, 0, Pg)
    _to_columns(c0, c[0], j0, m)
    for t in range(T):
        gemm_packed(ap, xh[:, t, :], z, False)  # this thread's gates of step t
        cell_forward(z[:4 * R].reshape(4 * n), c[t % 2].reshape(n), c[(t + 1) % 2].reshape(n),
                     hl.reshape(n), cs.reshape(n), mode, act, ract)
        xh[F + j0:F + j1, t + 1] = hl[:m]  # h_t's rows for the next step (all threads')
        _columns_to_rows(hl[:m], out[:, :, j0:j1], t)
        barrier_wait(counter, abort, n_threads * (t + 1))  # slot t+1 complete
    _to_rows(hl, h_T, j0, m)
    _to_rows(c[T % 2], c_T, j0, m)


# ----------------------------------------------------------------------------- entry points

#: Inference on a single row chunk (batch <= 16) splits the hidden units between threads
#: from this many multiply-adds a step: the threads then meet at a barrier every step
#: (~1 us), which a smaller step would not repay.
UNIT_SPLIT_MIN_STEP_WORK = 1_000_000
#: Units per thread at least.
UNIT_SPLIT_MIN_UNITS = 16


def unit_threads(rows, F, H, dt):
    """Threads that share the hidden units of an inference call of ``rows`` rows (padded to
    the vector width) when the batch is one chunk; 1 when not worth it or not possible
    (no SciPy OpenBLAS to pin, or NUMBA_DISABLE_JIT: the jobs would run one after the other
    and the first would wait at the barrier forever)."""
    nbp = _round_up(rows, lanes(dt))
    if (numba_config.DISABLE_JIT or threads._OPENBLAS is None
            or 4 * H * (F + H + 1) * nbp < UNIT_SPLIT_MIN_STEP_WORK):
        return 1
    return max(1, min(threads.numba.get_num_threads(), H // UNIT_SPLIT_MIN_UNITS))


def _forward_split_units(x, W, U, b, has_bias, h0, c0, mode, act, ract, scratch, n):
    """Inference with the hidden units split between ``n`` threads (one row chunk)."""
    dt = x.dtype
    B, T, F = x.shape
    H = U.shape[0]
    nbp = _round_up(B, lanes(dt))
    xh = scratch("uxh", 0, (F + H + 1, T + 1, nbp), dt)
    _start_columns(x, h0, xh)  # padding, bias row, h0 and every x_t
    bias = b.reshape(1, 4 * H) if has_bias else np.zeros((1, 4 * H), dt)
    out = np.empty((B, T, H), dt)  # (B, T, H)
    h_T = np.empty((B, H), dt)
    c_T = np.empty((B, H), dt)
    bar = threads.Barrier()
    jobs = []
    for k in range(n):
        j0, j1 = k * H // n, (k + 1) * H // n
        Pg = -(-(j1 - j0) // MR)
        R = Pg * MR
        jobs.append((xh, W, U, bias, j0, j1, c0, mode, act, ract,
                     scratch("uap", k, (4 * Pg, F + H + 1, MR), dt),
                     scratch("uz", k, (4 * R, nbp), dt), scratch("uc", k, (2, R, nbp), dt),
                     scratch("uh", k, (R, nbp), dt), scratch("ucs", k, (R, nbp), dt),
                     out, h_T, c_T, bar.counter, bar.abort, n))
    bar.run(_forward_units, jobs)
    return out, h_T, c_T, None


class WideSteps:
    """The training cache of :func:`forward`: per row chunk ``(b0, b1, z, cs, ch, xh)``."""

    def __init__(self, chunks):
        self.chunks = chunks


def _round_up(n, m):
    return -(-n // m) * m


def _held(workspace, tag, chunk, shape, dt):
    """A training buffer: fresh, or the one ``workspace`` held from the last call."""
    if workspace is None:
        return np.empty(shape, dt)
    key = (tag, chunk)
    buf = workspace.get(key)
    if buf is None or buf.shape != shape or buf.dtype != dt:
        buf = workspace[key] = np.empty(shape, dt)
    return buf


def forward(x, W, U, b, has_bias, h0, c0, mode, act, ract, keep, scratch, workspace=None):
    """All rows, all steps; arguments already contiguous in one dtype (kernels/lstm.py).
    ``scratch(tag, chunk, shape, dtype)`` hands out reusable buffers; ``workspace`` (a dict
    or None) holds the training cache's buffers from call to call (see ``lstm_forward``)."""
    dt = x.dtype
    B, T, F = x.shape
    H = U.shape[0]
    L = lanes(dt)
    ap = panels(4 * H, F + H + 1, dt, scratch)  # (P, F+H+1, MR): [W; U; b]^T
    pack_parallel(W, U, b.reshape(1, 4 * H) if has_bias else np.zeros((1, 4 * H), dt), ap, True)
    Mp = ap.shape[0] * ap.shape[2]
    out = np.empty((B, T, H), dt)  # (B, T, H)
    h_T = np.empty((B, H), dt)
    c_T = np.empty((B, H), dt)
    S = T + 1 if keep else 2
    split = threads.split_aligned(B, T * B * H * 4 * (H + F), L)
    if not keep and len(split) == 1 and T > 0:
        n = unit_threads(B, F, H, dt)
        if n > 1:
            return _forward_split_units(x, W, U, b, has_bias, h0, c0, mode, act, ract, scratch,
                                        n)
    jobs, chunks = [], []
    for b0, b1 in split:
        nbp = _round_up(b1 - b0, L)
        if keep:  # the training cache: it outlives the call
            xh = _held(workspace, "xh", b0, (F + H + 1, S, nbp), dt)  # (F+H+1, T+1, nbp)
            z = _held(workspace, "z", b0, (T, Mp, nbp), dt)  # (T, P·MR, nbp)
            cs = _held(workspace, "cs", b0, (T, H, nbp), dt)  # (T, H, nbp)
            ch = _held(workspace, "ch", b0, (S, H, nbp), dt)  # (T+1, H, nbp)
            chunks.append((b0, b1, z, cs, ch, xh))
        else:
            xh = scratch("wxh", b0, (F + H + 1, S, nbp), dt)
            z = scratch("wz", b0, (1, Mp, nbp), dt)
            cs = scratch("wcs", b0, (1, H, nbp), dt)
            ch = scratch("wch", b0, (S, H, nbp), dt)
        hn = scratch("whn", b0, (H, nbp), dt)
        jobs.append((x[b0:b1], ap, h0[b0:b1], c0[b0:b1], mode, act, ract, xh, z, cs, ch, hn,
                     out[b0:b1], h_T[b0:b1], c_T[b0:b1]))
    threads.run(_forward_wide, jobs)
    return out, h_T, c_T, (WideSteps(chunks) if keep else None)


def backward(d_outputs, dh_T, dc_T, x, W, U, cache, mode, act, ract, scratch):
    """Backward of :func:`forward`: ``dx, dW, dU, db, dh0, dc0``."""
    dt = x.dtype
    B, T, F = x.shape
    H = U.shape[0]
    ap2 = panels(F + H, 4 * H, dt, scratch, "ap2")  # (P2, 4H, MR): [W; U]
    pack_parallel(W, U, W[:0], ap2, False)
    Mp2 = ap2.shape[0] * ap2.shape[2]
    dx = np.empty((B, T, F), dt)  # (B, T, F)
    dh0 = np.empty((B, H), dt)
    dc0 = np.empty((B, H), dt)
    jobs, grads = [], []
    for b0, b1, z, cs, ch, xh in cache.chunks:
        nbp = xh.shape[2]
        g = np.empty((F + H + 1, 4 * H), dt)  # [dW; dU; db]
        grads.append(g)
        jobs.append((d_outputs[b0:b1], dh_T[b0:b1], dc_T[b0:b1], ap2, F, z, cs, ch, xh, mode,
                     act, ract, scratch("wdzt", b0, (4 * H, nbp), dt),
                     scratch("wdz", b0, (4 * H, T, nbp), dt),
                     scratch("wdxh", b0, (Mp2, nbp), dt), scratch("wdc", b0, (H, nbp), dt),
                     scratch("wdcn", b0, (H, nbp), dt), scratch("wdo", b0, (H, nbp), dt),
                     dx[b0:b1], dh0[b0:b1], dc0[b0:b1], g))
    threads.run(_backward_wide, jobs)
    dWUb = grads[0]
    for g in grads[1:]:
        dWUb += g
    return dx, dWUb[:F].copy(), dWUb[F:F + H].copy(), dWUb[F + H].copy(), dh0, dc0
