"""The stateful forecasting loop: batch 1, states carried across batches, reset each epoch."""
import keras
import numpy as np

series = np.sin(np.arange(40) / 3.0).astype("float32")
x = series[:-1].reshape(-1, 1, 1)
y = series[1:].reshape(-1, 1)

inputs = keras.Input(batch_shape=(1, 1, 1))
lstm = keras.layers.LSTM(4, stateful=True)
outputs = keras.layers.Dense(1)(lstm(inputs))
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="mse")
for _epoch in range(2):
    model.fit(x, y, epochs=1, batch_size=1, verbose=0, shuffle=False)
    lstm.reset_state()
print(model.predict(x[:3], batch_size=1, verbose=0).ravel())
