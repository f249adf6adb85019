"""The kernels' thread pool (lstm_np/kernels/threads.py): every job runs exactly once, the
caller returns only when all are done, errors reach the caller, idle workers wake up."""

import multiprocessing
import threading
import time

import numpy as np
import pytest

from lstm_np.kernels import threads

needs_pool = pytest.mark.skipif(threads._OPENBLAS is None or threads.numba_config.DISABLE_JIT,
                                reason="runs serially without SciPy's OpenBLAS or the JIT")


def _fill(out, i, value):
    out[i] = value


def _fill_and_record(out, i, value, seen):
    out[i] = value
    seen.append(threading.get_ident())


@needs_pool
@pytest.mark.parametrize("n_jobs", [2, 3, 5])
def test_every_job_runs_once_on_distinct_threads(n_jobs):
    for call in range(300):
        out = np.full(n_jobs, -1.0)
        seen = []
        jobs = [(out, i, call + i) for i in range(n_jobs)]
        threads.run(_fill_and_record, [args + (seen,) for args in jobs])
        np.testing.assert_array_equal(out, call + np.arange(n_jobs))
        assert len(seen) == n_jobs and len(set(seen)) == n_jobs  # the caller + n-1 workers
        assert seen.count(threading.get_ident()) == 1


@needs_pool
def test_caller_waits_for_a_slower_worker():
    out = []

    def job(i):
        if i == 1:
            time.sleep(0.02)  # far past the caller's own job and the spin budget
        out.append(i)

    threads.run(job, [(0,), (1,)])
    assert sorted(out) == [0, 1]


@needs_pool
def test_sleeping_workers_wake_up():
    out = np.zeros(2)
    for pause in (0.0, 0.002, 0.02):
        time.sleep(pause)  # past SPIN_S the worker is blocked on its condition
        out[:] = 0
        threads.run(_fill, [(out, 0, pause + 1), (out, 1, pause + 2)])
        np.testing.assert_array_equal(out, [pause + 1, pause + 2])


@needs_pool
def test_worker_error_reaches_the_caller_and_the_pool_survives():
    def job(i):
        if i == 1:
            raise ValueError("from the worker")

    with pytest.raises(ValueError, match="from the worker"):
        threads.run(job, [(0,), (1,)])
    out = np.zeros(2)
    threads.run(_fill, [(out, 0, 1.0), (out, 1, 2.0)])
    np.testing.assert_array_equal(out, [1.0, 2.0])


@needs_pool
def test_caller_error_still_waits_for_the_workers():
    finished = []

    def job(i):
        if i == 0:
            raise RuntimeError("from the caller's job")
        time.sleep(0.01)
        finished.append(i)

    with pytest.raises(RuntimeError, match="caller's job"):
        threads.run(job, [(0,), (1,)])
    assert finished == [1]  # the worker's job was over before run() raised


@needs_pool
def test_errors_of_a_run_do_not_leak_into_the_next():
    def job(i):
        raise RuntimeError(f"job {i}")  # the caller's and the worker's both raise

    with pytest.raises(RuntimeError, match="job 0"):
        threads.run(job, [(0,), (1,)])
    out = np.zeros(2)
    threads.run(_fill, [(out, 0, 1.0), (out, 1, 2.0)])  # the worker's error is not re-raised
    np.testing.assert_array_equal(out, [1.0, 2.0])


@needs_pool
def test_pool_grows_and_old_workers_exit():
    threads.run(lambda: None, [(), ()])
    old = threads._pool
    if len(old.workers) >= 3:  # an earlier test grew it: start from a 1-worker pool
        old.close()
        threads._pool = old = threads._Pool(1)
    out = np.zeros(4)
    threads.run(_fill, [(out, i, i + 1.0) for i in range(4)])
    np.testing.assert_array_equal(out, [1, 2, 3, 4])
    assert threads._pool is not old and len(threads._pool.workers) >= 3
    for t in old.workers:
        t.join(timeout=5)
        assert not t.is_alive()


@needs_pool
def test_runs_using_fewer_workers_than_the_pool_has():
    out = np.zeros(4)
    threads.run(_fill, [(out, i, 1.0) for i in range(4)])
    for call in range(50):  # worker 0 only, then all of them, alternating
        n = 2 if call % 2 else 4
        out[:] = 0
        threads.run(_fill, [(out, i, call + i) for i in range(n)])
        np.testing.assert_array_equal(out[:n], call + np.arange(n))


@needs_pool
def test_concurrent_callers():
    errors = []

    def caller(k):
        try:
            for call in range(100):
                out = np.zeros(2)
                threads.run(_fill, [(out, 0, k + call), (out, 1, -k - call)])
                assert out[0] == k + call and out[1] == -k - call
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    callers = [threading.Thread(target=caller, args=(k,)) for k in range(4)]
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    assert errors == []


def _child(queue):
    out = np.zeros(2)
    threads.run(_fill, [(out, 0, 3.0), (out, 1, 4.0)])
    queue.put(out.tolist())


@needs_pool
def test_forked_child_builds_its_own_pool():
    threads.run(lambda: None, [(), ()])  # the parent's pool exists before the fork
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue,))
    proc.start()
    result = queue.get(timeout=60)
    proc.join(timeout=60)
    assert result == [3.0, 4.0] and proc.exitcode == 0


def test_single_job_runs_on_the_caller():
    seen = []
    threads.run(lambda: seen.append(threading.get_ident()), [()])
    assert seen == [threading.get_ident()]


def test_spin_calibration_is_positive():
    if threads.numba_config.DISABLE_JIT:
        pytest.skip("the polls are compiled code")
    assert threads._spins_for(0.0) == 100 and threads._spins_for(1.0) > 1000
