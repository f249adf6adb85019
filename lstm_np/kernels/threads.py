"""Threads for the kernels: how a batch is split into row chunks, and how they are run.

Batch rows never interact in a recurrence, so a large batch is split into one chunk of
rows per thread, and each chunk runs the *whole* time loop on its own (the kernels release
the GIL). The threads are Python threads (:class:`_Pool`) that poll for the next job for
half a millisecond after each one and then sleep: waking a sleeping thread costs tens of
microseconds (twice a call), while an OpenMP-style pool that spins for milliseconds (as
PyTorch's and OpenBLAS's do) steals, on a 2-core machine, the core the other side needs.

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
import time

import numba
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core import config as numba_config
from numba.extending import intrinsic

from ..config import JIT

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
    """``kernel(*args)`` for every args tuple in ``jobs``, the first on this thread, the
    others on the pool's workers (:class:`_Pool`); returns when all are done and re-raises
    the first worker's exception, if any. BLAS is on one thread meanwhile."""
    if len(jobs) == 1:
        kernel(*jobs[0])
        return
    global _pool
    with _lock:
        before = None
        if _OPENBLAS is not None:
            get, put = _OPENBLAS
            before = get()
            if before != 1:
                put(1)
        try:
            if numba_config.DISABLE_JIT:  # as Python: the same chunks, one after the other
                for args in jobs:
                    kernel(*args)
                return
            if _pool is None or len(_pool.workers) < len(jobs) - 1:
                if _pool is not None:
                    _pool.close()
                _pool = _Pool(len(jobs) - 1)
            _pool.run(kernel, jobs)
        finally:
            if before is not None and before != 1:
                put(before)


# ----------------------------------------------------------------------------- the pool

@intrinsic
def _load_acquire(typingctx, addr):
    """The int64 at ``addr``, read anew each time (LLVM may not hoist it out of a loop)."""
    def codegen(context, builder, signature, args):
        return builder.load_atomic(builder.inttoptr(args[0], _I64.as_pointer()), "acquire", 8)
    return types.int64(types.intp), codegen


@intrinsic
def _store_release(typingctx, addr, value):
    """``*addr = value``, visible to other threads after everything written before it."""
    def codegen(context, builder, signature, args):
        builder.store_atomic(args[1], builder.inttoptr(args[0], _I64.as_pointer()), "release",
                             8)
        return context.get_dummy_value()
    return types.void(types.intp, types.int64), codegen


@intrinsic
def _pause(typingctx):
    """x86 ``pause``: a spin loop's courtesy to the core (and to a hyper-thread sibling)."""
    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []),
                                            "llvm.x86.sse2.pause")
        builder.call(fn, [])
        return context.get_dummy_value()
    return types.void(), codegen


_I64 = ir.IntType(64)


@njit(**JIT)
def _spin_until(addr, value, spins):
    """Whether the int64 at ``addr`` reached ``value`` within ``spins`` polls (no GIL)."""
    for _ in range(spins):
        if _load_acquire(addr) >= value:
            return True
        _pause()
    return _load_acquire(addr) >= value


@njit(**JIT)
def _signal_then_spin(done, seq, go, next_seq, spins):
    """A worker's end of a job: ``*done = seq``, then poll ``go`` for the next job."""
    _store_release(done, seq)
    return _spin_until(go, next_seq, spins)


@intrinsic
def _fetch_add(typingctx, addr, value):
    """Atomically ``*addr += value`` (int64); returns the old value."""
    def codegen(context, builder, signature, args):
        ptr = builder.inttoptr(args[0], _I64.as_pointer())
        return builder.atomic_rmw("add", ptr, args[1], "acq_rel")
    return types.int64(types.intp, types.int64), codegen


class Barrier:
    """A step barrier for threads that each run one compiled loop (:func:`barrier_wait`).

    ``state`` holds an arrival counter and an abort flag a cache line apart. Every thread
    calls ``barrier_wait(counter, abort, n * (t + 1))`` at the end of step ``t``: it adds
    its arrival and polls until all ``n`` have arrived, without the GIL (~1 us when the
    threads are on time). A thread whose kernel raised cannot arrive; :meth:`run` then sets
    the abort flag, and the others raise instead of waiting forever.
    """

    def __init__(self):
        self.state = np.zeros(16, np.int64)
        self.counter = self.state.ctypes.data
        self.abort = self.state.ctypes.data + 8 * 8
        self._first_error = None

    def run(self, kernel, jobs):
        """:func:`run` of jobs that meet at this barrier; a kernel that raises aborts the
        barrier, and the first error (the cause, not the others' aborts) is raised."""
        def job(*args):
            try:
                kernel(*args)
            except BaseException as e:
                if self._first_error is None:
                    self._first_error = e
                self.state[8] = 1
                raise

        try:
            run(job, jobs)
        except BaseException:
            if self._first_error is not None:
                raise self._first_error from None
            raise  # pragma: no cover - run() itself failed


