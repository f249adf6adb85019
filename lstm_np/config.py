"""One place for the knobs: JIT flags, dtypes, engines.

Every ``@njit`` in the package takes its options from :data:`JIT`, so that a
benchmark or a debugging session changes them in one place (as stumpy does).
Numba's on-disk cache is written next to the source when that directory is
writable and otherwise falls back to the user cache directory
(``$NUMBA_CACHE_DIR`` or ``~/.cache/numba``), so a read-only install still caches.
"""

from __future__ import annotations

import os

import numpy as np

#: Options shared by every compiled kernel. ``fastmath`` stays off: the kernels
#: must equal the NumPy engine to 1e-12 in float64, and reassociation breaks that.
JIT = dict(cache=os.environ.get("LSTM_NP_JIT_CACHE", "1") != "0", nogil=True, fastmath=False)

#: Fast math for the Numba engine's float32 tanh/sigmoid LSTM: vectorised approximations
#: (max error 3.9e-7 tanh, 2.3e-7 sigmoid; see lstm_np/kernels/fastmath.py) instead of scalar
#: libm calls. Float64 always uses libm. ``LSTM_NP_FAST_MATH=0`` selects the exact path
#: (teaching, bit-level verification); set it before importing lstm_np, or assign
#: ``lstm_np.config.FAST_MATH`` at run time.
FAST_MATH = os.environ.get("LSTM_NP_FAST_MATH", "1") != "0"

#: The engines a recurrent layer can run on.
ENGINES = ("numba", "numpy")
DEFAULT_ENGINE = os.environ.get("LSTM_NP_ENGINE", "numba")

#: The dtypes a layer can compute in (Keras' ``dtype=`` argument).
DTYPES = ("float32", "float64")


def resolve_dtype(dtype) -> np.dtype:
    """Return the NumPy dtype for a layer's ``dtype=`` argument, or raise a clear error."""
    if dtype is None:
        return np.dtype("float32")
    name = getattr(dtype, "name", dtype)
    if isinstance(name, type):
        name = np.dtype(name).name
    if str(name) not in DTYPES:
        raise TypeError(
            f"dtype must be one of {DTYPES}; got {dtype!r}. "
            "Pass dtype='float32' (Keras' default) or dtype='float64'."
        )
    return np.dtype(str(name))


def resolve_engine(engine) -> str:
    """Validate an ``engine=`` argument."""
    if engine is None:
        return DEFAULT_ENGINE
    if engine not in ENGINES:
        raise ValueError(
            f"engine must be one of {ENGINES}; got {engine!r}. "
            "'numba' is the compiled fast path, 'numpy' the readable reference."
        )
    return engine
