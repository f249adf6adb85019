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
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(1234)
