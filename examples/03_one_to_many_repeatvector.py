"""One-to-many with ``RepeatVector``: how does one input vector become a whole sequence?

The question: an LSTM consumes a sequence. To go from *one* input (say, the settings of a
damped spring: amplitude, damping, frequency) to *many* outputs (its trajectory over 20
steps), repeat the vector once per output step and let an LSTM with
``return_sequences=True`` turn the repeated copies into a sequence::

    x (N, 3) -> RepeatVector(20) -> (N, 20, 3) -> LSTM(32, return_sequences=True)
             -> (N, 20, 32) -> TimeDistributed(Dense(1)) -> (N, 20, 1)

Every step receives the same input; what differs from step to step is the LSTM's state,
so the state is what "counts" time. The script prints those shapes, trains the model and
plots predicted trajectories of unseen springs against the true ones
(``03_one_to_many_repeatvector.png`` in ``$LSTM_NP_OUT``). ``LSTM_NP_QUICK=1``: less data
and fewer epochs.
"""

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from lstm_np import LSTM, Dense, RepeatVector, Sequential, TimeDistributed

QUICK = os.environ.get("LSTM_NP_QUICK") == "1"
OUT = Path(os.environ.get("LSTM_NP_OUT", "out"))
OUT.mkdir(parents=True, exist_ok=True)
N = 256 if QUICK else 1200
EPOCHS = 12 if QUICK else 60
STEPS = 20
np.random.seed(0)

# %% [markdown]
# ## Data: one vector of settings -> one trajectory
# ``y_t = a * exp(-d t) * cos(w t)``: amplitude a, damping d, angular frequency w.

# %%
rng = np.random.default_rng(0)
a = rng.uniform(0.3, 1.0, N)
d = rng.uniform(0.0, 0.15, N)
w = rng.uniform(0.3, 0.9, N)
t = np.arange(STEPS)
X = np.stack([a, d / 0.15, (w - 0.3) / 0.6], axis=1).astype("float32")  # (N, 3), ~[0, 1]
Y = (a[:, None] * np.exp(-d[:, None] * t) * np.cos(w[:, None] * t))[..., None]  # (N, 20, 1)
Y = Y.astype("float32")
split = int(0.8 * N)
print(f"X {X.shape}: one vector per sample (no time axis)")
print(f"Y {Y.shape}: a sequence of {STEPS} steps of 1 value per sample")

# %% [markdown]
# ## The model, shape by shape

# %%
model = Sequential([
    RepeatVector(STEPS, input_shape=(3,)),  # the same settings at every output step
    LSTM(32, return_sequences=True, seed=1),  # one output per step: many out
    TimeDistributed(Dense(1, seed=2)),  # the same Dense on each step's h
])
x = X[:2]
print(f"input {x.shape}")
for layer in model.layers:
    x = layer(x)
    print(f"  {type(layer).__name__:<16}-> {x.shape}")
model.summary()

# %% [markdown]
# ## Training

# %%
model.compile(loss="mse", optimizer="adam")
history = model.fit(X[:split], Y[:split], epochs=EPOCHS, batch_size=32, verbose=0,
                    validation_data=(X[split:], Y[split:]))
loss = history.history["loss"]
print(f"loss one-to-many: {loss[0]:.3g} -> {loss[-1]:.3g} "
      f"(validation {history.history['val_loss'][-1]:.3g})")
pred = model.predict(X[split:], verbose=0)  # (n_test, 20, 1)
print(f"predict: X[split:] {X[split:].shape} -> {pred.shape}")

# %% [markdown]
# ## Plot: six unseen springs, predicted from their settings alone

# %%
fig, axes = plt.subplots(2, 3, figsize=(11, 5.5), sharex=True, sharey=True)
for ax, k in zip(axes.ravel(), range(6), strict=True):
    i = split + k
    ax.plot(t, Y[i, :, 0], "o-", ms=3, color="0.2", label="true")
    ax.plot(t, pred[k, :, 0], "s--", ms=3, color="tab:red", label="predicted")
    ax.set_title(f"a={a[i]:.2f} d={d[i]:.2f} w={w[i]:.2f}", fontsize=9)
    ax.grid(alpha=0.3)
axes[0, 0].legend(fontsize=8, frameon=False)
for ax in axes[1]:
    ax.set_xlabel("output step")
fig.suptitle(f"One-to-many: RepeatVector({STEPS}) -> LSTM(32, return_sequences=True) -> "
             f"TimeDistributed(Dense(1)), {EPOCHS} epochs")
fig.tight_layout()
fig.savefig(OUT / "03_one_to_many_repeatvector.png", dpi=100)
print(f"wrote {OUT / '03_one_to_many_repeatvector.png'}")
