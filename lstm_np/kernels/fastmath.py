"""Vectorisable float32 ``tanh`` and ``sigmoid`` for the Numba kernels (the fast-math path).

Why: PyPI's llvmlite has no SVML, so ``math.tanh`` / ``math.exp`` inside ``@njit`` stay
scalar libm calls (about 10 ns each) and stop LLVM from vectorising the gate loop. These
functions use only +, *, / and min/max, so a loop over them compiles to SIMD code (8 float32
lanes per AVX2 instruction; about 0.4 ns per element here). They must be inlined
(``inline='always'``) and called from kernels compiled with ``error_model='numpy'``: a
division that may raise ZeroDivisionError is a branch, and a branch stops vectorisation.

* ``tanh32``: Eigen's rational approximation (``generic_fast_tanh_float``): odd degree-13
  numerator over even degree-6 denominator on ``x`` clamped to +-7.9053111 (where float32
  tanh is already +-1 to within half an ulp).
* ``sigmoid32``: ``0.5 + 0.5 tanh32(x / 2)``.

Measured max errors against float64 ``np.tanh`` / exact sigmoid over 2e7 float32 points on
[-30, 30] (``tests/kernels/test_kernels_lstm.py::test_fast_math_error`` re-measures them):
tanh 3.9e-7 absolute (about 3 ulp at 1; most of it is the clamp at 7.905), sigmoid 2.3e-7
(half of tanh's, plus rounding).
Float64 never uses these: it calls libm (``LSTM_NP_FAST_MATH`` in :mod:`lstm_np.config`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..config import JIT

_f = np.float32
# Eigen's generic_fast_tanh_float coefficients.
_CLAMP = _f(7.90531110763549805)
_A1, _A3, _A5 = _f(4.89352455891786e-03), _f(6.37261928875436e-04), _f(1.48572235717979e-05)
_A7, _A9 = _f(5.12229709037114e-08), _f(-8.60467152213735e-11)
_A11, _A13 = _f(2.00018790482477e-13), _f(-2.76076847742355e-16)
_B0, _B2 = _f(4.89352518554385e-03), _f(2.26843463243900e-03)
_B4, _B6 = _f(1.18534705686654e-04), _f(1.19825839466702e-06)

_HALF = _f(0.5)


@njit(inline='always', **JIT)
def tanh32(x):
    """float32 tanh, vectorisable; max error 3.9e-7 absolute."""
    x = min(max(x, -_CLAMP), _CLAMP)
    x2 = x * x
    p = x2 * _A13 + _A11
    p = x2 * p + _A9
    p = x2 * p + _A7
    p = x2 * p + _A5
    p = x2 * p + _A3
    p = x2 * p + _A1
    q = x2 * _B6 + _B4
    q = x2 * q + _B2
    q = x2 * q + _B0
    return x * p / q


@njit(inline='always', **JIT)
def sigmoid32(x):
    """float32 logistic sigmoid, vectorisable: ``0.5 + 0.5 tanh(x / 2)`` (one rational, no
    exp: 0.4 ns against 0.7 ns for ``1 / (1 + exp32(-x))`` per element); max error 2.3e-7
    absolute (relative accuracy is lost where sigmoid is below ~1e-6, irrelevant in a gate)."""
    return _HALF + _HALF * tanh32(_HALF * x)
