"""A many-to-one LSTM regression: fit, evaluate, predict (agrees on both sides)."""
import numpy as np
from keras.layers import LSTM, Dense
from keras.models import Sequential

rng = np.random.default_rng(1)
x = rng.normal(size=(48, 5, 3)).astype("float32")
y = x.sum(axis=(1, 2))[:, None] * 0.1

model = Sequential([LSTM(6, input_shape=(5, 3)), Dense(1)])
model.compile(optimizer="adam", loss="mse", metrics=["mae"])
model.fit(x, y, epochs=3, batch_size=16, verbose=0)
print("eval", model.evaluate(x, y, verbose=0))
print("pred", model.predict(x[:4], verbose=0).ravel())
