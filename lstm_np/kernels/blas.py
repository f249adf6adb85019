"""Row-major GEMM for the Numba kernels: one BLAS call, no copies, no temporaries.

``np.dot`` inside ``@njit`` copies any non-contiguous operand and always allocates its
result. The LSTM kernels multiply strided views (step ``t`` of a ``(B, T, 4H)`` buffer,
one gate's column block of a ``(H, 4H)`` kernel) and want to accumulate into an existing
buffer (``z_t += h @ U``), so they call BLAS ``?gemm`` themselves, through the same
``numba_xxgemm`` entry point that Numba's own ``np.dot`` uses (SciPy's BLAS, loaded by
Numba at run time; the call is resolved by symbol name, so ``cache=True`` still works).

Each 2-D operand must have unit stride along its last axis (any row stride is fine).
"""

from __future__ import annotations

from numba import njit, types
from numba.core import config as numba_config
from numba.np.linalg import ensure_blas

from ..config import JIT

ensure_blas()  # a clear ImportError now if SciPy's BLAS is missing, not at first call


# int numba_xxgemm(char kind, char transa, char transb, intp m, n, k, void *alpha,
#                  void *a, intp lda, void *b, intp ldb, void *beta, void *c, intp ldc)
_P = types.voidptr
_xxgemm = types.ExternalFunction("numba_xxgemm", types.intc(
    types.char, types.char, types.char, types.intp, types.intp, types.intp,
    _P, _P, types.intp, _P, types.intp, _P, _P, types.intp))
_N, _T = ord("n"), ord("t")
# int numba_xxgemv(char kind, char trans, intp m, n, void *alpha, void *a, intp lda,
#                  void *x, void *beta, void *y)   (unit strides for x and y)
_xxgemv = types.ExternalFunction("numba_xxgemv", types.intc(
    types.char, types.char, types.intp, types.intp, _P, _P, types.intp, _P, _P, _P))


#: Below this many multiply-adds a plain loop beats the BLAS call's fixed cost (~0.1 µs).
SMALL = 512


@njit(**JIT)
def _small_gemm(a, b, c, trans_a, trans_b, alpha, beta):
    M, N = c.shape
    K = a.shape[0] if trans_a else a.shape[1]
    zero = alpha * 0  # in the dtype; beta == 0 never reads C (it may hold NaN), as BLAS
    for i in range(M):
        for j in range(N):
            s = zero if beta == 0 else c[i, j] * beta
            acc = zero
            for k in range(K):
                acc += (a[k, i] if trans_a else a[i, k]) * (b[j, k] if trans_b else b[k, j])
            c[i, j] = s + alpha * acc


@njit(**JIT)
def gemm(a, b, c, trans_a, trans_b, scalars):
    """``c = scalars[0] * op(a) @ op(b) + scalars[1] * c`` on row-major 2-D views.

    ``op(a)`` is ``a.T`` when ``trans_a`` (likewise ``b``); ``c`` is (M, N), ``op(a)`` (M, K),
    ``op(b)`` (K, N). ``scalars`` is a length-2 array of the dtype: ``[alpha, beta]``.
    BLAS is column-major, so this computes ``c.T = op(b).T @ op(a).T`` with the operands
    swapped, which reads the row-major memory as it is.
    """
    M, N = c.shape
    K = a.shape[0] if trans_a else a.shape[1]
    if M == 0 or N == 0:
        return
    if M * N * K <= SMALL:
        _small_gemm(a, b, c, trans_a, trans_b, scalars[0], scalars[1])
        return
    size = a.itemsize
    lda = max(a.strides[0] // size, 1)
    ldb = max(b.strides[0] // size, 1)
    ldc = max(c.strides[0] // size, 1)
    ta = _T if trans_a else _N
    tb = _T if trans_b else _N
    kind = ord("s") if size == 4 else ord("d")
    if N == 1 and c.strides[0] == size and (trans_b or b.strides[0] == size):
        # One column (a batch of one): GEMV streams op(a) once; OpenBLAS's GEMM with N = 1
        # was measured 2-3x slower (it still packs a).
        if trans_a:  # op(a) = a.T, a (K, M): column-major (M, K) as stored
            _xxgemv(kind, _N, M, K, scalars[0:].ctypes, a.ctypes, lda, b.ctypes,
                    scalars[1:].ctypes, c.ctypes)
        else:  # a (M, K): column-major (K, M) as stored, transposed
            _xxgemv(kind, _T, K, M, scalars[0:].ctypes, a.ctypes, lda, b.ctypes,
                    scalars[1:].ctypes, c.ctypes)
        return
    _xxgemm(kind, tb, ta, N, M, K, scalars[0:].ctypes, b.ctypes, ldb, a.ctypes, lda,
            scalars[1:].ctypes, c.ctypes, ldc)


if numba_config.DISABLE_JIT:  # pragma: no cover - exercised by CI's NUMBA_DISABLE_JIT pass
    # The BLAS entry points above are compiled-code symbols with no Python form: called from
    # plain Python they do nothing. With the JIT off (the CI pass that runs the kernels as
    # Python), gemm is the same product written with NumPy.
    def gemm(a, b, c, trans_a, trans_b, scalars):  # noqa: F811
        """NUMBA_DISABLE_JIT twin of the compiled :func:`gemm` (same contract)."""
        if c.size == 0:
            return
        prod = scalars[0] * ((a.T if trans_a else a) @ (b.T if trans_b else b))
        c[...] = prod if scalars[1] == 0 else prod + scalars[1] * c