@njit(inline="always", **JIT)
def barrier_wait(counter, abort, target):
    """Arrive at a :class:`Barrier` and wait until its counter reaches ``target``."""
    _fetch_add(counter, 1)
    while _load_acquire(counter) < target:
        if _load_acquire(abort) != 0:
            raise RuntimeError("lstm_np: another kernel thread failed (its error is raised)")
        _pause()


#: How long a worker polls for the next job before it sleeps, and how long the caller polls
#: for the workers' results beyond its own job's time before it sleeps between polls.
SPIN_S = 0.0005


class _Pool:
    """Worker threads that poll for their next job for :data:`SPIN_S`, then sleep.

    Why not ``concurrent.futures``: each hand-over there is a condition variable, and
    waking a sleeping thread took 20-45 us here (the idle vCPU halts), twice a call
    (start, and the caller waking on the result): ~65 us of a 0.5 ms call (batch 32).
    Here the caller writes a sequence number that the polling worker sees at once, and
    polls (without the GIL) for the worker's "done" number. A worker idle for longer than
    :data:`SPIN_S` blocks on a condition variable, so an idle process spins no core.

    Per worker ``w``, ``_flags[w, 0]`` is the last job handed out ("go") and
    ``_flags[w, 8]`` the last one finished ("done"), a cache line apart.
    """

    def __init__(self, n):
        self._flags = np.zeros((n, 16), np.int64)
        self._spins = _spins_for(SPIN_S)
        self._wake = threading.Condition()
        self._jobs = [None] * n
        self._errors = [None] * n
        self._seq = 0
        self._closed = False
        self.workers = [threading.Thread(target=self._work, args=(w,), daemon=True,
                                         name=f"lstm_np-{w}") for w in range(n)]
        for t in self.workers:
            t.start()

    def _addr(self, w, slot):
        return self._flags.ctypes.data + (w * 16 + slot) * 8

    def _work(self, w):
        go, done = self._addr(w, 0), self._addr(w, 8)
        last = 0  # the last job this worker did (a run may use fewer workers than there are)
        ready = _spin_until(go, last + 1, self._spins)
        while True:
            if not ready:
                with self._wake:
                    while self._flags[w, 0] <= last and not self._closed:
                        self._wake.wait()
            if self._closed:
                return
            last = int(self._flags[w, 0])
            kernel, args = self._jobs[w]
            self._jobs[w] = None
            try:
                kernel(*args)
            except BaseException as e:  # handed to the caller, which re-raises it
                self._errors[w] = e
            ready = _signal_then_spin(done, last, go, last + 1, self._spins)

    def run(self, kernel, jobs):
        self._seq += 1
        seq = self._seq
        n = len(jobs) - 1
        for w in range(n):
            self._jobs[w] = (kernel, jobs[w + 1])
        with self._wake:  # under the lock: a worker about to sleep sees it or is woken
            self._flags[:n, 0] = seq
            self._wake.notify_all()
        t0 = time.perf_counter()
        try:
            kernel(*jobs[0])
        finally:
            spins = _spins_for(SPIN_S + time.perf_counter() - t0)
            for w in range(n):
                done = self._addr(w, 8)
                while not _spin_until(done, seq, spins):
                    time.sleep(SPIN_S)  # a worker far behind (an oversubscribed machine)
                    spins = _spins_for(SPIN_S)
            errors = [e for e in self._errors[:n] if e is not None]
            self._errors[:n] = [None] * n  # this run's, even when the caller's job raised
        if errors:
            raise errors[0]

    def close(self):
        """Let the workers exit (they are daemons; this is for a pool being replaced)."""
        with self._wake:
            self._closed = True
            self._flags[:, 0] = self._seq + 1
            self._wake.notify_all()


_spin_rate = None


def _spins_for(seconds):
    """How many polls of :func:`_spin_until` take about ``seconds`` (measured once)."""
    global _spin_rate
    if _spin_rate is None:
        probe = np.zeros(1, np.int64)
        addr = probe.ctypes.data
        _spin_until(addr, 1, 10)  # compiled (or loaded) before timing
        t0 = time.perf_counter()
        _spin_until(addr, 1, 20_000)
        _spin_rate = 20_000 / max(time.perf_counter() - t0, 1e-6)
    return max(100, int(_spin_rate * seconds))


_pool: _Pool | None = None
_lock = threading.Lock()


def _forget_pool_after_fork():
    """A forked child has none of the parent's threads: it builds its own pool."""
    global _pool, _lock
    _pool = None
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_after_fork)
