"""Keras 2's stateful spelling, batch_input_shape, which Keras 3 refuses."""
import numpy as np
from keras.layers import LSTM, Dense
from keras.models import Sequential

model = Sequential([LSTM(3, batch_input_shape=(2, 4, 1), stateful=True), Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(np.ones((4, 4, 1), "float32"), np.ones((4, 1), "float32"), batch_size=2, epochs=2,
          verbose=0, shuffle=False)
