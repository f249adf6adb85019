"""Test setup: Keras 3 runs as the oracle on the torch backend (float64-exact on CPU).

KERAS_BACKEND must be set before anything imports keras.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("KERAS_HOME", os.path.join(os.path.dirname(__file__), ".keras_home"))

# CI runs every hypothesis test on a fixed set of examples (the same on every run), so a
# landing never depends on the draw; local runs keep exploring. LSTM_NP_EXAMPLES-style long
# hunts are opt-in per test module.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

import sys  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_keras_initializers():
    """Keras' own initial weights (where a test lets Keras draw them) are the same on every
    run, so a trajectory comparison never passes or fails by the draw."""
    if sys.modules.get("keras") is not None:
        sys.modules["keras"].utils.set_random_seed(1234)


@pytest.fixture
def float64_keras():
    """Keras in float64 under the oracle's float64 policy (keras_oracle.keras_precision);
    each Keras layer still gets dtype="float64", since Keras caches its global dtype policy
    from the floatx of the first layer ever made. Skips with the reason without Keras."""
    from keras_oracle import keras_precision

    with keras_precision("float64"):
        yield


@pytest.fixture
def split_units(monkeypatch):
    """Inference of one row chunk with its hidden units split between 3 threads, from any
    step size and any H (also 4-15 rows, padded to 16), as a batch of <= 16 rows with a big
    H runs on a multi-core machine. Returns the thread counts of the split calls made."""
    from lstm_np.kernels import lstm as kernels
    from lstm_np.kernels import lstm_wide, threads

    if threads._OPENBLAS is None or threads.numba_config.DISABLE_JIT:
        pytest.skip("runs serially without SciPy's OpenBLAS or the JIT")
    monkeypatch.setattr(lstm_wide, "UNIT_SPLIT_MIN_STEP_WORK", 0)
    monkeypatch.setattr(lstm_wide, "UNIT_SPLIT_MIN_UNITS", 1)
    monkeypatch.setattr(kernels, "WIDE_SMALL_BATCH_MIN_UNITS", 1)
    monkeypatch.setattr(threads.numba, "get_num_threads", lambda: 3)
    calls = []
    real = lstm_wide._forward_split_units
    monkeypatch.setattr(lstm_wide, "_forward_split_units",
                        lambda *a: calls.append(a[-1]) or real(*a))
    return calls
