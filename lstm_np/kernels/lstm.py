"""Numba kernels for the LSTM: the whole time loop, forward and BPTT, in compiled code.

Private ``_...`` kernels behind two entry points, :func:`forward` and :func:`backward`,
that :mod:`lstm_np.kernels.api` calls. The equations are those
of :mod:`lstm_np.ops.lstm`, the masking rules those of :mod:`lstm_np.ops.recurrence`; the
element-wise step is :mod:`lstm_np.kernels.lstm_cells`.

A plain call (no mask, no dropout) of :data:`WIDE_MIN_ROWS` rows or more goes to
:mod:`lstm_np.kernels.lstm_wide` instead: packed weights and one register-blocked product
per step (:mod:`lstm_np.kernels.packed`). What stays here: small batches (batch 1: the
classic stateful loop, long streams), masks and dropout.

Where the time goes, and what is done about it:

* matrix products: each one is a direct BLAS ``?gemm`` on strided views
  (:func:`lstm_np.kernels.blas.gemm`) that accumulates in place (``z_t += U^T h_{t-1}``):
  nothing copied or allocated per step; the input projection and the weight gradients are
  hoisted out of the time loop when a chunk has one row (one GEMM each);
* layout: transposed and gate-major, ``z (T, 4H, nb)``, states ``(H, nb)``: one GEMM per
  step writes all four gates, and each gate of each step is one contiguous run of H·nb
  numbers, so the element-wise loops vectorise whatever B and H are;
* batch rows are independent through the whole recurrence: a large batch is split into
  row chunks that each run the *entire* time loop in their own thread (Python threads;
  the kernels release the GIL), with BLAS on one thread: no synchronisation per step, no
  spinning thread pools competing for the cores (see :mod:`lstm_np.kernels.threads`);
* transcendentals: vectorised float32 approximations (``LSTM_NP_FAST_MATH``).

Training cache (``steps``), per chunk and per B·T·H element: gates (4) + tanh(c_t) (1) +
the state history h, c (2) = 7 floats, plus the input.
"""

from __future__ import annotations

import threading

import numpy as np
from numba import njit

from .. import config
from . import lstm_wide, threads
from .blas import gemm
from .lstm_cells import (
    KJIT,
    MODE_EXACT,
    MODE_FAST,
    MODE_GENERIC,
    cell_backward,
    cell_backward_skipped,
    cell_forward,
)


@njit(**KJIT)
def _forward_chunk(x, W, U, bias, has_bias, mask, has_mask, zero_out, dp, has_dp, rdp,
                   has_rdp, mode, act, ract, h0, c0, z, cs, hh, ch, out, h_T, c_T):
    """One row chunk through all T steps.

    x (nb, T, F), mask (nb, T), dp (G, nb, F), rdp (G, nb, H), h0/c0 (nb, H).
    Out: z (T, 4H, nb) gates, cs (T or 1, H, nb), hh/ch (S, H, nb) the states (slot t % S
    enters step t; S = T+1 keeps them all), out (nb, T, H), h_T/c_T (nb, H).
    """
    nb, T, F = x.shape
    H = U.shape[0]
    H4 = 4 * H
    n = H * nb
    S, n_cs = hh.shape[0], cs.shape[0]
    dt = z.dtype
    acc = np.ones(2, dt)  # gemm [alpha, beta] = [1, 1]: accumulate into C
    for j in range(H):
        for b in range(nb):
            hh[0, j, b] = h0[b, j]
            ch[0, j, b] = c0[b, j]
    # Input projection z_t = W^T x_t + b for every step, before the sequential part.
    for t in range(T):
        for k in range(H4):
            for b in range(nb):
                z[t, k, b] = bias[k] if has_bias else 0.0
    if not has_dp and nb == 1:
        gemm(x[0], W, z.reshape((T, H4)), False, False, acc)  # one (T, F) @ (F, 4H)
    elif not has_dp:
        for t in range(T):
            gemm(W, x[:, t, :], z[t], True, True, acc)  # (4H, F) @ (F, nb)
    else:
        Gd = dp.shape[0]
        Hd = H4 // Gd
        xd = np.empty((nb, F), dt)  # (nb, F) dropped-out x_t
        for t in range(T):
            for g in range(Gd):
                for b in range(nb):
                    for f in range(F):
                        xd[b, f] = x[b, t, f] * dp[g, b, f]
                gemm(W[:, g * Hd:(g + 1) * Hd], xd, z[t, g * Hd:(g + 1) * Hd], True, True, acc)
    Gr = rdp.shape[0]
    Hr = H4 // Gr
    hr = np.empty((H if has_rdp else 0, nb), dt)  # (H, nb) dropped-out h
    for t in range(T):
        cur, nxt = t % S, (t + 1) % S
        if not has_rdp:
            gemm(U, hh[cur], z[t], True, False, acc)  # z_t += U^T h_{t-1}: (4H, H) @ (H, nb)
        else:
            for g in range(Gr):
                for j in range(H):
                    for b in range(nb):
                        hr[j, b] = hh[cur, j, b] * rdp[g, b, j]
                gemm(U[:, g * Hr:(g + 1) * Hr], hr, z[t, g * Hr:(g + 1) * Hr], True, False, acc)
        cell_forward(z[t].reshape(4 * n), ch[cur].reshape(n), ch[nxt].reshape(n),
                     hh[nxt].reshape(n), cs[t % n_cs].reshape(n), mode, act, ract)
        for b in range(nb):
            if has_mask and not mask[b, t]:  # skipped step: carry the state (Keras)
                for j in range(H):
                    ch[nxt, j, b] = ch[cur, j, b]
                    hh[nxt, j, b] = hh[cur, j, b]
                    out[b, t, j] = 0.0 if (zero_out or t == 0) else out[b, t - 1, j]
            else:
                for j in range(H):
                    out[b, t, j] = hh[nxt, j, b]
    for b in range(nb):
        for j in range(H):
            h_T[b, j] = hh[T % S, j, b]
            c_T[b, j] = ch[T % S, j, b]


