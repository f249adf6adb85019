"""A register-blocked GEMM on a pre-packed left operand: the recurrent product, fast.

Why: the LSTM multiplies by the *same* weights at every step. A BLAS ``?gemm`` repacks its
operands on every call (OpenBLAS copies the whole ``(H, 4H)`` recurrent kernel into its
panel layout each step, and at batch 32-64 that copy costs as much as the product). Here the
weights are packed **once per call** into panels of ``MR`` rows, and each step runs only the
inner kernel of a GEMM on them.

The inner kernel is written in LLVM IR through Numba's ``@intrinsic`` (the one place in the
package below Python syntax), because LLVM's auto-vectoriser does not keep a tile of
accumulators in registers across the K loop. It computes an ``MR x (NV·L)`` tile of

    C += A @ B        A: (MR, K) panel, packed k-major;  B: (K, NV·L);  C: (MR, NV·L)

with ``NV·MR`` vector accumulators (``L`` lanes: 16 float32 / 8 float64 with AVX-512,
half that with AVX2): per ``k`` it loads ``NV`` vectors of row ``k`` of B, broadcasts the
``MR`` numbers of column ``k`` of A, and issues ``MR·NV`` fused multiply-adds. With AVX-512
(32 vector registers) ``MR = 14, NV = 2`` uses 28 accumulators; with AVX2 (16) ``MR = 6``.
Measured on one core of a 2-core Intel Xeon VM with AVX-512 (2026-11-27): 160-200 GFLOP/s
on the LSTM's shapes (182-195 on data in L1); OpenBLAS on the same products 100-130.

Contract of :func:`gemm_packed` (the only entry point the kernels use):

* ``ap``: ``(P, K, MR)`` from :func:`pack_stacked`, rows of A zero-padded to ``P·MR``;
* ``b``: a 2-D ``(K, N)`` view with unit stride along N, any row stride, ``N`` a multiple of
  :func:`lanes` (callers pad their batch to it);
* ``c``: a 2-D ``(>= P·MR, N)`` view with unit stride along N (rows past A's are scratch).

Fused multiply-add rounds once where ``a*b + c`` rounds twice: results differ from NumPy's
in the last bits, as any BLAS does.
"""

from __future__ import annotations

import os

import numpy as np
from llvmlite import binding as llvm_binding
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core import config as numba_config
from numba.extending import intrinsic

from ..config import JIT


def _vector_bytes() -> int:
    """Width of the widest vector registers of this CPU (what Numba compiles for).
    ``LSTM_NP_VECTOR_BYTES=32`` forces the AVX2 build (tests run it on AVX-512 machines;
    with it, set ``LSTM_NP_JIT_CACHE=0`` or another ``NUMBA_CACHE_DIR``)."""
    forced = os.environ.get("LSTM_NP_VECTOR_BYTES")
    if forced in ("32", "64"):
        return int(forced)
    try:
        features = llvm_binding.get_host_cpu_features()
    except RuntimeError:  # pragma: no cover - hosts llvmlite cannot query
        return 32
    return 64 if features.get("avx512f", False) else 32


#: Bytes per vector register, rows per register tile: 32 registers with AVX-512 (14 rows
#: x 2 vectors = 28 accumulators; 12 rows measured 3% slower), 16 with AVX2 (6 x 2 = 12).
VECTOR_BYTES = _vector_bytes()
MR = 14 if VECTOR_BYTES == 64 else 6


def lanes(dtype) -> int:
    """Numbers of ``dtype`` per vector register: the unit the batch is padded to."""
    return VECTOR_BYTES // np.dtype(dtype).itemsize


