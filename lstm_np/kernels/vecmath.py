"""The fast float32 tanh/sigmoid of :mod:`lstm_np.kernels.fastmath`, over whole arrays in
AVX-512 vectors with a reciprocal estimate instead of a division.

Why: :func:`lstm_np.kernels.fastmath.tanh32` vectorises, but LLVM keeps it at 8 lanes (its
tuning for these CPUs prefers 256-bit vectors) and its one division per element is then
the bottleneck: ~0.42 ns an element, 30 % of a step at batch 32, H = 64. Here the same
rational function (Eigen's, same clamp, same coefficients) runs 16 lanes at a time and
``p / q`` is ``p · r`` with ``r`` from ``vrcp14ps`` (14 bits) refined by one Newton step
``r += r (1 - q r)`` (~28 bits), and the quotient corrected once, ``t += r (p - q t)``, so
that it rounds as the division does: ``tanh(+-clamp)`` is exactly +-1 as in
:func:`~lstm_np.kernels.fastmath.tanh32` (a saturated gate must have a derivative of
exactly 0, or huge states leak gradients), and the results equal it but for rare last-bit
differences (``tests/test_kernels_vecmath.py`` measures both against float64). The last
``n mod 16`` elements use masked loads and stores: every element gets the same arithmetic.

:func:`tanh_affine` is the only entry point: ``dst[i] = a + b · tanh(s · src[i])`` (tanh:
``s = 1, a = 0, b = 1``; sigmoid: ``s = a = b = 1/2``). Without AVX-512 (:data:`AVAILABLE`
False) the cell loops keep the scalar functions.
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


@intrinsic
def _tanh_affine(typingctx, src, dst, n, s, a, b):
    """dst[i] = a + b tanh(s src[i]) for i < n; src/dst integer addresses of float32."""
    sig = types.void(src, dst, n, types.float32, types.float32, types.float32)

    def codegen(context, builder, signature, args):
        src_i, dst_i, n = [context.cast(builder, v, t, types.intp)
                           for v, t in zip(args[:3], signature.args[:3], strict=True)]
        s, a, b = (_splat(builder, v) for v in args[3:])
        vp = _v.as_pointer()
        psrc = builder.inttoptr(src_i, _f32.as_pointer())
        pdst = builder.inttoptr(dst_i, _f32.as_pointer())
        mod = builder.module
        fma = cgutils.get_or_insert_function(mod, ir.FunctionType(_v, [_v, _v, _v]),
                                             "llvm.fma.v16f32")
        rcp = cgutils.get_or_insert_function(
            mod, ir.FunctionType(_v, [_v, _v, ir.IntType(16)]), "llvm.x86.avx512.rcp14.ps.512")
        mask_t = ir.VectorType(ir.IntType(1), _L)
        mload = cgutils.get_or_insert_function(
            mod, ir.FunctionType(_v, [vp, _i32, mask_t, _v]), "llvm.masked.load.v16f32.p0v16f32")
        mstore = cgutils.get_or_insert_function(
            mod, ir.FunctionType(ir.VoidType(), [_v, vp, _i32, mask_t]),
            "llvm.masked.store.v16f32.p0v16f32")
        one = _const(1.0)

        def tanh_affine(x):
            x = builder.fmul(x, s)
            # Clamp as Python's min(max(x, -c), c): a NaN stays NaN (llvm.minnum would not).
            lo, hi = _const(-fastmath._CLAMP), _const(fastmath._CLAMP)
            x = builder.select(builder.fcmp_ordered(">", lo, x), lo, x)
            x = builder.select(builder.fcmp_ordered("<", hi, x), hi, x)
            x2 = builder.fmul(x, x)
            # Unfused multiply-adds, as the scalar function compiles: p and q are then bit
            # for bit fastmath.tanh32's (at the clamp p x == q exactly, so tanh is 1).
            p = builder.fadd(builder.fmul(x2, _const(fastmath._A13)), _const(fastmath._A11))
            for c in (fastmath._A9, fastmath._A7, fastmath._A5, fastmath._A3, fastmath._A1):
                p = builder.fadd(builder.fmul(x2, p), _const(c))
            q = builder.fadd(builder.fmul(x2, _const(fastmath._B6)), _const(fastmath._B4))
            for c in (fastmath._B2, fastmath._B0):
                q = builder.fadd(builder.fmul(x2, q), _const(c))
            r = builder.call(rcp, [q, ir.Constant(_v, [0.0] * _L), ir.Constant(ir.IntType(16), -1)])
            e = builder.call(fma, [builder.fneg(q), r, one])  # 1 - q r
            r = builder.call(fma, [r, e, r])  # one Newton step
            xp = builder.fmul(x, p)
            t = builder.fmul(xp, r)
            # One correction of the quotient itself (t += r (xp - q t)): the result rounds
            # like the division in fastmath.tanh32, so the clamp still gives +-1 exactly and
            # a saturated gate a derivative of exactly 0.
            t = builder.call(fma, [builder.call(fma, [builder.fneg(q), t, xp]), r, t])
            return builder.call(fma, [b, t, a])

        entry = builder.block
        loop = builder.function.append_basic_block("vt.loop")
        tail = builder.function.append_basic_block("vt.tail")
        done = builder.function.append_basic_block("vt.done")
        n_full = builder.and_(n, ir.Constant(_i64, -_L))
        builder.cbranch(builder.icmp_signed(">", n_full, ir.Constant(_i64, 0)), loop, tail)
        builder.position_at_end(loop)
        i = builder.phi(_i64)
        i.add_incoming(ir.Constant(_i64, 0), entry)
        x = builder.load(builder.bitcast(builder.gep(psrc, [i]), vp))
        x.align = 4
        st = builder.store(tanh_affine(x), builder.bitcast(builder.gep(pdst, [i]), vp))
        st.align = 4
        i_next = builder.add(i, ir.Constant(_i64, _L))
        i.add_incoming(i_next, loop)
        builder.cbranch(builder.icmp_signed("<", i_next, n_full), loop, tail)
        builder.position_at_end(tail)
        rem = builder.trunc(builder.sub(n, n_full), _i32)
        lanes = ir.Constant(ir.VectorType(_i32, _L), list(range(_L)))
        rem_v = builder.shuffle_vector(
            builder.insert_element(ir.Constant(ir.VectorType(_i32, _L), ir.Undefined), rem,
                                   ir.Constant(_i32, 0)),
            ir.Constant(ir.VectorType(_i32, _L), ir.Undefined),
            ir.Constant(ir.VectorType(_i32, _L), [0] * _L))
        mask = builder.icmp_unsigned("<", lanes, rem_v)
        has_tail = builder.icmp_signed(">", rem, ir.Constant(_i32, 0))
        with builder.if_then(has_tail):
            xs = builder.bitcast(builder.gep(psrc, [n_full]), vp)
            xd = builder.bitcast(builder.gep(pdst, [n_full]), vp)
            x = builder.call(mload, [xs, ir.Constant(_i32, 4), mask, _const(0.0)])
            builder.call(mstore, [tanh_affine(x), xd, ir.Constant(_i32, 4), mask])
        builder.branch(done)
        builder.position_at_end(done)
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always", **JIT)
def tanh_affine(src, dst, s, a, b):
    """``dst[:] = a + b * tanh(s * src)``, float32, flat contiguous arrays (same length)."""
    _tanh_affine(np.intp(src.ctypes.data), np.intp(dst.ctypes.data), src.shape[0],
                 np.float32(s), np.float32(a), np.float32(b))


if numba_config.DISABLE_JIT:  # pragma: no cover - exercised by CI's NUMBA_DISABLE_JIT pass
    def tanh_affine(src, dst, s, a, b):  # noqa: F811
        """NUMBA_DISABLE_JIT twin: the scalar rational function, element by element."""
        f32 = np.float32
        for i in range(src.shape[0]):
            dst[i] = f32(a) + f32(b) * fastmath.tanh32(f32(s) * src[i])