@njit(**KJIT)
def _backward_chunk(d_out, dh_T, dc_T, x, W, U, z, cs, hh, ch, mask, has_mask, zero_out, dp,
                    has_dp, rdp, has_rdp, mode, act, ract, dz, dx, dh0, dc0, dW, dU, db):
    """BPTT for one row chunk. Out: dz (T, 4H, nb), dx (nb, T, F), dh0/dc0 (nb, H), and this
    chunk's share of dW (F, 4H), dU (H, 4H), db (4H,)."""
    nb, T, F = x.shape
    H = U.shape[0]
    H4 = 4 * H
    n = H * nb
    dt = z.dtype
    acc = np.ones(2, dt)
    put = np.zeros(2, dt)  # gemm [alpha, beta] = [1, 0]: overwrite C
    put[0] = 1.0
    one = acc[0]
    dh = np.empty((H, nb), dt)  # (H, nb)
    dc = np.empty((H, nb), dt)  # (H, nb)
    for j in range(H):
        for b in range(nb):
            dh[j, b] = dh_T[b, j]
            dc[j, b] = dc_T[b, j]
    dhf, dcf = dh.reshape(n), dc.reshape(n)
    dc_new = np.empty(n, dt)
    d_prev = np.zeros(n, dt)  # gradient handed back to the previous output by masked steps
    d_prev_new = np.zeros(n, dt)
    dh_pass = np.zeros((H, nb), dt)  # dh_{t-1} that bypasses dz U^T (carried state)
    dpf = dh_pass.reshape(n)
    d_o = np.empty(n, dt)
    Gr = rdp.shape[0]
    Hr = H4 // Gr
    tmp = np.empty((H if has_rdp else 0, nb), dt)
    for t in range(T - 1, -1, -1):
        for j in range(H):
            for b in range(nb):
                d_o[j * nb + b] = d_out[b, t, j]
        dzf, zf, csf, cpf = dz[t].reshape(4 * n), z[t].reshape(4 * n), cs[t].reshape(n), \
            ch[t].reshape(n)
        cell_backward(d_o, d_prev, dhf, dcf, zf, csf, cpf, dzf, dc_new, mode, act, ract, one)
        if has_mask:
            for b in range(nb):
                if not mask[b, t]:  # skipped step: the state's gradients pass through it
                    for j in range(H):
                        e = j * nb + b
                        dpf[e] = dhf[e]
                        d_prev_new[e] = 0.0 if zero_out else d_o[e] + d_prev[e]
                        dc_new[e] = dcf[e] + cell_backward_skipped(e, zf, csf, cpf, dzf, mode,
                                                                   act, ract, one)
        for e in range(n):
            dcf[e] = dc_new[e]
            d_prev[e] = d_prev_new[e]
            dhf[e] = dpf[e]
        if has_mask:
            for e in range(n):
                dpf[e] = 0.0
                d_prev_new[e] = 0.0
        if not has_rdp:
            gemm(U, dz[t], dh, False, False, acc)  # dh_{t-1} += U dz_t: (H, 4H) @ (4H, nb)
        else:
            for g in range(Gr):
                gemm(U[:, g * Hr:(g + 1) * Hr], dz[t, g * Hr:(g + 1) * Hr], tmp, False, False,
                     put)
                for j in range(H):
                    for b in range(nb):
                        dh[j, b] += tmp[j, b] * rdp[g, b, j]
    for b in range(nb):
        for j in range(H):
            dh0[b, j] = dh[j, b]
            dc0[b, j] = dc[j, b]
    # Parameter gradients and dx: sums over steps, after the sequential sweep.
    for k in range(H4):
        s = dz[0, k, 0] - dz[0, k, 0]
        for t in range(T):
            for b in range(nb):
                s += dz[t, k, b]
        db[k] = s
    if nb == 1 and not has_dp and not has_rdp:
        dz2 = dz.reshape((T, H4))  # (T, 4H)
        gemm(x[0], dz2, dW, True, False, put)  # (F, T) @ (T, 4H)
        gemm(hh.reshape((hh.shape[0], H))[:T], dz2, dU, True, False, put)  # (H, T) @ (T, 4H)
        gemm(dz2, W, dx[0], False, True, put)  # (T, 4H) @ (4H, F)
        return
    dW[:, :] = 0.0
    dU[:, :] = 0.0
    Gd = dp.shape[0]
    Hd = H4 // Gd
    xd = np.empty((nb if has_dp else 0, F), dt)
    hr = np.empty((H if has_rdp else 0, nb), dt)
    for t in range(T):
        dzt = dz[t]  # (4H, nb)
        if not has_dp:
            gemm(x[:, t, :], dzt, dW, True, True, acc)  # (F, nb) @ (nb, 4H)
            gemm(dzt, W, dx[:, t, :], True, True, put)  # (nb, 4H) @ (4H, F)
        else:
            dx[:, t, :] = 0.0
            for g in range(Gd):
                for b in range(nb):
                    for f in range(F):
                        xd[b, f] = x[b, t, f] * dp[g, b, f]
                gemm(xd, dzt[g * Hd:(g + 1) * Hd], dW[:, g * Hd:(g + 1) * Hd], True, True, acc)
                gemm(dzt[g * Hd:(g + 1) * Hd], W[:, g * Hd:(g + 1) * Hd], xd, True, True, put)
                for b in range(nb):
                    for f in range(F):
                        dx[b, t, f] += xd[b, f] * dp[g, b, f]
        if not has_rdp:
            gemm(hh[t], dzt, dU, False, True, acc)  # (H, nb) @ (nb, 4H)
        else:
            for g in range(Gr):
                for j in range(H):
                    for b in range(nb):
                        hr[j, b] = hh[t, j, b] * rdp[g, b, j]
                gemm(hr, dzt[g * Hr:(g + 1) * Hr], dU[:, g * Hr:(g + 1) * Hr], False, True, acc)