def _make_tile(nv: int, fp64: bool, accumulate: bool):
    """The ``MR x nv·L`` tile kernel as a Numba intrinsic taking integer addresses:
    ``tile(a, b, c, K, ldb, ldc)``; ``a`` the packed panel, ``b``/``c`` the tile's first
    element; ``ldb``/``ldc`` row strides in elements. ``accumulate`` False starts from 0
    (C is written, never read)."""
    scalar = ir.DoubleType() if fp64 else ir.FloatType()
    size = 8 if fp64 else 4
    L = VECTOR_BYTES // size
    vec = ir.VectorType(scalar, L)
    i64 = ir.IntType(64)
    i32 = ir.IntType(32)
    splat_mask = ir.Constant(ir.VectorType(i32, L), [0] * L)

    @intrinsic
    def tile(typingctx, a, b, c, K, ldb, ldc):
        sig = types.void(a, b, c, K, ldb, ldc)

        def codegen(context, builder, signature, args):
            a_i, b_i, c_i, K, ldb, ldc = [context.cast(builder, v, t, types.intp)
                                          for v, t in zip(args, signature.args, strict=True)]
            ptr = scalar.as_pointer()
            pa, pb, pc = (builder.inttoptr(v, ptr) for v in (a_i, b_i, c_i))
            fma = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vec, [vec, vec, vec]),
                f"llvm.fma.v{L}{'f64' if fp64 else 'f32'}")

            i8p = ir.IntType(8).as_pointer()
            prefetch = cgutils.get_or_insert_function(  # (address, read, locality, data)
                builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                "llvm.prefetch.p0i8")

            def load_vec(base, offset):
                v = builder.load(builder.bitcast(builder.gep(base, [offset]), vec.as_pointer()))
                v.align = size
                return v

            def c_offset(r, v):
                return builder.add(builder.mul(ir.Constant(i64, r), ldc), ir.Constant(i64, v * L))

            if accumulate:
                init = [load_vec(pc, c_offset(r, v)) for r in range(MR) for v in range(nv)]
            else:
                init = [ir.Constant(vec, [0.0] * L)] * (MR * nv)
            entry = builder.block
            loop = builder.function.append_basic_block("tile.k")
            done = builder.function.append_basic_block("tile.done")
            builder.cbranch(builder.icmp_signed(">", K, ir.Constant(i64, 0)), loop, done)
            builder.position_at_end(loop)
            k = builder.phi(i64)
            k.add_incoming(ir.Constant(i64, 0), entry)
            acc = []
            for v0 in init:
                p = builder.phi(vec)
                p.add_incoming(v0, entry)
                acc.append(p)
            b_row = builder.mul(k, ldb)
            # B's rows are strided (a column block of a wider array): ask for row k + 8 now.
            ahead = builder.gep(pb, [builder.add(b_row, builder.mul(ir.Constant(i64, 8), ldb))])
            builder.call(prefetch, [builder.bitcast(ahead, i8p), ir.Constant(i32, 0),
                                    ir.Constant(i32, 3), ir.Constant(i32, 1)])
            bk = [load_vec(pb, builder.add(b_row, ir.Constant(i64, v * L))) for v in range(nv)]
            a_col = builder.mul(k, ir.Constant(i64, MR))
            new = []
            for r in range(MR):
                s = builder.load(builder.gep(pa, [builder.add(a_col, ir.Constant(i64, r))]))
                s = builder.insert_element(ir.Constant(vec, ir.Undefined), s, ir.Constant(i32, 0))
                s = builder.shuffle_vector(s, ir.Constant(vec, ir.Undefined), splat_mask)
                new.extend(builder.call(fma, [s, bk[v], acc[r * nv + v]]) for v in range(nv))
            k_next = builder.add(k, ir.Constant(i64, 1))
            k.add_incoming(k_next, loop)
            for p, v in zip(acc, new, strict=True):
                p.add_incoming(v, loop)
            builder.cbranch(builder.icmp_signed("<", k_next, K), loop, done)
            builder.position_at_end(done)
            outs = []
            # every phi first: LLVM wants them at the top of the block
            for v0, v1 in zip(init, new, strict=True):
                out = builder.phi(vec)
                out.add_incoming(v0, entry)
                out.add_incoming(v1, loop)
                outs.append(out)
            for i, out in enumerate(outs):
                r, v = divmod(i, nv)
                st = builder.store(out, builder.bitcast(builder.gep(pc, [c_offset(r, v)]),
                                                        vec.as_pointer()))
                st.align = size
            return context.get_dummy_value()

        return sig, codegen

    return tile


