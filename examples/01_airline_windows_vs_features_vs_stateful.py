"""Airline passengers: look_back as time steps, as features, or stateful with batch size 1?

The question: the classic tutorial cuts the series into windows of ``look_back`` months.
Where do those months go in ``(samples, time steps, features)``, and what changes when the
LSTM is stateful? Three models, same data, same units, same epochs:

1. **windows as time steps**: ``X (92, 3, 1)``: the LSTM steps through 3 months of 1 number;
2. **windows as features**: ``X (92, 1, 3)``: one step of 3 numbers (the LSTM has nothing to
   carry from step to step: it is a small feed-forward net with gates);
3. **stateful, batch size 1**: ``X (92, 3, 1)`` again, but each batch starts from the state
   the previous batch left behind (``stateful=True``, ``shuffle=False``), reset every epoch.

It prints the shapes at every stage, the train/test RMSE in thousands of passengers and
writes ``01_airline_forecast.png`` and ``01_airline_loss.png`` to ``$LSTM_NP_OUT`` (default
``./out``). ``LSTM_NP_QUICK=1`` trains for a few epochs only (a smoke test, not a result).

What the full run shows (100 epochs, seeds as below; train / test RMSE in thousands):
time steps 21.9 / 48.1, features 24.0 / 59.4, stateful 27.1 / 62.0. With 3 months of
context the three are close: the layout decides what the LSTM *can* do (recur over months,
or not), and the carried state of the stateful model mostly repeats months the overlapping
window already holds. All three lag the series by about a month on the test years, whose
peaks lie beyond anything seen in training.
"""

# %%
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from lstm_np import LSTM, Dense, Sequential, datasets
from lstm_np.data import MinMaxScaler, create_dataset, train_test_split

QUICK = os.environ.get("LSTM_NP_QUICK") == "1"  # CI smoke run: few epochs
OUT = Path(os.environ.get("LSTM_NP_OUT", "out"))
OUT.mkdir(parents=True, exist_ok=True)
EPOCHS = 15 if QUICK else 100  # the tutorial trains 100 epochs of batch size 1
LOOK_BACK, UNITS = 3, 4
np.random.seed(7)  # fit(shuffle=True) draws its order from NumPy's global generator

# %% [markdown]
# ## The data: 144 months, scaled to [0, 1], split 67 / 33 in time

# %%
series, months = datasets.airline_passengers(return_months=True)  # (144,)
scaler = MinMaxScaler((0, 1))
dataset = scaler.fit_transform(series.reshape(-1, 1))  # (144, 1)
train, test = train_test_split(dataset, 0.67)  # (96, 1), (48, 1): no shuffling of time
trainX, trainY = create_dataset(train, LOOK_BACK)  # (92, 3), (92,)
testX, testY = create_dataset(test, LOOK_BACK)  # (44, 3), (44,)
print(f"series {series.shape}  dataset {dataset.shape}  train {train.shape}  test {test.shape}")
print(f"create_dataset(look_back={LOOK_BACK}): trainX {trainX.shape} trainY {trainY.shape}  "
      f"testX {testX.shape} testY {testY.shape}")

# %% [markdown]
# ## The same windows, two layouts
# The numbers are identical; only the axis they sit on differs. On the time axis the LSTM
# applies its recurrence 3 times; on the feature axis it sees them all at once, once.

# %%
layouts = {
    "time steps": lambda a: a.reshape(len(a), LOOK_BACK, 1),  # (N, 3, 1)
    "features": lambda a: a.reshape(len(a), 1, LOOK_BACK),  # (N, 1, 3)
}
for name, shape_it in layouts.items():
    print(f"look_back as {name:<10}: trainX {shape_it(trainX).shape}  "
          f"testX {shape_it(testX).shape}")


def rmse(model, X, y, batch_size):
    """RMSE in passengers: predictions and targets scaled back with the same scaler."""
    pred = scaler.inverse_transform(model.predict(X, batch_size=batch_size, verbose=0))  # (N, 1)
    true = scaler.inverse_transform(y.reshape(-1, 1))  # (N, 1)
    return float(np.sqrt(np.mean((pred - true) ** 2))), pred[:, 0]


results = {}

# %% [markdown]
# ## 1 and 2: stateless models, one per layout
# Stateless: every window starts from h = c = 0, so the order of the samples does not
# matter and fit may shuffle them (its default).