@njit(**KJIT)
def _forward_simple(x, W, U, bias, has_bias, h0, c0, mode, act, ract, out, h_T, c_T, z, cs, hh,
                    ch):
    """The common call (no mask, no dropout, one chunk) with few arguments: at batch 1 the
    call itself is what costs most (Numba unboxes every argument, and boxing a returned
    array unpickles its dtype, so outputs come in preallocated and nothing is returned).
    Inference passes z, cs, hh, ch as None and they are allocated here."""
    nb, T, F = x.shape
    H = U.shape[0]
    dt = x.dtype
    if z is None:  # one allocation, four views: at batch 1 each allocation counts
        n = H * nb
        buf = np.empty(T * 4 * n + 5 * n, dt)
        z2 = buf[:T * 4 * n].reshape((T, 4 * H, nb))  # (T, 4H, nb)
        cs2 = buf[T * 4 * n:T * 4 * n + n].reshape((1, H, nb))
        hh2 = buf[T * 4 * n + n:T * 4 * n + 3 * n].reshape((2, H, nb))  # ping-pong
        ch2 = buf[T * 4 * n + 3 * n:].reshape((2, H, nb))
    else:
        z2, cs2, hh2, ch2 = z, cs, hh, ch
    no_mask = np.ones((1, 1), np.bool_)
    no_drop = np.ones((1, 1, 1), dt)
    _forward_chunk(x, W, U, bias, has_bias, no_mask, False, False, no_drop, False, no_drop,
                   False, mode, act, ract, h0, c0, z2, cs2, hh2, ch2, out, h_T, c_T)


