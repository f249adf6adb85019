"""Fixtures shared by the kernel tests: the float32 math mode (``math_mode``: True = fast;
``fast``: the same switch with the other ids) and the threaded row chunks (``chunking``,
``wide_chunks``), forced by lowering the thresholds."""

import pytest

from lstm_np import config
from lstm_np.kernels import threads


@pytest.fixture(params=[False, True], ids=["fast", "exact"])
def math_mode(request, monkeypatch):
    monkeypatch.setattr(config, "FAST_MATH", not request.param)
    return not request.param


@pytest.fixture(params=["one_chunk", "chunks"])
def wide_chunks(request, monkeypatch):
    """One chunk, or several (chunk edges inside the padding unit included)."""
    if request.param == "chunks":
        if threads._OPENBLAS is None:
            pytest.skip("SciPy's OpenBLAS not found: the kernels stay serial")
        monkeypatch.setattr(threads, "MIN_PARALLEL_WORK", 0)
        monkeypatch.setattr(threads.numba, "get_num_threads", lambda: 3)
    return request.param


@pytest.fixture(params=[False, True], ids=["exact", "fast"])
def fast(request, monkeypatch):
    monkeypatch.setattr(config, "FAST_MATH", request.param)
    return request.param


@pytest.fixture(params=["one_chunk", "chunks"])
def chunking(request, monkeypatch):
    if request.param == "chunks":
        if threads._OPENBLAS is None:
            pytest.skip("SciPy's OpenBLAS not found: the kernels stay serial")
        monkeypatch.setattr(threads, "MIN_PARALLEL_WORK", 0)
        monkeypatch.setattr(threads, "MIN_ROWS", 2)
        monkeypatch.setattr(threads.numba, "get_num_threads", lambda: 3)
    return request.param