# %%
for name, shape_it in layouts.items():
    Xtr, Xte = shape_it(trainX), shape_it(testX)
    model = Sequential([LSTM(UNITS, input_shape=Xtr.shape[1:], seed=7), Dense(1, seed=8)])
    model.compile(loss="mean_squared_error", optimizer="adam")
    start = time.perf_counter()
    history = model.fit(Xtr, trainY, epochs=EPOCHS, batch_size=1, verbose=0)
    losses = history.history["loss"]
    print(f"[{name}] model output {model.output_shape}, weights "
          f"{[w.shape for w in model.get_weights()]}")
    print(f"loss look_back as {name}: {losses[0]:.5f} -> {losses[-1]:.5f} "
          f"({time.perf_counter() - start:.1f} s)")
    results[f"look_back as {name}"] = dict(model=model, losses=losses, Xtr=Xtr, Xte=Xte, bs=None)

# %% [markdown]
# ## 3: stateful, batch size 1
# ``batch_input_shape=(1, 3, 1)`` fixes the batch size: the layer keeps one (h, c) per
# sample slot. ``shuffle=False`` keeps the windows in time order so that the state handed
# from batch k to batch k+1 belongs to the previous month; ``reset_states()`` after every
# epoch starts the next pass through the series from zeros, as the tutorial does.

# %%
Xtr, Xte = layouts["time steps"](trainX), layouts["time steps"](testX)
model = Sequential([LSTM(UNITS, stateful=True, batch_input_shape=(1, LOOK_BACK, 1), seed=7),
                    Dense(1, seed=8)])
model.compile(loss="mean_squared_error", optimizer="adam")
losses = []
start = time.perf_counter()
for _ in range(EPOCHS):
    h = model.fit(Xtr, trainY, epochs=1, batch_size=1, shuffle=False, verbose=0)
    model.reset_states()  # the state of December 1956 must not leak into January 1949
    losses.append(h.history["loss"][0])
print(f"[stateful] state shapes after a batch: {[s.shape for s in model.layers[0].states]}")
print(f"loss stateful batch 1: {losses[0]:.5f} -> {losses[-1]:.5f} "
      f"({time.perf_counter() - start:.1f} s)")
results["stateful, batch 1"] = dict(model=model, losses=losses, Xtr=Xtr, Xte=Xte, bs=1)

# %% [markdown]
# ## Scores in passengers (thousands)
# For the stateful model, predicting the train windows in order rebuilds the state; the test
# windows then start a fresh pass from zeros (reset_states), as the tutorial does.

# %%
print(f"{'model':<26}{'train RMSE':>12}{'test RMSE':>12}")
for name, r in results.items():
    r["train_rmse"], r["train_pred"] = rmse(r["model"], r["Xtr"], trainY, r["bs"])
    if r["bs"]:
        r["model"].reset_states()
    r["test_rmse"], r["test_pred"] = rmse(r["model"], r["Xte"], testY, r["bs"])
    print(f"{name:<26}{r['train_rmse']:>12.2f}{r['test_rmse']:>12.2f}")

# %% [markdown]
# ## Plots: the forecasts, and the training losses

# %%
t = np.arange(len(series))
train_at = t[LOOK_BACK:LOOK_BACK + len(trainY)]  # the month each train prediction predicts
test_at = t[len(train) + LOOK_BACK:len(train) + LOOK_BACK + len(testY)]
fig, axes = plt.subplots(len(results), 1, figsize=(9, 8.5), sharex=True)
for ax, (name, r) in zip(axes, results.items(), strict=True):
    ax.axvspan(len(train) - 0.5, len(series) - 0.5, color="0.92", label="test period")
    ax.plot(t, series, color="0.2", lw=1.5, label="passengers")
    ax.plot(train_at, r["train_pred"], color="tab:blue", lw=1.3, label="prediction (train)")
    ax.plot(test_at, r["test_pred"], color="tab:red", lw=1.3, label="prediction (test)")
    ax.set_title(f"{name}: train RMSE {r['train_rmse']:.1f}, test RMSE {r['test_rmse']:.1f}",
                 fontsize=10)
    ax.set_ylabel("thousands")
    ax.grid(alpha=0.3)
axes[0].legend(loc="upper left", frameon=False, fontsize=8)
ticks = t[::12]
axes[-1].set_xticks(ticks, [months[i][:4] for i in ticks])
axes[-1].set_xlabel("year")
fig.suptitle(f"LSTM({UNITS}), look_back {LOOK_BACK}, {EPOCHS} epochs of batch size 1")
fig.tight_layout()
fig.savefig(OUT / "01_airline_forecast.png", dpi=100)

fig, ax = plt.subplots(figsize=(7, 4))
for name, r in results.items():
    ax.plot(np.arange(1, EPOCHS + 1), r["losses"], label=name)
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("training MSE (scaled)")
ax.set_title("Training loss")
ax.legend(frameon=False)
ax.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(OUT / "01_airline_loss.png", dpi=100)
print(f"wrote {OUT / '01_airline_forecast.png'} and {OUT / '01_airline_loss.png'}")