@njit(**KJIT)
def _backward_simple(d_out, dh_T, dc_T, x, W, U, z, cs, hh, ch, mode, act, ract, dz, dx, dh0,
                     dc0, dW, dU, db):
    """Backward of :func:`_forward_simple`, results into the given arrays."""
    dt = x.dtype
    no_mask = np.ones((1, 1), np.bool_)
    no_drop = np.ones((1, 1, 1), dt)
    _backward_chunk(d_out, dh_T, dc_T, x, W, U, z, cs, hh, ch, no_mask, False, False, no_drop,
                    False, no_drop, False, mode, act, ract, dz, dx, dh0, dc0, dW, dU, db)


# ----------------------------------------------------------------------------- entry points

#: From this many rows a plain call (no mask, no dropout) runs :mod:`lstm_wide`'s kernels:
#: packed weights and a register-blocked product per step. Below it (a batch of a few
#: rows) one vector's width of padding would be mostly waste, and BLAS's GEMV/GEMM win.
WIDE_MIN_ROWS = 16
#: Inference on 4-15 rows goes there too from this many units, padded to 16 rows with the
#: units split between threads: measured (2 cores, T = 50, F = 32) at B = 4 / 8, H = 512
#: 15.3 / 16.8 ms -> 8.3 / 8.5 ms, H = 256 3.1 / 3.7 -> 2.6 / 2.6 ms, but H = 128
#: 0.32 / 0.58 -> 0.92 / 0.94 ms (BLAS's repacking of U each step matters from H = 256).
WIDE_SMALL_BATCH_MIN_ROWS, WIDE_SMALL_BATCH_MIN_UNITS = 4, 256

_NO_MASK = np.ones((1, 1), dtype=np.bool_)
_NO_DROP = {np.dtype(d): np.ones((1, 1, 1), dtype=d) for d in ("float32", "float64")}


#: Buffers that never leave a call (inference gates, backward dz) are kept per thread and
#: reused from this size on: a fresh 100 MB array costs ~11 ms of page faults per call, and
#: glibc serves blocks from 128 KB with fresh pages (small: 0.8 MB dz cost ~0.3 ms a call).
_SCRATCH_MIN_BYTES = 1 << 16
_local = threading.local()


def _scratch(tag, chunk, shape, dt):
    """A reusable (per thread, per tag and chunk) buffer of ``shape``, or a fresh one when
    small. The memory stays held between calls: that is the point."""
    size = 1
    for d in shape:
        size *= d
    if size * dt.itemsize < _SCRATCH_MIN_BYTES:
        return np.empty(shape, dt)
    pool = _local.__dict__.setdefault("pool", {})
    key = (tag, chunk, dt.str)
    buf = pool.get(key)
    if buf is None or buf.size < size:
        buf = pool[key] = np.empty(size, dt)
    return buf[:size].reshape(shape)


def _mode(act_id, ract_id, dtype):
    if act_id != 0 or ract_id != 1:
        return MODE_GENERIC
    return MODE_FAST if (config.FAST_MATH and dtype.itemsize == 4) else MODE_EXACT


def _rows(a, b0, b1, axis=0):
    """Rows b0:b1 of a per-sample array as a contiguous block (a copy only when needed)."""
    if a.shape[axis] == 1 and axis == 0 and b1 - b0 != 1:  # a dummy (no mask)
        return a
    return np.ascontiguousarray(a[b0:b1] if axis == 0 else a[:, b0:b1])


