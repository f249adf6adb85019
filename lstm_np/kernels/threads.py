"""Threads for the kernels: how a batch is split into row chunks, and how they are run.

Batch rows never interact in a recurrence, so a large batch is split into one chunk of
rows per thread, and each chunk runs the *whole* time loop on its own (the kernels release
the GIL). The threads are plain Python threads, which sleep when idle: an OpenMP or TBB
pool would spin between calls, and on a 2-core machine a spinning pool (ours, BLAS's,
or PyTorch's in the same process) steals the cores the other needs.

Inside the chunks every GEMM must run on its calling thread: an OpenBLAS call that used
its own pool from two threads at once would queue behind a lock. So around a parallel
run, SciPy's OpenBLAS (the library Numba's BLAS calls reach) is set to one thread and
restored afterwards. Where that library cannot be found (SciPy on another BLAS) the
kernels stay serial and leave BLAS alone.

The number of threads is Numba's (``NUMBA_NUM_THREADS``, ``numba.set_num_threads``).
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

#: Below this many multiply-adds per call a second thread costs more than it saves.
MIN_PARALLEL_WORK = 4_000_000
#: Rows per chunk at least. Measured here (quiet machine, 2 cores): 2 chunks of 32 rows
#: beat one 64-row call (medium: forward 8.2 vs 10.3 ms, forward+backward 24 vs 32-37 ms),
#: but 2 chunks of 16 rows lost to one 32-row call (small: 1.0 vs 0.82 ms, 3.1 vs 2.7 ms):
#: a narrower per-step GEMM is slower *per row* (OpenBLAS repacks U on every call, a cost
#: that does not shrink with the batch), and at 16 rows that loss outweighs the 2nd core.
MIN_ROWS = 32


def _find_openblas(package, names):
    """``(get_num_threads, set_num_threads)`` of the OpenBLAS a wheel bundles in
    ``<site-packages>/<package>.libs``, trying each (get, set) symbol pair, or None."""
    libs = os.path.join(os.path.dirname(os.path.dirname(package.__file__)),
                        package.__name__ + ".libs")
    for path in sorted(glob.glob(os.path.join(libs, "libscipy_openblas*.so*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:  # pragma: no cover
            continue
        for get_name, put_name in names:
            get, put = getattr(lib, get_name, None), getattr(lib, put_name, None)
            if get is not None and put is not None:
                get.restype = ctypes.c_int
                put.argtypes = [ctypes.c_int]
                return get, put
    return None  # pragma: no cover - another BLAS


def _scipy_openblas():
    try:
        import scipy
    except ImportError:  # pragma: no cover - scipy is a dependency
        return None
    return _find_openblas(scipy, [(p + "get_num_threads", p + "set_num_threads")
                                  for p in ("scipy_openblas_", "openblas_")])


#: SciPy's OpenBLAS: the one Numba's BLAS calls reach (the kernels' GEMMs).
_OPENBLAS = _scipy_openblas()
#: NumPy's own OpenBLAS (numpy.libs: another copy, with its own threads).
_NUMPY_OPENBLAS = _find_openblas(np, [("scipy_openblas_get_num_threads64_",
                                       "scipy_openblas_set_num_threads64_"),
                                      ("openblas_get_num_threads", "openblas_set_num_threads")])


@contextlib.contextmanager
def single_threaded_blas():
    """NumPy's and SciPy's OpenBLAS on one thread inside the block.

    Why: an OpenBLAS call on several threads leaves its workers spinning for ~0.1 s
    (OpenBLAS' thread timeout), on the cores the kernels' threads need. Measured here: a
    512x512 NumPy matmul before them made the next ~100 calls of a 2-thread batch-32
    LSTM 1.6x slower. lstm_np's own small NumPy linear algebra (the orthogonal
    initializer's QR) runs inside this block, so building a layer does not do that.
    """
    saved = []
    for lib in (_NUMPY_OPENBLAS, _OPENBLAS):
        if lib is not None:
            get, put = lib
            saved.append((put, get()))
            put(1)
    try:
        yield
    finally:
        for put, n in saved:
            put(n)
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_lock = threading.Lock()


def split(batch: int, work: int) -> list[tuple[int, int]]:
    """Row ranges ``[(b0, b1), ...]`` for a call of ``work`` multiply-adds."""
    if work < MIN_PARALLEL_WORK or batch < 2 * MIN_ROWS or _OPENBLAS is None:
        return [(0, batch)]
    n = max(1, min(numba.get_num_threads(), batch // MIN_ROWS))
    return [(k * batch // n, (k + 1) * batch // n) for k in range(n)]


def split_aligned(batch: int, work: int, unit: int) -> list[tuple[int, int]]:
    """Like :func:`split`, for kernels whose cost does not grow per call with the number of
    chunks (packed weights, no BLAS repacking): one chunk per thread down to ``unit`` rows,
    chunk boundaries on multiples of ``unit`` (the vector width the rows are padded to)."""
    units = -(-batch // unit)
    if work < MIN_PARALLEL_WORK or units < 2 or _OPENBLAS is None:
        return [(0, batch)]
    n = max(1, min(numba.get_num_threads(), units))
    cuts = [min(batch, round(k * units / n) * unit) for k in range(n + 1)]
    return [(cuts[k], cuts[k + 1]) for k in range(n) if cuts[k + 1] > cuts[k]]


def run(kernel, jobs) -> None:
    """``kernel(*args)`` for every args tuple in ``jobs``, the first on this thread."""
    if len(jobs) == 1:
        kernel(*jobs[0])
        return
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size < len(jobs) - 1:
            _pool = ThreadPoolExecutor(len(jobs) - 1, thread_name_prefix="lstm_np")
            _pool_size = len(jobs) - 1
        pool = _pool
        get, put = _OPENBLAS
        before = get()
        if before != 1:
            put(1)
        try:
            futures = [pool.submit(kernel, *args) for args in jobs[1:]]
            kernel(*jobs[0])
            for f in futures:
                f.result()
        finally:
            if before != 1:
                put(before)
