"""The packed GEMM (lstm_np/kernels/packed.py) against NumPy's matrix product.

Odd shapes on purpose: rows that do not fill a panel, K = 1, column blocks of one and
several vector widths, strided operands (a column block of a wider array, as the LSTM
kernels pass them), both dtypes, accumulate and overwrite.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from lstm_np.kernels import packed
from lstm_np.kernels.packed import MR, gemm_packed, lanes, pack, pack_stacked, panels


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("M", [1, 5, MR, MR + 1, 3 * MR - 1])
@pytest.mark.parametrize("K", [1, 2, 17])
@pytest.mark.parametrize("n_vec", [1, 2, 3, 5])
@pytest.mark.parametrize("accumulate", [True, False])
def test_gemm_packed_matches_numpy(dtype, M, K, n_vec, accumulate):
    rng = np.random.default_rng(M * 100 + K * 10 + n_vec)
    L = lanes(dtype)
    N = n_vec * L
    A = rng.standard_normal((M, K)).astype(dtype)
    wide_b = rng.standard_normal((K, 3, N + L)).astype(dtype)
    b = wide_b[:, 1, L:]  # (K, N), rows strided, not starting at the array's start
    ap = pack(A)
    assert ap.shape == (-(-M // MR), K, MR)
    P = ap.shape[0]
    wide_c = rng.standard_normal((P * MR, 2 * N)).astype(dtype)
    c = wide_c[:, N:]  # (P·MR, N), rows strided
    before = wide_c.copy()
    gemm_packed(ap, b, c, accumulate)
    want = A.astype(np.float64) @ b + (before[:M, N:] if accumulate else 0.0)
    tol = 1e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(c[:M], want, rtol=tol, atol=tol * np.abs(want).max())
    np.testing.assert_array_equal(wide_c[:, :N], before[:, :N])  # the other block: untouched
    assert wide_b.dtype == np.dtype(dtype)


@pytest.mark.parametrize("transpose", [True, False])
def test_pack_stacked_is_the_stack_or_its_transpose(transpose):
    rng = np.random.default_rng(1)
    top, mid, bot = (rng.standard_normal((r, 2 * MR + 3)) for r in (4, 3, 1))
    S = np.concatenate((top, mid, bot))  # (8, 2·MR+3)
    A = S.T if transpose else S
    ap = panels(A.shape[0], A.shape[1], S.dtype)
    ap[...] = np.nan  # every entry must be written, padding included
    pack_stacked(top, mid, bot, ap, transpose, 0, ap.shape[0])
    rows = ap.transpose(0, 2, 1).reshape(-1, A.shape[1])  # (P·MR, K)
    np.testing.assert_array_equal(rows[:A.shape[0]], A)
    np.testing.assert_array_equal(rows[A.shape[0]:], 0.0)


def test_panels_of_another_height_are_refused():
    ap = np.zeros((1, 3, MR + 1), np.float32)
    b = np.zeros((3, lanes("float32")), np.float32)
    c = np.zeros((MR + 1, b.shape[1]), np.float32)
    if packed.numba_config.DISABLE_JIT:
        pytest.skip("the check guards compiled code (a stale cache); the Python twin has none")
    with pytest.raises(ValueError, match="different height"):
        gemm_packed(ap, b, c, True)


@pytest.mark.slow  # a fresh Python process (imports, JIT) takes 4-30 s
def test_avx2_build_computes_the_same_lstm():
    """The 256-bit build (AVX2 machines: 6-row panels, 8 float32 lanes), forced on this
    machine in a fresh process without the on-disk cache: the wide LSTM kernels still
    equal the NumPy engine."""
    code = (
        "import numpy as np\n"
        "from lstm_np.kernels import packed\n"
        "from lstm_np.layers.engine import lstm_forward, lstm_backward\n"
        "assert packed.VECTOR_BYTES == 32 and packed.MR == 6, packed.MR\n"
        "rng = np.random.default_rng(0)\n"
        "for dt in ('float32', 'float64'):\n"
        "    a = lambda *s: (rng.standard_normal(s) * 0.5).astype(dt)\n"
        "    B, T, F, H = 19, 4, 3, 5\n"
        "    args = (a(B, T, F), a(F, 4 * H), a(H, 4 * H), a(4 * H), a(B, H), a(B, H))\n"
        "    d = (a(B, T, H), a(B, H), a(B, H))\n"
        "    res = {}\n"
        "    for eng in ('numpy', 'numba'):\n"
        "        out, (h, c), cache = lstm_forward(*args, engine=eng, keep=True)\n"
        "        dx, g, s = lstm_backward(*d, cache)\n"
        "        res[eng] = [out, h, c, dx, *g, *s]\n"
        "    for u, v in zip(res['numba'], res['numpy']):\n"
        "        err = np.abs(u - v).max() / max(1.0, np.abs(v).max())\n"
        "        assert err < (1e-5 if dt == 'float32' else 1e-12), err\n"
        "print('ok')\n")
    env = dict(os.environ, LSTM_NP_VECTOR_BYTES="32", LSTM_NP_JIT_CACHE="0")
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0 and "ok" in run.stdout, run.stderr[-3000:]


@pytest.mark.parametrize("transpose", [True, False])
def test_pack_parallel_equals_one_thread(transpose, monkeypatch):
    from lstm_np.kernels import threads

    monkeypatch.setattr(packed, "PARALLEL_PACK_BYTES", 0)
    monkeypatch.setattr(threads.numba, "get_num_threads", lambda: 3)
    rng = np.random.default_rng(2)
    top, mid, bot = (rng.standard_normal((r, 5 * MR + 2)).astype("float32") for r in (6, 5, 1))
    rows = (5 * MR + 2) if transpose else 12
    K = 12 if transpose else 5 * MR + 2
    one, many = panels(rows, K, np.float32), panels(rows, K, np.float32)
    many[...] = np.nan
    pack_stacked(top, mid, bot, one, transpose, 0, one.shape[0])
    packed.pack_parallel(top, mid, bot, many, transpose)
    np.testing.assert_array_equal(many, one)