def forward(x, kernel, recurrent_kernel, bias, h0, c0, mask, zero_output_for_mask,
            dropout_mask, recurrent_dropout_mask, act_id, ract_id, keep, workspace=None):
    """Called by :func:`lstm_np.kernels.api.lstm_forward`."""
    dt = x.dtype
    B, T, F = x.shape
    H = recurrent_kernel.shape[0]
    x = np.ascontiguousarray(x)
    W = np.ascontiguousarray(kernel, dtype=dt)
    U = np.ascontiguousarray(recurrent_kernel, dtype=dt)
    has_bias = bias is not None
    b = np.ascontiguousarray(bias, dtype=dt) if has_bias else U[0]
    h0 = np.ascontiguousarray(h0, dtype=dt)
    c0 = np.ascontiguousarray(c0, dtype=dt)
    mode = _mode(act_id, ract_id, dt)
    plain = mask is None and dropout_mask is None and recurrent_dropout_mask is None
    if plain and (B >= WIDE_MIN_ROWS or (
            not keep and B >= WIDE_SMALL_BATCH_MIN_ROWS and H >= WIDE_SMALL_BATCH_MIN_UNITS
            and lstm_wide.unit_threads(B, F, H, dt) > 1)):
        return lstm_wide.forward(x, W, U, b, has_bias, h0, c0, mode, act_id, ract_id, keep,
                                 _scratch, workspace)
    work = T * B * H * 4 * (H + F)
    if plain and len(threads.split(B, work)) == 1:
        out = np.empty((B, T, H), dt)  # (B, T, H)
        h_T = np.empty((B, H), dt)
        c_T = np.empty((B, H), dt)
        if not keep:
            if T * 4 * H * B * dt.itemsize < _SCRATCH_MIN_BYTES:  # allocated in the kernel
                _forward_simple(x, W, U, b, has_bias, h0, c0, mode, act_id, ract_id, out, h_T,
                                c_T, None, None, None, None)
            else:
                _forward_simple(x, W, U, b, has_bias, h0, c0, mode, act_id, ract_id, out, h_T,
                                c_T, _scratch("z", 0, (T, 4 * H, B), dt),
                                _scratch("cs", 0, (1, H, B), dt),
                                _scratch("hh", 0, (2, H, B), dt), _scratch("ch", 0, (2, H, B), dt))
            return out, h_T, c_T, None
        z = np.empty((T, 4 * H, B), dt)  # (T, 4H, B)
        cs = np.empty((T, H, B), dt)  # (T, H, B)
        hh = np.empty((T + 1, H, B), dt)  # (T+1, H, B)
        ch = np.empty((T + 1, H, B), dt)  # (T+1, H, B)
        _forward_simple(x, W, U, b, has_bias, h0, c0, mode, act_id, ract_id, out, h_T, c_T, z,
                        cs, hh, ch)
        return out, h_T, c_T, [(0, B, z, cs, hh, ch)]
    has_mask, has_dp, has_rdp = mask is not None, dropout_mask is not None, \
        recurrent_dropout_mask is not None
    m = np.ascontiguousarray(mask, dtype=np.bool_) if has_mask else _NO_MASK
    nd = _NO_DROP[dt]
    dp = np.asarray(dropout_mask, dtype=dt) if has_dp else nd
    rdp = np.asarray(recurrent_dropout_mask, dtype=dt) if has_rdp else nd
    zero_out = bool(zero_output_for_mask)
    S = T + 1 if keep else 2
    out = np.empty((B, T, H), dt)  # (B, T, H)
    h_T = np.empty((B, H), dt)
    c_T = np.empty((B, H), dt)
    jobs, chunks = [], []
    for b0, b1 in threads.split(B, work):
        nb = b1 - b0
        if keep:  # the training cache: fresh arrays, they outlive the call
            z = np.empty((T, 4 * H, nb), dt)  # (T, 4H, nb)
            cs = np.empty((T, H, nb), dt)  # (T, H, nb)
            hh = np.empty((S, H, nb), dt)  # (S, H, nb)
            ch = np.empty((S, H, nb), dt)  # (S, H, nb)
        else:
            z = _scratch("z", b0, (T, 4 * H, nb), dt)
            cs = _scratch("cs", b0, (1, H, nb), dt)
            hh = _scratch("hh", b0, (S, H, nb), dt)
            ch = _scratch("ch", b0, (S, H, nb), dt)
        chunks.append((b0, b1, z, cs, hh, ch))
        jobs.append((x[b0:b1], W, U, b, has_bias, _rows(m, b0, b1) if has_mask else m,
                     has_mask, zero_out, _rows(dp, b0, b1, 1) if has_dp else dp, has_dp,
                     _rows(rdp, b0, b1, 1) if has_rdp else rdp, has_rdp, mode, act_id, ract_id,
                     h0[b0:b1], c0[b0:b1], z, cs, hh, ch, out[b0:b1], h_T[b0:b1], c_T[b0:b1]))
    threads.run(_forward_chunk, jobs)
    return out, h_T, c_T, (chunks if keep else None)


