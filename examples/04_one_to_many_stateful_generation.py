"""One-to-many by generation: a stateful LSTM fed one step at a time, its output fed back.

The question: how do I make an LSTM produce a sequence of any length from a single starting
point? Train it to predict the next step, then, with ``stateful=True``, give it one step,
take its prediction as the next input, and repeat: the layer's state carries everything it
has generated so far from one ``predict`` call to the next.

The pieces (all Keras API):

* training: a stateful model with ``batch_input_shape=(16, 10, 2)`` learns "next step" on
  chunks of 10 steps with ``train_on_batch``; the state flows from chunk to chunk of the same
  16 sequences, and ``reset_states()`` is called before the next 16 sequences start;
* generation: a second stateful model built for ``(4, 1, 2)``: one step of 4 sequences at a
  time. It takes the trained weights unchanged (``set_weights``): the weight shapes depend
  on the units and features, never on the batch size or the number of time steps.

The data: a damped oscillator ``(position, velocity)`` from random starting points. The
script prints the shapes, the training loss, and plots the generated trajectories against
the true ones (``04_stateful_generation.png`` in ``$LSTM_NP_OUT``). ``LSTM_NP_QUICK=1``:
fewer sequences and epochs.
"""

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from lstm_np import LSTM, Dense, Sequential, TimeDistributed

QUICK = os.environ.get("LSTM_NP_QUICK") == "1"
OUT = Path(os.environ.get("LSTM_NP_OUT", "out"))
OUT.mkdir(parents=True, exist_ok=True)
N_SEQ = 64 if QUICK else 512
EPOCHS = 6 if QUICK else 30
T, CHUNK, BATCH, UNITS, N_GEN = 60, 10, 16, 32, 4

# %% [markdown]
# ## Data: N trajectories of (position, velocity)

# %%
rng = np.random.default_rng(0)


def trajectories(n):
    """Damped oscillator from a random start: one step is a fixed rotation and shrink."""
    w, decay = 0.25, 0.985
    step = decay * np.array([[np.cos(w), -np.sin(w)], [np.sin(w), np.cos(w)]])  # (2, 2)
    x = np.empty((n, T + 1, 2), "float32")
    angle, radius = rng.uniform(0, 2 * np.pi, n), rng.uniform(0.4, 1.0, n)
    x[:, 0] = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    for t in range(T):
        x[:, t + 1] = x[:, t] @ step.T
    return x  # (n, T + 1, 2)


data = trajectories(N_SEQ)
X, Y = data[:, :-1], data[:, 1:]  # (N, 60, 2) each: the target is the next step
print(f"data {data.shape}: X = data[:, :-1] {X.shape}, Y = data[:, 1:] {Y.shape}")

# %% [markdown]
# ## Training: stateful, chunk by chunk
# 16 sequences side by side (the batch), cut in time into chunks of 10 steps. Row i of every
# chunk is the same sequence, so the state left by chunk k is the right start for chunk k+1.
# Gradients stop at chunk borders (truncated backpropagation through time); the state does
# not.

# %%
model = Sequential([
    LSTM(UNITS, stateful=True, return_sequences=True, batch_input_shape=(BATCH, CHUNK, 2),
         seed=1),
    TimeDistributed(Dense(2, seed=2)),
])
model.compile(loss="mse", optimizer="adam")
print(f"training model: input (batch, chunk, features) = {model.input_shape}, "
      f"output {model.output_shape}")
print(f"one train_on_batch: x {X[:BATCH, :CHUNK].shape} -> y {Y[:BATCH, :CHUNK].shape}")
epoch_losses = []
for _ in range(EPOCHS):
    order = rng.permutation(N_SEQ)  # sequences may be shuffled; the steps inside may not
    losses = []
    for b in range(0, N_SEQ - BATCH + 1, BATCH):
        rows = order[b:b + BATCH]
        model.reset_states()  # new sequences: forget the previous ones
        for s in range(0, T, CHUNK):
            losses.append(model.train_on_batch(X[rows, s:s + CHUNK], Y[rows, s:s + CHUNK]))
    epoch_losses.append(float(np.mean(losses)))
print(f"loss next-step training: {epoch_losses[0]:.3g} -> {epoch_losses[-1]:.3g}")

# %% [markdown]
# ## Generation: one step in, one step out, fed back
# A model for batch 4 and 1 time step, with the trained weights. ``reset_states()`` once per
# generated batch, then each ``predict`` continues from the state the last one left.

# %%
generator = Sequential([
    LSTM(UNITS, stateful=True, return_sequences=True, batch_input_shape=(N_GEN, 1, 2)),
    TimeDistributed(Dense(2)),
])
generator.set_weights(model.get_weights())
print(f"generator: input {generator.input_shape}, weights "
      f"{[w.shape for w in generator.get_weights()]} (the same as training)")

test = trajectories(N_GEN)  # (4, 61, 2): starting points never seen
generator.reset_states()
step = test[:, :1]  # (4, 1, 2): only the starting point
generated = [step]
for _ in range(T):
    step = generator.predict(step, verbose=0)  # (4, 1, 2): the next step
    generated.append(step)  # ... which is the next input
generated = np.concatenate(generated, axis=1)  # (4, 61, 2)
print(f"generated {generated.shape} from starting points {test[:, :1].shape}")
err = np.sqrt(((generated - test) ** 2).mean(axis=(0, 2)))  # (61,)
print(f"generation RMSE after 10 steps {err[10]:.3f}, after {T} steps {err[T]:.3f}")

# %% [markdown]
# ## Plot: true and generated orbits, and position over time

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
colors = plt.cm.tab10(np.arange(N_GEN))
for k in range(N_GEN):
    axes[0].plot(test[k, :, 0], test[k, :, 1], "-", color=colors[k], lw=1.2, alpha=0.5)
    axes[0].plot(generated[k, :, 0], generated[k, :, 1], "--", color=colors[k], lw=1.2)
    axes[0].plot(*test[k, 0], "o", color=colors[k])
    axes[1].plot(test[k, :, 0], "-", color=colors[k], lw=1.2, alpha=0.5)
    axes[1].plot(generated[k, :, 0], "--", color=colors[k], lw=1.2)
axes[0].set_xlabel("position")
axes[0].set_ylabel("velocity")
axes[0].set_aspect("equal")
axes[0].set_title("orbits: solid true, dashed generated, dot = the only input")
axes[1].set_xlabel("step")
axes[1].set_ylabel("position")
axes[1].set_title(f"position over {T} generated steps")
for ax in axes:
    ax.grid(alpha=0.3)
fig.suptitle(f"Stateful generation, LSTM({UNITS}), {EPOCHS} epochs", fontsize=11)
fig.tight_layout()
fig.savefig(OUT / "04_stateful_generation.png", dpi=100)
print(f"wrote {OUT / '04_stateful_generation.png'}")
