"""Many-to-one or many-to-many: what does ``return_sequences`` change, and what shape must y have?

The question: N tanks are measured every hour for 5 hours, two sensors each (pressure,
temperature), so ``X`` is ``(N tanks, 5 hours, 2 sensors)`` = (samples, time steps,
features). Two tasks on the same data:

* **many-to-one**: from the 5 hours, predict hour 6: ``LSTM(return_sequences=False)`` gives
  one vector per tank ``(N, units)``, ``Dense(2)`` one prediction ``(N, 2)``, so ``y (N, 2)``;
* **many-to-many**: after every hour, predict the next one: ``LSTM(return_sequences=True)``
  gives one vector per hour ``(N, 5, units)``, ``TimeDistributed(Dense(2))`` one prediction
  per hour ``(N, 5, 2)``, so ``y (N, 5, 2)``: the inputs shifted by one hour.

It also shows the error ``fit`` raises when y has the shape of the other task, and plots one
tank's series with both models' predictions and the many-to-many error per hour (the first
hours have the least history). Writes ``02_tanks_predictions.png`` to ``$LSTM_NP_OUT``.
``LSTM_NP_QUICK=1``: fewer tanks and epochs.

The tanks are synthetic: each heats (or cools) at its own rate with a daily-cycle wobble and
leaks at its own rate; pressure follows temperature (ideal gas at fixed volume) minus the
leak. So the next hour is predictable from the past ones, and the rates must be *inferred
from several hours*: one hour alone is not enough.

What the full run shows (1024 tanks, 60 epochs): the many-to-many model's error falls from
0.057 (standardised MSE) for hour 2, predicted from one hour, to 0.002 for hours 5 and 6;
the many-to-one model predicts hour 6 about as well (0.004). Same LSTM weight shapes, a
different output per step or per sequence: which to use follows from the targets you have.
"""

# %%
import os
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from lstm_np import LSTM, Dense, Sequential, TimeDistributed

QUICK = os.environ.get("LSTM_NP_QUICK") == "1"
OUT = Path(os.environ.get("LSTM_NP_OUT", "out"))
OUT.mkdir(parents=True, exist_ok=True)
N_TANKS = 256 if QUICK else 1024
EPOCHS = 15 if QUICK else 60
HOURS, UNITS = 5, 16
np.random.seed(0)

# %% [markdown]
# ## Synthetic tanks: 6 hours of (pressure, temperature) per tank

# %%
rng = np.random.default_rng(0)
hours = np.arange(HOURS + 1)  # 6 hours: 5 to see, the 6th to predict
heat = rng.uniform(-3, 3, (N_TANKS, 1))  # K per hour, one rate per tank
leak = rng.uniform(0, 0.04, (N_TANKS, 1))  # fraction of pressure lost per hour
phase = rng.uniform(0, 2 * np.pi, (N_TANKS, 1))
temperature = 300 + rng.normal(0, 5, (N_TANKS, 1)) + heat * hours \
    + 2 * np.sin(2 * np.pi * hours / 24 + phase)  # (N, 6) kelvin
pressure = 2.0 * temperature / 300 * (1 - leak) ** hours  # (N, 6) bar
raw = np.stack([pressure, temperature], axis=-1)  # (N, 6, 2)
raw += rng.normal(0, [0.002, 0.05], raw.shape)  # sensor noise
# Standardise each sensor (statistics of the training tanks): both features on one scale.
split = int(0.8 * N_TANKS)
mean, std = raw[:split].mean(axis=(0, 1)), raw[:split].std(axis=(0, 1))
data = ((raw - mean) / std).astype("float32")  # (N, 6, 2)
print(f"data (tanks, hours, sensors) = {data.shape}")

# %% [markdown]
# ## The inputs and the two kinds of targets

# %%
X = data[:, :HOURS]  # (N, 5, 2): hours 1..5
y_one = data[:, HOURS]  # (N, 2): hour 6 only
y_many = data[:, 1:]  # (N, 5, 2): hours 2..6, the input shifted by one hour
Xtr, Xte = X[:split], X[split:]
print(f"X {X.shape} = (samples, time steps, features)")
print(f"many-to-one  target y {y_one.shape}: one (pressure, temperature) per tank")
print(f"many-to-many target y {y_many.shape}: one per tank and hour")

# %% [markdown]
# ## What return_sequences does to the shapes, layer by layer