def backward(d_outputs, dh_T, dc_T, cache):
    """Called by :func:`lstm_np.kernels.api.lstm_backward`."""
    x = cache.x
    dt = x.dtype
    B, T, F = x.shape
    H = cache.recurrent_kernel.shape[0]
    W = np.ascontiguousarray(cache.kernel, dtype=dt)
    U = np.ascontiguousarray(cache.recurrent_kernel, dtype=dt)
    act, ract = cache.activation.id, cache.recurrent_activation.id
    mode = _mode(act, ract, dt)
    d_outputs = np.ascontiguousarray(d_outputs, dtype=dt)
    dh_T = np.ascontiguousarray(dh_T, dtype=dt)
    dc_T = np.ascontiguousarray(dc_T, dtype=dt)
    if B == 0:  # an empty batch (Keras accepts it): nothing flows, and no kernel may index
        zeros = np.zeros
        return (zeros((0, T, F), dt), zeros((F, 4 * H), dt), zeros((H, 4 * H), dt),
                zeros(4 * H, dt), zeros((0, H), dt), zeros((0, H), dt))
    if isinstance(cache.steps, lstm_wide.WideSteps):
        return lstm_wide.backward(d_outputs, dh_T, dc_T, x, W, U, cache.steps, mode, act, ract,
                                  _scratch)
    dx = np.empty((B, T, F), dt)  # (B, T, F)
    dh0 = np.empty((B, H), dt)
    dc0 = np.empty((B, H), dt)
    has_mask = cache.mask is not None
    has_dp = cache.dropout_mask is not None
    has_rdp = cache.recurrent_dropout_mask is not None
    if not (has_mask or has_dp or has_rdp) and len(cache.steps) == 1:
        _, _, z, cs, hh, ch = cache.steps[0]
        dW, dU, db = np.empty((F, 4 * H), dt), np.empty((H, 4 * H), dt), np.empty(4 * H, dt)
        _backward_simple(d_outputs, dh_T, dc_T, x, W, U, z, cs, hh, ch, mode, act, ract,
                         _scratch("dz", 0, z.shape, dt), dx, dh0, dc0, dW, dU, db)
        return dx, dW, dU, db, dh0, dc0
    m = np.ascontiguousarray(cache.mask, dtype=np.bool_) if has_mask else _NO_MASK
    nd = _NO_DROP[dt]
    dp = np.asarray(cache.dropout_mask, dtype=dt) if has_dp else nd
    rdp = np.asarray(cache.recurrent_dropout_mask, dtype=dt) if has_rdp else nd
    zero_out = bool(cache.zero_output_for_mask)
    jobs, grads = [], []
    for b0, b1, z, cs, hh, ch in cache.steps:
        g = (np.empty((F, 4 * H), dt), np.empty((H, 4 * H), dt), np.empty(4 * H, dt))
        grads.append(g)
        jobs.append((d_outputs[b0:b1], dh_T[b0:b1], dc_T[b0:b1], x[b0:b1], W, U, z, cs, hh, ch,
                     _rows(m, b0, b1) if has_mask else m, has_mask, zero_out,
                     _rows(dp, b0, b1, 1) if has_dp else dp, has_dp,
                     _rows(rdp, b0, b1, 1) if has_rdp else rdp, has_rdp, mode, act, ract,
                     _scratch("dz", b0, z.shape, dt), dx[b0:b1], dh0[b0:b1], dc0[b0:b1], *g))
    threads.run(_backward_chunk, jobs)
    dW, dU, db = grads[0]
    for g in grads[1:]:
        dW += g[0]
        dU += g[1]
        db += g[2]
    return dx, dW, dU, db, dh0, dc0