_tile_s2, _tile_s1 = _make_tile(2, False, True), _make_tile(1, False, True)
_tile_d2, _tile_d1 = _make_tile(2, True, True), _make_tile(1, True, True)
_put_s2, _put_s1 = _make_tile(2, False, False), _make_tile(1, False, False)
_put_d2, _put_d1 = _make_tile(2, True, False), _make_tile(1, True, False)


def panels(rows, K, dtype, scratch=None, tag="ap"):
    """An empty ``(P, K, MR)`` array for a left operand of ``rows`` rows; from
    ``scratch(tag, 0, shape, dtype)`` (the kernels' reusable buffers) when given: packed
    weights live for one call, and a fresh 6 MB array (H = 512) cost ~1 ms of page faults."""
    shape = (-(-rows // MR), K, MR)
    if scratch is None:
        return np.empty(shape, dtype)
    return scratch(tag, 0, shape, np.dtype(dtype))


@njit(**JIT)
def pack_stacked(top, middle, bottom, ap, transpose, p0, p1):
    """Pack ``A = [top; middle; bottom]`` (or its transpose) into ``ap`` ``(P, K, MR)``:
    ``ap[p, k, r] = A[p·MR + r, k]``, rows past A's zero; panels ``p0:p1`` (all of them:
    ``0, P``; no defaults on purpose, Numba dispatches omitted arguments ~40 us slower).
    The LSTM stacks its weights and bias, ``[W; U; b]``: the forward multiplies by its
    transpose, the backward by ``[W; U]`` (``bottom`` empty)."""
    P, K, mr = ap.shape
    M0, M1 = top.shape[0], middle.shape[0]
    M = top.shape[1] if transpose else M0 + M1 + bottom.shape[0]
    for p in range(p0, p1):
        m = min(mr, M - p * mr)
        for k in range(K):
            if transpose:  # A[i, k] = S[k, i]: a contiguous run of row k of the stack S
                src = top[k] if k < M0 else (middle[k - M0] if k < M0 + M1
                                             else bottom[k - M0 - M1])
                for r in range(m):
                    ap[p, k, r] = src[p * mr + r]
            else:
                for r in range(m):
                    i = p * mr + r
                    ap[p, k, r] = top[i, k] if i < M0 else (
                        middle[i - M0, k] if i < M0 + M1 else bottom[i - M0 - M1, k])
            for r in range(m, mr):
                ap[p, k, r] = 0.0


#: From this size the packing is split between the threads (large: 6 MB, 1.4 ms alone).
PARALLEL_PACK_BYTES = 1 << 20


def pack_parallel(top, middle, bottom, ap, transpose):
    """:func:`pack_stacked` of every panel, split between the kernels' threads when big."""
    from . import threads  # late: threads is the kernels' scheduler, packed a leaf

    P = ap.shape[0]
    n = min(P, threads.numba.get_num_threads()) if ap.nbytes >= PARALLEL_PACK_BYTES else 1
    if n <= 1 or threads._OPENBLAS is None:
        pack_stacked(top, middle, bottom, ap, transpose, 0, P)
        return
    cuts = [k * P // n for k in range(n + 1)]
    threads.run(pack_stacked, [(top, middle, bottom, ap, transpose, cuts[k], cuts[k + 1])
                               for k in range(n)])


def pack(a, rows_of_a=True):
    """``a`` packed on its own (tests, benchmarks): the panels of ``a`` (or of ``a.T``)."""
    A = a if rows_of_a else a.T
    ap = panels(A.shape[0], A.shape[1], a.dtype)
    pack_stacked(a, a[:0], a[:0], ap, not rows_of_a, 0, ap.shape[0])
    return ap


# One loop per dtype and mode: the tile kernels are compile-time choices, and a branch
# inside the column loop measured ~8% slower than these straight loops.

@njit(**JIT)
def _loop_s_acc(ap, b, pa0, pb0, pc0, ldb, ldc, L):
    P, K, _ = ap.shape
    N = b.shape[1]
    for p in range(P):
        pa, pc = pa0 + p * K * MR * 4, pc0 + p * MR * ldc * 4
        for j in range(0, N - 2 * L + 1, 2 * L):
            _tile_s2(pa, pb0 + j * 4, pc + j * 4, K, ldb, ldc)
        if N % (2 * L):
            _tile_s1(pa, pb0 + (N - L) * 4, pc + (N - L) * 4, K, ldb, ldc)


@njit(**JIT)
def _loop_s_put(ap, b, pa0, pb0, pc0, ldb, ldc, L):
    P, K, _ = ap.shape
    N = b.shape[1]
    for p in range(P):
        pa, pc = pa0 + p * K * MR * 4, pc0 + p * MR * ldc * 4
        for j in range(0, N - 2 * L + 1, 2 * L):
            _put_s2(pa, pb0 + j * 4, pc + j * 4, K, ldb, ldc)
        if N % (2 * L):
            _put_s1(pa, pb0 + (N - L) * 4, pc + (N - L) * 4, K, ldb, ldc)


@njit(**JIT)
def _loop_d_acc(ap, b, pa0, pb0, pc0, ldb, ldc, L):
    P, K, _ = ap.shape
    N = b.shape[1]
    for p in range(P):
        pa, pc = pa0 + p * K * MR * 8, pc0 + p * MR * ldc * 8
        for j in range(0, N - 2 * L + 1, 2 * L):
            _tile_d2(pa, pb0 + j * 8, pc + j * 8, K, ldb, ldc)
        if N % (2 * L):
            _tile_d1(pa, pb0 + (N - L) * 8, pc + (N - L) * 8, K, ldb, ldc)


@njit(**JIT)
def _loop_d_put(ap, b, pa0, pb0, pc0, ldb, ldc, L):
    P, K, _ = ap.shape
    N = b.shape[1]
    for p in range(P):
        pa, pc = pa0 + p * K * MR * 8, pc0 + p * MR * ldc * 8
        for j in range(0, N - 2 * L + 1, 2 * L):
            _put_d2(pa, pb0 + j * 8, pc + j * 8, K, ldb, ldc)
        if N % (2 * L):
            _put_d1(pa, pb0 + (N - L) * 8, pc + (N - L) * 8, K, ldb, ldc)


@njit(**JIT)
def gemm_packed(ap, b, c, accumulate):
    """``c[:P·MR] += A @ b`` (``accumulate``) or ``c[:P·MR] = A @ b``; see the module doc."""
    if ap.shape[2] != MR:  # compiled for another panel height (a stale on-disk cache)
        raise ValueError("gemm_packed: panels of a different height than this build's MR; "
                         "delete lstm_np's __pycache__/*.nbi,*.nbc and run again")
    size = c.itemsize
    L = VECTOR_BYTES // size
    args = (np.intp(ap.ctypes.data), np.intp(b.ctypes.data), np.intp(c.ctypes.data),
            b.strides[0] // size, c.strides[0] // size, L)
    if size == 4:
        if accumulate:
            _loop_s_acc(ap, b, *args)
        else:
            _loop_s_put(ap, b, *args)
    else:
        if accumulate:
            _loop_d_acc(ap, b, *args)
        else:
            _loop_d_put(ap, b, *args)


if numba_config.DISABLE_JIT:  # pragma: no cover - exercised by CI's NUMBA_DISABLE_JIT pass
    # The tile kernels are LLVM IR with no Python form; as Python, the same product in NumPy.
    def gemm_packed(ap, b, c, accumulate):  # noqa: F811
        """NUMBA_DISABLE_JIT twin of the compiled :func:`gemm_packed` (same contract)."""
        P, K, _ = ap.shape
        prod = ap.transpose(0, 2, 1).reshape(P * MR, K) @ b  # (P·MR, N)
        if accumulate:
            c[:P * MR] += prod
        else:
            c[:P * MR] = prod