# %%
many_to_one = Sequential([LSTM(UNITS, input_shape=(HOURS, 2), seed=1), Dense(2, seed=2)])
many_to_many = Sequential([LSTM(UNITS, return_sequences=True, input_shape=(HOURS, 2), seed=1),
                           TimeDistributed(Dense(2, seed=2))])
for name, model in (("many-to-one", many_to_one), ("many-to-many", many_to_many)):
    x = Xtr[:4]  # (4, 5, 2)
    print(f"{name}: input {x.shape}")
    for layer in model.layers:
        x = layer(x)
        print(f"  {type(layer).__name__:<16}-> {x.shape}")
    model.compile(loss="mse", optimizer="adam")

# %% [markdown]
# ## The wrong target for a model fails early, and says why

# %%
for model, y, name in ((many_to_one, y_many, "many-to-one"),
                       (many_to_many, y_one, "many-to-many")):
    try:
        model.fit(Xtr, y[:split], epochs=1, verbose=0)
    except ValueError as exc:
        print(f"{name} with y {y.shape}: ValueError:")
        print(textwrap.fill(str(exc), 96, initial_indent="    ", subsequent_indent="    "))

# %% [markdown]
# ## Training both

# %%
histories = {}
for name, model, y in (("many-to-one", many_to_one, y_one),
                       ("many-to-many", many_to_many, y_many)):
    h = model.fit(Xtr, y[:split], epochs=EPOCHS, batch_size=32, verbose=0,
                  validation_data=(Xte, y[split:]))
    histories[name] = h.history
    print(f"loss {name}: {h.history['loss'][0]:.4f} -> {h.history['loss'][-1]:.4f} "
          f"(validation {h.history['val_loss'][-1]:.4f})")

pred_one = many_to_one.predict(Xte, verbose=0)  # (n_test, 2)
pred_many = many_to_many.predict(Xte, verbose=0)  # (n_test, 5, 2)
print(f"predictions: many-to-one {pred_one.shape}, many-to-many {pred_many.shape}")
# Error per predicted hour: the prediction of hour 2 has seen 1 hour, that of hour 6 five.
per_hour = ((pred_many - y_many[split:]) ** 2).mean(axis=(0, 2))  # (5,)
last_one = float(((pred_one - y_one[split:]) ** 2).mean())
print("many-to-many test MSE per predicted hour (2..6): "
      + " ".join(f"{v:.4f}" for v in per_hour))
print(f"many-to-one test MSE for hour 6: {last_one:.4f}")

# %% [markdown]
# ## Plot: one test tank, both sensors, both models

# %%
tank = 0
true = raw[split + tank]  # (6, 2) in physical units
one_phys = pred_one[tank] * std + mean  # (2,)
many_phys = pred_many[tank] * std + mean  # (5, 2)
fig, axes = plt.subplots(1, 3, figsize=(13, 4))
for k, (ax, label) in enumerate(zip(axes[:2], ["pressure (bar)", "temperature (K)"],
                                    strict=True)):
    ax.plot(hours + 1, true[:, k], "o-", color="0.2", label="measured")
    ax.plot(hours[1:] + 1, many_phys[:, k], "s--", color="tab:orange",
            label="many-to-many: next hour, after each hour")
    ax.plot([HOURS + 1], [one_phys[k]], "*", ms=14, color="tab:blue",
            label="many-to-one: hour 6 from hours 1-5")
    ax.axvline(HOURS + 0.5, color="0.6", lw=0.8)
    ax.set_xlabel("hour")
    ax.set_title(label)
    ax.grid(alpha=0.3)
axes[0].legend(fontsize=8, frameon=False, loc="best")
axes[2].bar(hours[1:] + 0.8, per_hour, width=0.4, color="tab:orange", label="many-to-many")
axes[2].bar([HOURS + 1.2], [last_one], width=0.4, color="tab:blue", label="many-to-one")
axes[2].set_xlabel("predicted hour")
axes[2].set_ylabel("test MSE (standardised)")
axes[2].set_title("error per predicted hour")
axes[2].legend(fontsize=8, frameon=False)
fig.suptitle(f"Tank {split + tank}: LSTM({UNITS}), {EPOCHS} epochs")
fig.tight_layout()
fig.savefig(OUT / "02_tanks_predictions.png", dpi=100)
print(f"wrote {OUT / '02_tanks_predictions.png'}")
