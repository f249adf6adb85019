"""Builds a different model on each side (it looks at which library it got)."""
import keras
import numpy as np
from keras import layers

units = 3 if keras.__name__ == "lstm_np" else 4
model = keras.Sequential([keras.Input(shape=(4, 2)), layers.LSTM(units), layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")
model.fit(np.ones((8, 4, 2), "float32"), np.ones((8, 1), "float32"), epochs=1, verbose=0)
