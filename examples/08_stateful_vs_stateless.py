"""Stateful vs stateless on the same data: what carries, what reset_states() changes, and why
shuffle=False.

The question: what exactly does ``stateful=True`` keep, and why do the tutorials insist on
``shuffle=False`` and on calling ``reset_states()``? Two parts:

1. **The mechanics, with numbers.** A stateless LSTM run over 8 steps gives the same output
   as a stateful copy run over steps 1-4 then steps 5-8 in two calls: the final (h, c) of the
   first call is the initial state of the second. After ``reset_states()`` the second call
   starts from zeros and the outputs change. Swapping the rows of the second batch (what
   shuffling does) hands each sequence the state of *another* sequence.
2. **Why it matters, by training.** Each of 16 streams hovers, with heavy noise, around its
   own hidden level; the task is to estimate that level at every step. The streams are cut
   into chunks of 10 steps. A stateless model sees one chunk, so it can only average 10 noisy
   values; a stateful model trained in order (``shuffle=False``) keeps averaging across
   chunks; a stateful model trained with ``shuffle=True`` receives states from other streams.

Layout for stateful training with batch size B: sample ``k*B + i`` is chunk k of stream i, so
that row i of every batch continues row i of the previous batch. The script prints the
shapes, the losses, and plots one stream and the error at every step for the three models
(``08_stateful_vs_stateless.png`` in ``$LSTM_NP_OUT``). ``LSTM_NP_QUICK=1``: less data,
fewer epochs.
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
EPOCHS = 4 if QUICK else 25
N_SETS = 3 if QUICK else 10  # groups of B streams, each trained from a fresh state
B, N_CHUNKS, C, UNITS, NOISE = 16, 20, 10, 16, 0.6
np.random.seed(0)

# %% [markdown]
# ## 1. The mechanics: what a stateful layer carries

# %%
rng = np.random.default_rng(0)
x = rng.normal(size=(2, 8, 1)).astype("float32")  # 2 sequences, 8 steps, 1 feature
stateless = LSTM(3, seed=5)
full = stateless(x)  # (2, 3): h after step 8, from zeros at step 1
stateful = LSTM(3, stateful=True, batch_input_shape=(2, 4, 1), seed=5)
stateful.build((2, 4, 1))
stateful.set_weights(stateless.get_weights())
print(f"x {x.shape}: stateless over 8 steps -> {full.shape}")
first = stateful(x[:, :4])  # (2, 3): steps 1-4
print(f"stateful call on x[:, :4] {x[:, :4].shape} -> {first.shape}; states kept: "
      f"{[s.shape for s in stateful.states]}, h = {np.round(stateful.states[0][0], 3)}")
second = stateful(x[:, 4:])  # steps 5-8, starting from the state after step 4
print(f"stateful, 2 calls of 4 steps vs stateless, 1 call of 8: max difference "
      f"{np.abs(second - full).max():.1e}")
stateful.reset_states()
print(f"after reset_states(): h = {stateful.states[0][0]}")
restarted = stateful(x[:, 4:])
print(f"steps 5-8 after reset_states(): max difference {np.abs(restarted - full).max():.3f} "
      "(the first 4 steps are forgotten)")
stateful.reset_states()
stateful(x[:, :4])
swapped = stateful(x[::-1, 4:])[::-1]  # row 0 now continues row 1's state, and vice versa
print(f"second batch with its rows swapped (as shuffling does): max difference "
      f"{np.abs(swapped - full).max():.3f}")

# %% [markdown]
# ## 2. Data: noisy streams around hidden levels, cut into chunks

# %%


def streams(n):
    level = rng.uniform(-1, 1, (n, 1, 1))  # (n, 1, 1): one hidden level per stream
    obs = level + rng.normal(0, NOISE, (n, N_CHUNKS * C, 1))  # (n, 200, 1)
    return obs.astype("float32"), np.broadcast_to(level, obs.shape).astype("float32")


def chunk_major(a):
    """(B, 200, 1) streams -> (20 * B, 10, 1) samples: sample k*B + i = chunk k of stream i."""
    return a.reshape(B, N_CHUNKS, C, 1).transpose(1, 0, 2, 3).reshape(N_CHUNKS * B, C, 1)


sets = [streams(B) for _ in range(N_SETS)]  # each (16, 200, 1) observations and levels
train = [(chunk_major(o), chunk_major(lv)) for o, lv in sets]
N_TEST = 2 if QUICK else 8  # test sets of B new streams (more sets: smoother curves)
tests = [streams(B) for _ in range(N_TEST)]
print(f"one set: streams {sets[0][0].shape} -> samples {train[0][0].shape} "
      f"(chunk-major: batch k holds chunk k of all {B} streams)")
print(f"targets {train[0][1].shape}: the level at every step (many-to-many)")
assert np.array_equal(train[0][0][B + 3], sets[0][0][3, C:2 * C])  # chunk 1 of stream 3


def model_for(stateful):
    shape = dict(batch_input_shape=(B, C, 1)) if stateful else dict(input_shape=(C, 1))
    m = Sequential([LSTM(UNITS, return_sequences=True, stateful=stateful, seed=1, **shape),
                    TimeDistributed(Dense(1, seed=2))])
    m.compile(loss="mse", optimizer="adam")
    return m


# %% [markdown]
# ## Three ways to train
# Stateless: every chunk starts from zeros, so shuffling is harmless (and helps).
# Stateful, ordered: ``shuffle=False`` and ``reset_states()`` after each set of streams,
# because the next set holds different streams. Stateful, shuffled: the same, but fit
# shuffles the samples, so a row's state comes from a random chunk of a random stream.

# %%
all_X = np.concatenate([X for X, _ in train])  # (N_SETS * 320, 10, 1)
all_Y = np.concatenate([Y for _, Y in train])
models, losses = {}, {}
m = model_for(stateful=False)
h = m.fit(all_X, all_Y, epochs=EPOCHS, batch_size=B, shuffle=True, verbose=0)
models["stateless"], losses["stateless"] = m, h.history["loss"]
for name, shuffle in (("stateful, shuffle=False", False), ("stateful, shuffle=True", True)):
    m = model_for(stateful=True)
    per_epoch = []
    for _ in range(EPOCHS):
        set_losses = []
        for X, Y in train:
            h = m.fit(X, Y, epochs=1, batch_size=B, shuffle=shuffle, verbose=0)
            m.reset_states()  # the next set holds other streams: start them from zeros
            set_losses.append(h.history["loss"][0])
        per_epoch.append(float(np.mean(set_losses)))
    models[name], losses[name] = m, per_epoch
for name, curve in losses.items():
    print(f"loss {name}: {curve[0]:.4f} -> {curve[-1]:.4f}")

# %% [markdown]
# ## Test: new streams, read in order
# Stateful models start each set from zeros and carry their state from chunk to chunk; the
# stateless one restarts at every chunk. Error per time step, averaged over the streams.

# %%
errors, estimates = {}, {}
for name, m in models.items():
    sq_errors = []
    for obs, level in tests:
        m.reset_states()
        pred = m.predict(chunk_major(obs), batch_size=B, verbose=0)  # (320, 10, 1), in order
        pred = pred.reshape(N_CHUNKS, B, C).transpose(1, 0, 2).reshape(B, N_CHUNKS * C)
        sq_errors.append((pred - level[..., 0]) ** 2)  # (16, 200): back to streams
    estimates[name] = pred  # (16, 200), of the last test set
    errors[name] = np.concatenate(sq_errors).mean(axis=0)  # (200,)
    print(f"test MSE {name:<24}: first chunk {errors[name][:C].mean():.4f}, "
          f"last chunk {errors[name][-C:].mean():.4f}")
print(f"(averaging the last 10 observations would give about {NOISE ** 2 / C:.4f})")

# %% [markdown]
# ## Plot

# %%
t = np.arange(N_CHUNKS * C)
colors = {"stateless": "tab:blue", "stateful, shuffle=False": "tab:green",
          "stateful, shuffle=True": "tab:red"}
fig, axes = plt.subplots(2, 1, figsize=(10, 7.5), sharex=True)
ax = axes[0]
obs, level = tests[-1]
ax.plot(t, obs[0, :, 0], ".", ms=3, color="0.6", label="observations")
ax.plot(t, level[0, :, 0], "k-", lw=2, label="hidden level")
for name, est in estimates.items():
    ax.plot(t, est[0], color=colors[name], lw=1.2, label=name)
ax.set_ylabel("value")
ax.set_title("one test stream and the three estimates of its level")
ax.legend(fontsize=8, frameon=False, ncol=3, loc="upper right")
ax = axes[1]
for name, err in errors.items():
    ax.plot(t, err, color=colors[name], lw=1.2, label=name)
ax.set_yscale("log")
ax.set_xlabel("time step (chunk borders every 10 steps)")
ax.set_ylabel(f"test MSE ({N_TEST * B} streams)")
ax.set_title("error at every step: the stateless model starts over at every chunk border")
for k in range(1, N_CHUNKS):
    for a in axes:
        a.axvline(k * C - 0.5, color="0.85", lw=0.6, zorder=0)
ax.legend(fontsize=8, frameon=False)
fig.suptitle(f"Stateful vs stateless LSTM({UNITS}), chunks of {C} steps, {EPOCHS} epochs")
fig.tight_layout()
fig.savefig(OUT / "08_stateful_vs_stateless.png", dpi=100)
print(f"wrote {OUT / '08_stateful_vs_stateless.png'}")
