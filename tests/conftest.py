"""Test setup: Keras 3 runs as the oracle on the torch backend (float64-exact on CPU).

KERAS_BACKEND must be set before anything imports keras.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("KERAS_HOME", os.path.join(os.path.dirname(__file__), ".keras_home"))
