"""Threads for the kernels: how many row chunks to run, and BLAS pinned to one thread.

A large batch is split into row chunks that run the whole time loop each on its own
Numba thread (``prange``). Inside those threads every GEMM must run on the calling thread:
an OpenBLAS call that tried to use its own pool from two threads at once would queue
behind a lock, and its spinning workers would steal the two cores this code runs on. So
around a parallel kernel, SciPy's OpenBLAS (the one Numba's BLAS calls reach) is set to
one thread and restored afterwards. Where that library cannot be found (SciPy built on
another BLAS) the kernels stay serial and leave BLAS's threads alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os

import numba

#: Below this many multiply-adds per call a parallel launch costs more than it saves.
MIN_PARALLEL_WORK = 2_000_000
#: Rows per chunk at least (a GEMM with fewer rows wastes the SIMD register blocks).
MIN_ROWS = 8


def _find_openblas():
    try:
        import scipy
    except ImportError:  # pragma: no cover - scipy is a dependency
        return None
    libs = os.path.join(os.path.dirname(os.path.dirname(scipy.__file__)), "scipy.libs")
    for path in sorted(glob.glob(os.path.join(libs, "libscipy_openblas*.so*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:  # pragma: no cover
            continue
        for prefix in ("scipy_openblas_", "openblas_"):
            get = getattr(lib, prefix + "get_num_threads", None)
            put = getattr(lib, prefix + "set_num_threads", None)
            if get is not None and put is not None:
                get.restype = ctypes.c_int
                put.argtypes = [ctypes.c_int]
                return get, put
    return None  # pragma: no cover - another BLAS


_OPENBLAS = _find_openblas()


def n_chunks(batch: int, work: int) -> int:
    """How many row chunks (threads) to split a call of ``work`` multiply-adds into."""
    if _OPENBLAS is None or work < MIN_PARALLEL_WORK:
        return 1
    return max(1, min(numba.get_num_threads(), batch // MIN_ROWS))


@contextlib.contextmanager
def blas_single_thread():
    """Run the body with SciPy's OpenBLAS on one thread, then restore its setting."""
    get, put = _OPENBLAS
    before = get()
    if before != 1:
        put(1)
    try:
        yield
    finally:
        if before != 1:
            put(before)
