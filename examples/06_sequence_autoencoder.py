"""A sequence autoencoder: many-to-one encoder, RepeatVector decoder, models called as layers.

The question: how do I squeeze a whole sequence into one vector and get the sequence back,
and how do I keep the encoder and the decoder as separate models I can use on their own?
With the functional API every model is also a layer:

* ``encoder = Model(seq, Dense(CODE)(LSTM(32, go_backwards=True)(seq)))``: many-to-one,
  ``(N, 30, 1) -> (N, 32) -> (N, CODE)``;
* ``decoder = Model(code, TimeDistributed(Dense(1))(LSTM(32, return_sequences=True)(
  RepeatVector(30)(code))))``: one-to-many, ``(N, CODE) -> (N, 30, 1)``;
* ``autoencoder = Model(seq, decoder(encoder(seq)))``: the two models called like layers,
  trained together; they share their weights with the autoencoder, so after training
  ``encoder.predict`` gives the codes and ``decoder.predict`` turns any code into a sequence.

The data: 30-step windows of sine waves with random frequency, phase and amplitude. The
script prints the shapes of each model, the reconstruction loss, and plots reconstructions
and the codes (first two principal components, coloured by frequency): sequences of
similar frequency get nearby codes although the model was never told the frequency.
Writes ``06_autoencoder.png`` to ``$LSTM_NP_OUT``. ``LSTM_NP_QUICK=1``: less data, fewer
epochs.
"""

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from lstm_np import LSTM, Dense, Input, Model, RepeatVector, TimeDistributed

QUICK = os.environ.get("LSTM_NP_QUICK") == "1"
OUT = Path(os.environ.get("LSTM_NP_OUT", "out"))
OUT.mkdir(parents=True, exist_ok=True)
N = 256 if QUICK else 1000
EPOCHS = 10 if QUICK else 40
T, CODE = 30, 6
np.random.seed(0)

# %% [markdown]
# ## Data

# %%
rng = np.random.default_rng(0)
freq = rng.uniform(0.04, 0.2, N)  # cycles per step
phase = rng.uniform(0, 2 * np.pi, N)
amp = rng.uniform(0.4, 1.0, N)
t = np.arange(T)
X = (amp[:, None] * np.sin(2 * np.pi * freq[:, None] * t + phase[:, None]))[..., None]
X = X.astype("float32")  # (N, 30, 1)
split = int(0.8 * N)
print(f"X {X.shape} = (sequences, steps, features); train {X[:split].shape}, "
      f"test {X[split:].shape}")

# %% [markdown]
# ## Encoder, decoder, and the autoencoder made of the two

# %%
seq = Input(shape=(T, 1), name="sequence")
# go_backwards: the encoder reads the sequence last step first, so the step it saw most
# recently (the first one) is the one the decoder must produce first (Sutskever et al. 2014).
summary = LSTM(32, go_backwards=True, seed=1, name="encode")(seq)  # (N, 32): many-to-one
encoder = Model(seq, Dense(CODE, seed=4, name="to_code")(summary), name="encoder")

code = Input(shape=(CODE,), name="code")
repeated = RepeatVector(T, name="repeat")(code)  # the code at every output step
decoded = LSTM(32, return_sequences=True, seed=2, name="decode")(repeated)
decoder = Model(code, TimeDistributed(Dense(1, seed=3), name="per_step")(decoded),
                name="decoder")

autoencoder = Model(seq, decoder(encoder(seq)), name="autoencoder")  # models as layers
for m in (encoder, decoder, autoencoder):
    print(f"{m.name:<12}: {m.input_shape} -> {m.output_shape}, {m.count_params()} parameters")
autoencoder.summary()

# %% [markdown]
# ## Training: the input is its own target

# %%
autoencoder.compile(loss="mse", optimizer="adam")
history = autoencoder.fit(X[:split], X[:split], epochs=EPOCHS, batch_size=32, verbose=0,
                          validation_data=(X[split:], X[split:]))
loss = history.history["loss"]
print(f"loss reconstruction: {loss[0]:.3g} -> {loss[-1]:.3g} "
      f"(validation {history.history['val_loss'][-1]:.3g})")

# %% [markdown]
# ## The parts on their own: codes, and sequences from codes
# ``encoder`` and ``decoder`` hold the very weights the autoencoder trained.

# %%
codes = encoder.predict(X[split:], verbose=0)  # (n_test, 6)
rebuilt = decoder.predict(codes, verbose=0)  # (n_test, 30, 1)
direct = autoencoder.predict(X[split:], verbose=0)
print(f"encoder.predict {X[split:].shape} -> codes {codes.shape}; "
      f"decoder.predict -> {rebuilt.shape}")
print(f"decoder(encoder(x)) equals autoencoder(x): max difference "
      f"{float(np.abs(rebuilt - direct).max()):.2e}")

centred = codes - codes.mean(axis=0)
_, _, vt = np.linalg.svd(centred, full_matrices=False)  # principal axes of the codes
pcs = centred @ vt[:2].T  # (n_test, 2)

# %% [markdown]
# ## Plot

# %%
fig = plt.figure(figsize=(12, 5))
grid = fig.add_gridspec(2, 4)
for k in range(4):
    ax = fig.add_subplot(grid[k // 2, k % 2])
    ax.plot(t, X[split + k, :, 0], "o-", ms=3, color="0.2", label="input")
    ax.plot(t, rebuilt[k, :, 0], "s--", ms=3, color="tab:red", label="reconstruction")
    ax.set_title(f"test sequence {k}: f={freq[split + k]:.2f}", fontsize=9)
    ax.set_ylim(-1.1, 1.5)  # room for the legend above the waves
    ax.grid(alpha=0.3)
    if k == 0:
        ax.legend(fontsize=8, frameon=False, loc="upper center", ncol=2)
ax = fig.add_subplot(grid[:, 2:])
sc = ax.scatter(pcs[:, 0], pcs[:, 1], c=freq[split:], cmap="viridis", s=14)
fig.colorbar(sc, ax=ax, label="frequency (cycles per step)")
ax.set_xlabel("code: 1st principal component")
ax.set_ylabel("code: 2nd principal component")
ax.set_title(f"the {CODE}-number codes of the test sequences", fontsize=10)
fig.suptitle(f"Sequence autoencoder: LSTM(32) + Dense({CODE}) encoder, RepeatVector({T}) + "
             f"LSTM(32) decoder, {EPOCHS} epochs", fontsize=11)
fig.tight_layout()
fig.savefig(OUT / "06_autoencoder.png", dpi=100)
print(f"wrote {OUT / '06_autoencoder.png'}")
