"""Many-to-many forecasting: train on ``X[:, :-1] -> X[:, 1:]``, warm the state, generate.

The question: how do I forecast *several* steps past the end of a series with an LSTM?
The recipe of the "Understanding Keras LSTMs" answer, on the airline passengers:

1. **train** a many-to-many model (``return_sequences=True``) to predict, at every step, the
   next step: inputs ``X[:, :-1]``, targets ``X[:, 1:]`` (windows of the training years);
2. **warm** a stateful copy of it (same weights, batch 1, any number of steps) by predicting
   on the whole known part: its state now summarises the 9 known years, and its last output
   is the forecast of the first unknown month;
3. **generate**: feed that forecast back as the next input, one step at a time, for 3 years.
   The stateful layer keeps its state between the ``predict`` calls.

The series is log-transformed first (the seasonal swings grow with the level; in logs they
do not) and scaled with the statistics of the known years only: the future is not seen.
The script prints the shapes, the loss and the forecast RMSE, and writes
``05_stateful_forecast.png`` to ``$LSTM_NP_OUT``. ``LSTM_NP_QUICK=1``: a few epochs.

An honest note on the numbers: with 72 overlapping windows of one short series, the
3-year forecast error depends on the settings (measured here: 59 to 112 thousand
passengers RMSE for 8 to 32 units and 100 to 300 epochs, against 74 for simply repeating
the last known year). The seasonal shape is learnt well; the upward trend is not, since
the future levels lie above every level seen in training. The recipe is the point.
"""

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from lstm_np import LSTM, Dense, Sequential, TimeDistributed, datasets
from lstm_np.data import MinMaxScaler, sliding_windows

QUICK = os.environ.get("LSTM_NP_QUICK") == "1"
OUT = Path(os.environ.get("LSTM_NP_OUT", "out"))
OUT.mkdir(parents=True, exist_ok=True)
EPOCHS = 15 if QUICK else 100
KNOWN, HORIZON, WINDOW, UNITS = 108, 36, 36, 32  # 9 years known, 3 to forecast
np.random.seed(0)

# %% [markdown]
# ## Data: log passengers, scaled on the known years

# %%
series, months = datasets.airline_passengers(return_months=True)  # (144,)
logs = np.log(series).reshape(-1, 1)  # (144, 1)
scaler = MinMaxScaler((-1, 1)).fit(logs[:KNOWN])  # statistics of the known years only
scaled = scaler.transform(logs).astype("float32")  # (144, 1)
known = scaled[:KNOWN]  # (108, 1)
print(f"series {series.shape}, known part {known.shape}, horizon {HORIZON} months")

# %% [markdown]
# ## Training pairs: every window of WINDOW + 1 known months, shifted by one
# ``X[:, :-1]`` are months t .. t+35 and ``X[:, 1:]`` months t+1 .. t+36: at every step the
# target is the next month.

# %%
windows = sliding_windows(known, sequence_length=WINDOW + 1)  # (72, 37, 1)
X_in, X_out = windows[:, :-1], windows[:, 1:]  # (72, 36, 1) each
print(f"windows {windows.shape}: inputs X[:, :-1] {X_in.shape}, targets X[:, 1:] {X_out.shape}")

model = Sequential([
    LSTM(UNITS, return_sequences=True, input_shape=(None, 1), seed=3),  # any length
    TimeDistributed(Dense(1, seed=4)),
])
model.compile(loss="mse", optimizer="adam")
print(f"training model: {model.input_shape} -> {model.output_shape}")
history = model.fit(X_in, X_out, epochs=EPOCHS, batch_size=8, verbose=0)
loss = history.history["loss"]
print(f"loss next-month training: {loss[0]:.3g} -> {loss[-1]:.3g}")

# %% [markdown]
# ## Warm a stateful copy on the known part, then generate
# Batch 1 and ``None`` time steps: the same model can take the 108 known months in one call,
# then one month per call. The weights do not depend on either.

# %%
forecaster = Sequential([
    LSTM(UNITS, return_sequences=True, stateful=True, batch_input_shape=(1, None, 1)),
    TimeDistributed(Dense(1)),
])
forecaster.set_weights(model.get_weights())
forecaster.reset_states()
warm = forecaster.predict(known[None], verbose=0)  # (1, 108, 1): one-step-ahead fits
print(f"warm-up: known[None] {known[None].shape} -> {warm.shape}; state "
      f"{[s.shape for s in forecaster.layers[0].states]}")
step = warm[:, -1:]  # (1, 1, 1): the forecast of month 109
future = [step]
for _ in range(HORIZON - 1):
    step = forecaster.predict(step, verbose=0)  # (1, 1, 1): continues from the state
    future.append(step)
future = np.concatenate(future, axis=1)[0]  # (36, 1)
print(f"generated future {future.shape}")

to_passengers = lambda a: np.exp(scaler.inverse_transform(a))[:, 0]  # noqa: E731
forecast = to_passengers(future)  # (36,)
fitted = to_passengers(warm[0])  # (108,): the forecasts of months 2..109
truth = series[KNOWN:]
rmse = float(np.sqrt(np.mean((forecast - truth) ** 2)))
last_year = np.tile(series[KNOWN - 12:KNOWN], HORIZON // 12)  # (36,): a baseline to beat
naive = float(np.sqrt(np.mean((last_year - truth) ** 2)))
print(f"forecast RMSE over {HORIZON} months: {rmse:.1f} thousand passengers "
      f"(repeating the last known year: {naive:.1f})")

# %% [markdown]
# ## Plot

# %%
t = np.arange(len(series))
fig, ax = plt.subplots(figsize=(10, 4.5))
ax.axvspan(KNOWN - 0.5, len(series) - 0.5, color="0.92", label="unknown to the model")
ax.plot(t, series, color="0.2", lw=1.5, label="passengers")
ax.plot(t[1:KNOWN + 1], fitted, color="tab:blue", lw=1.1, alpha=0.8,
        label="warm-up: one month ahead, true inputs")
ax.plot(t[KNOWN:], forecast, color="tab:red", lw=1.8,
        label=f"generated: {HORIZON} months, own outputs fed back")
ax.set_xticks(t[::12], [months[i][:4] for i in t[::12]])
ax.set_xlim(-0.5, len(series) - 0.5)
ax.set_ylabel("passengers (thousands)")
ax.set_title(f"Many-to-many LSTM({UNITS}) trained on X[:, :-1] -> X[:, 1:], {EPOCHS} epochs: "
             f"forecast RMSE {rmse:.1f}", fontsize=10)
ax.legend(loc="upper left", frameon=False, fontsize=9)
ax.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(OUT / "05_stateful_forecast.png", dpi=100)
print(f"wrote {OUT / '05_stateful_forecast.png'}")
