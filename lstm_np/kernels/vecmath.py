"""The fast float32 tanh/sigmoid of :mod:`lstm_np.kernels.fastmath`, over whole arrays in
AVX-512 vectors with a reciprocal estimate instead of a division, and the LSTM step in one
pass over them.

Why: :func:`lstm_np.kernels.fastmath.tanh32` vectorises, but LLVM keeps it at 8 lanes (its
tuning for these CPUs prefers 256-bit vectors) and its one division per element is then
the bottleneck: ~0.42 ns an element, 30 % of a step at batch 32, H = 64. Here the same
rational function (Eigen's: same clamp, same coefficients) runs 16 lanes at a time, its
polynomials as fused multiply-adds, and ``p / q`` is ``p · r`` with ``r`` from ``vrcp14ps``
(14 bits) refined by one Newton step ``r += r (1 - q r)`` (~1 ulp). At the clamp the result
is set to +-1 exactly, as :func:`~lstm_np.kernels.fastmath.tanh32` gives there (a saturated
gate must have a derivative of exactly 0, or huge states leak gradients). Max errors
against float64: tanh 2.9e-7, sigmoid 1.8e-7 (the scalar function: 3.9e-7, 2.3e-7); the
results differ from the scalar function's in the last bits
(``tests/kernels/test_kernels_vecmath.py`` measures both). Measured on a 2-core Intel Xeon
VM with AVX-512 (2026-11-27): 0.24 ns an element; a variant with the scalar function's
unfused steps and a corrected quotient (bit-identical to it) takes 0.32.
The last ``n mod 16`` elements use masked loads and stores: every element gets the same
arithmetic.

Entry points: :func:`tanh_affine`, ``dst[i] = a + b · tanh(s · src[i])`` (tanh: ``s = 1,
a = 0, b = 1``; sigmoid: ``s = a = b = 1/2``), and :func:`lstm_cell`, the LSTM step of
:func:`lstm_np.kernels.lstm_cells.cell_forward` in one pass (1.35 ns a unit where its six
passes took 1.96: the pass is compute-bound, and the fused multiply-adds are what saved
it), and :func:`transpose16`, a 16 x 16 float32 block transposed in registers (the wide
kernels' copies between batch rows and the products' columns: ~0.7 ns an element as
element loops). Without AVX-512 (:data:`AVAILABLE` False) the kernels keep their loops.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core import config as numba_config
from numba.extending import intrinsic

from ..config import JIT
from . import fastmath
from .packed import VECTOR_BYTES

#: The vector path needs AVX-512 (``vrcp14ps``); elsewhere the cells use fastmath's loops.
AVAILABLE = VECTOR_BYTES == 64

_L = 16
_f32 = ir.FloatType()
_v = ir.VectorType(_f32, _L)
_i32 = ir.IntType(32)
_i64 = ir.IntType(64)


def _splat(builder, s):
    v = builder.insert_element(ir.Constant(_v, ir.Undefined), s, ir.Constant(_i32, 0))
    return builder.shuffle_vector(v, ir.Constant(_v, ir.Undefined),
                                  ir.Constant(ir.VectorType(_i32, _L), [0] * _L))


def _const(x):
    return ir.Constant(_v, [float(np.float32(x))] * _L)


def _tanh_ir(builder, x, s, a, b):
    """IR for ``a + b tanh(s x)`` on a vector ``x`` (s, a, b splatted vectors)."""
    mod = builder.module
    fma = cgutils.get_or_insert_function(mod, ir.FunctionType(_v, [_v, _v, _v]),
                                         "llvm.fma.v16f32")
    rcp = cgutils.get_or_insert_function(
        mod, ir.FunctionType(_v, [_v, _v, ir.IntType(16)]), "llvm.x86.avx512.rcp14.ps.512")
    x = builder.fmul(x, s)
    # Clamp as Python's min(max(x, -c), c): a NaN stays NaN (llvm.minnum would not).
    lo, hi = _const(-fastmath._CLAMP), _const(fastmath._CLAMP)
    x = builder.select(builder.fcmp_ordered(">", lo, x), lo, x)
    x = builder.select(builder.fcmp_ordered("<", hi, x), hi, x)
    x2 = builder.fmul(x, x)
    p = builder.call(fma, [x2, _const(fastmath._A13), _const(fastmath._A11)])
    for c in (fastmath._A9, fastmath._A7, fastmath._A5, fastmath._A3, fastmath._A1):
        p = builder.call(fma, [x2, p, _const(c)])
    q = builder.call(fma, [x2, _const(fastmath._B6), _const(fastmath._B4)])
    for c in (fastmath._B2, fastmath._B0):
        q = builder.call(fma, [x2, q, _const(c)])
    r = builder.call(rcp, [q, ir.Constant(_v, [0.0] * _L), ir.Constant(ir.IntType(16), -1)])
    e = builder.call(fma, [builder.fneg(q), r, _const(1.0)])  # 1 - q r
    r = builder.call(fma, [r, e, r])  # one Newton step: r = 1/q to ~1 ulp
    t = builder.fmul(builder.fmul(x, p), r)
    # At the clamp tanh is +-1 *exactly*, as in fastmath.tanh32: a saturated gate must have
    # a derivative of exactly 0 (s (1 - s), 1 - t^2), or huge inputs leak gradients.
    t = builder.select(builder.fcmp_ordered(">=", x, hi), _const(1.0), t)
    t = builder.select(builder.fcmp_ordered("<=", x, lo), _const(-1.0), t)
    return builder.call(fma, [b, t, a])


def _vector_loop(builder, n, body):
    """``body(load, store)`` for each 16 elements of ``0 <= i < n``, then once for the last
    ``n mod 16`` with masked loads and stores: ``load(base, offset)`` reads the vector at
    ``base + i + offset`` (float32 pointers), ``store(value, base, offset)`` writes one."""
    vp = _v.as_pointer()
    mod = builder.module
    mask_t = ir.VectorType(ir.IntType(1), _L)
    mload = cgutils.get_or_insert_function(
        mod, ir.FunctionType(_v, [vp, _i32, mask_t, _v]), "llvm.masked.load.v16f32.p0v16f32")
    mstore = cgutils.get_or_insert_function(
        mod, ir.FunctionType(ir.VoidType(), [_v, vp, _i32, mask_t]),
        "llvm.masked.store.v16f32.p0v16f32")

    def plain(i):
        def load(base, off):
            v = builder.load(builder.bitcast(builder.gep(base, [builder.add(i, off)]), vp))
            v.align = 4
            return v

        def store(val, base, off):
            st = builder.store(val, builder.bitcast(builder.gep(base, [builder.add(i, off)]),
                                                    vp))
            st.align = 4
        return load, store

    def masked(i, mask):
        def load(base, off):
            ptr = builder.bitcast(builder.gep(base, [builder.add(i, off)]), vp)
            return builder.call(mload, [ptr, ir.Constant(_i32, 4), mask, _const(0.0)])

        def store(val, base, off):
            ptr = builder.bitcast(builder.gep(base, [builder.add(i, off)]), vp)
            builder.call(mstore, [val, ptr, ir.Constant(_i32, 4), mask])
        return load, store

    entry = builder.block
    loop = builder.function.append_basic_block("vl.loop")
    tail = builder.function.append_basic_block("vl.tail")
    done = builder.function.append_basic_block("vl.done")
    n_full = builder.and_(n, ir.Constant(_i64, -_L))
    builder.cbranch(builder.icmp_signed(">", n_full, ir.Constant(_i64, 0)), loop, tail)
    builder.position_at_end(loop)
    i = builder.phi(_i64)
    i.add_incoming(ir.Constant(_i64, 0), entry)
    body(*plain(i))
    i_next = builder.add(i, ir.Constant(_i64, _L))
    i.add_incoming(i_next, builder.block)
    builder.cbranch(builder.icmp_signed("<", i_next, n_full), loop, tail)
    builder.position_at_end(tail)
    rem = builder.trunc(builder.sub(n, n_full), _i32)
    vi32 = ir.VectorType(_i32, _L)
    rem_v = builder.shuffle_vector(
        builder.insert_element(ir.Constant(vi32, ir.Undefined), rem, ir.Constant(_i32, 0)),
        ir.Constant(vi32, ir.Undefined), ir.Constant(vi32, [0] * _L))
    mask = builder.icmp_unsigned("<", ir.Constant(vi32, list(range(_L))), rem_v)
    with builder.if_then(builder.icmp_signed(">", rem, ir.Constant(_i32, 0))):
        body(*masked(n_full, mask))
    builder.branch(done)
    builder.position_at_end(done)


def _addresses(context, builder, arg_types, args):
    """Integer arguments (addresses, lengths) as intp values."""
    return [context.cast(builder, v, t, types.intp) for v, t in zip(args, arg_types, strict=True)]


def _f32_ptr(builder, address):
    return builder.inttoptr(address, _f32.as_pointer())


@intrinsic
def _tanh_affine(typingctx, src, dst, n, s, a, b):
    """dst[i] = a + b tanh(s src[i]) for i < n; src/dst integer addresses of float32."""
    sig = types.void(src, dst, n, types.float32, types.float32, types.float32)

    def codegen(context, builder, signature, args):
        src_i, dst_i, n = _addresses(context, builder, signature.args[:3], args[:3])
        s, a, b = (_splat(builder, v) for v in args[3:])
        psrc, pdst = _f32_ptr(builder, src_i), _f32_ptr(builder, dst_i)
        zero = ir.Constant(_i64, 0)

        def body(load, store):
            store(_tanh_ir(builder, load(psrc, zero), s, a, b), pdst, zero)

        _vector_loop(builder, n, body)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _lstm_cell(typingctx, z, c_prev, c_new, h_new, cs, n):
    """The LSTM step of :func:`lstm_np.kernels.lstm_cells.cell_forward` (tanh/sigmoid) in one
    pass: per 16 units, the four gates (written over z), c_t, tanh(c_t) (into cs) and h_t,
    with the arithmetic (and so the bits) of :func:`_tanh_affine` passes."""
    sig = types.void(z, c_prev, c_new, h_new, cs, n)

    def codegen(context, builder, signature, args):
        z_i, cp_i, cn_i, hn_i, cs_i, n = _addresses(context, builder, signature.args, args)
        pz, pcp, pcn, phn, pcs = (_f32_ptr(builder, v) for v in (z_i, cp_i, cn_i, hn_i, cs_i))
        half, zero_v, one_v = _const(0.5), _const(0.0), _const(1.0)
        zero = ir.Constant(_i64, 0)
        offsets = [builder.mul(n, ir.Constant(_i64, g)) for g in range(4)]  # i, f, c~, o

        def body(load, store):
            i = _tanh_ir(builder, load(pz, offsets[0]), half, half, half)
            f = _tanh_ir(builder, load(pz, offsets[1]), half, half, half)
            g = _tanh_ir(builder, load(pz, offsets[2]), one_v, zero_v, one_v)
            o = _tanh_ir(builder, load(pz, offsets[3]), half, half, half)
            c = builder.fadd(builder.fmul(f, load(pcp, zero)), builder.fmul(i, g))
            t = _tanh_ir(builder, c, one_v, zero_v, one_v)
            for gate, off in zip((i, f, g, o), offsets, strict=True):
                store(gate, pz, off)
            store(c, pcn, zero)
            store(t, pcs, zero)
            store(builder.fmul(o, t), phn, zero)

        _vector_loop(builder, n, body)
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always", **JIT)
def tanh_affine(src, dst, s, a, b):
    """``dst[:] = a + b * tanh(s * src)``, float32, flat contiguous arrays (same length)."""
    _tanh_affine(np.intp(src.ctypes.data), np.intp(dst.ctypes.data), src.shape[0],
                 np.float32(s), np.float32(a), np.float32(b))


@njit(inline="always", **JIT)
def lstm_cell(z, c_prev, c_new, h_new, cs):
    """One LSTM step (tanh/sigmoid gates), flat contiguous float32: z (4n,) the gates' inputs
    become the activated gates ``[i, f, c~, o]``; c_prev (n,) -> c_new, cs = tanh(c_new),
    h_new (n,). What :func:`lstm_np.kernels.lstm_cells.cell_forward` does in MODE_FAST."""
    _lstm_cell(np.intp(z.ctypes.data), np.intp(c_prev.ctypes.data), np.intp(c_new.ctypes.data),
               np.intp(h_new.ctypes.data), np.intp(cs.ctypes.data), c_prev.shape[0])


if numba_config.DISABLE_JIT:  # pragma: no cover - exercised by CI's NUMBA_DISABLE_JIT pass
    def lstm_cell(z, c_prev, c_new, h_new, cs):  # noqa: F811
        """NUMBA_DISABLE_JIT twin: the same step with the scalar functions."""
        n = c_prev.shape[0]
        for e in range(n):
            i, f = fastmath.sigmoid32(z[e]), fastmath.sigmoid32(z[n + e])
            g, o = fastmath.tanh32(z[2 * n + e]), fastmath.sigmoid32(z[3 * n + e])
            c_new[e] = f * c_prev[e] + i * g
            cs[e] = fastmath.tanh32(c_new[e])
            h_new[e] = o * cs[e]
            z[e], z[n + e], z[2 * n + e], z[3 * n + e] = i, f, g, o

    def tanh_affine(src, dst, s, a, b):  # noqa: F811
        """NUMBA_DISABLE_JIT twin: the scalar rational function, element by element."""
        f32 = np.float32
        for i in range(src.shape[0]):
            dst[i] = f32(a) + f32(b) * fastmath.tanh32(f32(s) * src[i])


@intrinsic
def _transpose16(typingctx, src, ld_src, dst, ld_dst, n_out):
    """``dst[i * ld_dst + r] = src[r * ld_src + i]`` for r < 16, i < n_out (<= 16): a 16x16
    float32 block transposed in registers (4 stages of two-vector shuffles, each swapping
    one bit of the row index with the same bit of the column index)."""
    sig = types.void(src, ld_src, dst, ld_dst, n_out)

    def codegen(context, builder, signature, args):
        src_i, ld_s, dst_i, ld_d, n_out = _addresses(context, builder, signature.args, args)
        psrc, pdst = _f32_ptr(builder, src_i), _f32_ptr(builder, dst_i)
        vp = _v.as_pointer()
        rows = []
        for r in range(_L):
            v = builder.load(builder.bitcast(
                builder.gep(psrc, [builder.mul(ir.Constant(_i64, r), ld_s)]), vp))
            v.align = 4
            rows.append(v)
        k = 1
        while k < _L:
            lo = [c if not c & k else _L + (c & ~k) for c in range(_L)]
            hi = [c | k if not c & k else _L + c for c in range(_L)]
            lo_m = ir.Constant(ir.VectorType(_i32, _L), lo)
            hi_m = ir.Constant(ir.VectorType(_i32, _L), hi)
            new = list(rows)
            for i in range(_L):
                if i & k:
                    continue
                a, b = rows[i], rows[i | k]
                new[i] = builder.shuffle_vector(a, b, lo_m)
                new[i | k] = builder.shuffle_vector(a, b, hi_m)
            rows = new
            k *= 2
        for i in range(_L):
            with builder.if_then(builder.icmp_signed("<", ir.Constant(_i64, i), n_out)):
                st = builder.store(rows[i], builder.bitcast(
                    builder.gep(pdst, [builder.mul(ir.Constant(_i64, i), ld_d)]), vp))
                st.align = 4
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always", **JIT)
def transpose16(src, ld_src, dst, ld_dst, n_out):
    """16 float32 rows of 16 at address ``src`` (row stride ``ld_src`` elements) into
    ``n_out`` rows of 16 at ``dst`` (stride ``ld_dst``), transposed; AVX-512 only."""
    _transpose16(src, ld_src, dst, ld_dst, n_out)


if numba_config.DISABLE_JIT:  # pragma: no cover - exercised by CI's NUMBA_DISABLE_JIT pass
    def transpose16(src, ld_src, dst, ld_dst, n_out):  # noqa: F811
        """NUMBA_DISABLE_JIT twin, on raw addresses as the compiled one."""
        import ctypes
        f = ctypes.c_float
        for r in range(16):
            for i in range(n_out):
                f.from_address(dst + 4 * (i * ld_dst + r)).value = \
                    f.from_address(src + 4 * (r * ld_src + i)).value
