"""Character-level text: Embedding -> LSTM or GRU -> TimeDistributed(Dense softmax), then sampling.

The question: how does a recurrent network read and write text one character at a time,
and what are the shapes? Characters become integer ids; an ``Embedding`` turns each id
into a vector; the LSTM (or GRU) with ``return_sequences=True`` emits one hidden vector per
character; ``TimeDistributed(Dense(vocab, softmax))`` turns each into a probability for
every possible next character. Targets are the inputs shifted by one character, as integer
ids (``sparse_categorical_crossentropy``: no one-hot needed)::

    ids (N, 40) -> Embedding -> (N, 40, 16) -> LSTM(64, return_sequences=True) -> (N, 40, 64)
        -> TimeDistributed(Dense(V, softmax)) -> (N, 40, V)      targets (N, 40)

To write, a stateful copy (batch 1, any length) reads a prompt, then draws the next
character from its softmax, feeds it back, and so on: the state carries the text so far.

The text is tiny (the opening of the Declaration of Independence and the Gettysburg
Address, 3.5 k characters, ``lstm_np.datasets.text("all")``), so the model learns spelling
and memorises phrases rather than English. LSTM and GRU are trained on the same data; the
script plots both loss curves and the LSTM's next-character probabilities along a prompt
(``07_char_text.png`` in ``$LSTM_NP_OUT``). ``LSTM_NP_QUICK=1``: a slice of the text, a few
epochs.

Measured (full run, 20 epochs, about 1.5 min on 2 cores): cross-entropy LSTM 3.03 -> 0.66
nats per character, GRU 3.08 -> 0.38 (the GRU, with fewer weights, learns faster on this
small text); at temperature 0.3 both write mostly real words and whole memorised clauses
("to be self-evident, that they are endowed by their ..."), at 1.0 more invented spellings.
"""

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from lstm_np import GRU, LSTM, Dense, Embedding, Sequential, TimeDistributed, datasets
from lstm_np.data import sliding_windows
from lstm_np.optimizers import Adam

QUICK = os.environ.get("LSTM_NP_QUICK") == "1"
OUT = Path(os.environ.get("LSTM_NP_OUT", "out"))
OUT.mkdir(parents=True, exist_ok=True)
EPOCHS = 4 if QUICK else 20
N_WRITE = 40 if QUICK else 160  # characters to write per sample
SEQ, EMBED, UNITS = 40, 16, 64
np.random.seed(0)

# %% [markdown]
# ## Text -> integer ids

# %%
text = datasets.text("all").lower()  # lower case: a smaller alphabet for a small text
if QUICK:
    text = text[:400]
chars = sorted(set(text))
V = len(chars)
char_to_id = {c: i for i, c in enumerate(chars)}
ids = np.array([char_to_id[c] for c in text])  # (n_chars,)
print(f"text: {len(text)} characters, vocabulary V = {V}: {''.join(chars)!r}")

# %% [markdown]
# ## Windows of 40 characters, targets shifted by one
# ``sliding_windows`` with ``sequence_length=41``: inputs are the first 40, targets the last 40.

# %%
windows = sliding_windows(ids, sequence_length=SEQ + 1, sequence_stride=3)[..., 0]  # (N, 41)
X, Y = windows[:, :-1], windows[:, 1:]  # (N, 40), (N, 40): integer ids
print(f"X {X.shape} {X.dtype}, Y {Y.shape}: Y[i, t] is the character after X[i, t]")
print(f"sample 0: {''.join(chars[i] for i in X[0])!r}\n"
      f"  target: {''.join(chars[i] for i in Y[0])!r}")


def build(rnn, batch_shape=None, stateful=False):
    """Embedding -> rnn -> per-step softmax. ``batch_shape`` fixes the batch for stateful use."""
    shape = dict(batch_input_shape=batch_shape) if batch_shape else dict(input_shape=(None,))
    return Sequential([
        Embedding(V, EMBED, seed=1, **shape),
        rnn(UNITS, return_sequences=True, stateful=stateful, seed=2),
        TimeDistributed(Dense(V, activation="softmax", seed=3)),
    ])


# %% [markdown]
# ## The shapes, layer by layer

# %%
probe = build(LSTM)
x = X[:2]
print(f"input ids {x.shape}")
for layer in probe.layers:
    x = layer(x)
    print(f"  {type(layer).__name__:<16}-> {x.shape}")
print(f"each output row sums to 1: {np.allclose(x.sum(-1), 1, atol=1e-5)}")

# %% [markdown]
# ## Train an LSTM and a GRU on the same windows

# %%
models, histories = {}, {}
for rnn in (LSTM, GRU):
    model = build(rnn)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(learning_rate=0.01),
                  metrics=["accuracy"])
    h = model.fit(X, Y, epochs=EPOCHS, batch_size=64, verbose=0)
    models[rnn.__name__], histories[rnn.__name__] = model, h.history
    print(f"loss {rnn.__name__}: {h.history['loss'][0]:.3f} -> {h.history['loss'][-1]:.3f} "
          f"(next-character accuracy {h.history['accuracy'][-1]:.2f}, "
          f"{model.count_params()} parameters)")

# %% [markdown]
# ## Writing: a stateful copy, one character at a time
# ``batch_input_shape=(1, None)``: one text, any number of characters per call. The prompt
# is read in one call; then each call reads the character just drawn.


# %%
def write(name, prompt, n, temperature, seed=0):
    rng = np.random.default_rng(seed)
    rnn = {"LSTM": LSTM, "GRU": GRU}[name]
    writer = build(rnn, batch_shape=(1, None), stateful=True)
    writer.set_weights(models[name].get_weights())
    writer.reset_states()
    probs = writer.predict(np.array([[char_to_id[c] for c in prompt]]), verbose=0)  # (1, L, V)
    out = []
    for _ in range(n):
        p = np.log(probs[0, -1].astype(float) + 1e-12) / temperature  # sharpen or flatten
        p = np.exp(p - p.max())
        nxt = rng.choice(V, p=p / p.sum())
        out.append(chars[nxt])
        probs = writer.predict(np.array([[nxt]]), verbose=0)  # (1, 1, V): the state goes on
    return prompt + "".join(out)


prompt = "we hold these truths"
for name in models:
    for temperature in (0.3, 1.0):
        print(f"{name} sample, temperature {temperature}: "
              f"{write(name, prompt, N_WRITE, temperature)!r}")

# %% [markdown]
# ## Plot: loss curves, and what the LSTM expects after each character of a prompt

# %%
probe_text = "four score and seven years ago"
writer = build(LSTM, batch_shape=(1, None), stateful=True)
writer.set_weights(models["LSTM"].get_weights())
probs = writer.predict(np.array([[char_to_id[c] for c in probe_text]]), verbose=0)[0]  # (L, V)
print(f"next-character probabilities along {probe_text!r}: {probs.shape}")

fig, axes = plt.subplots(1, 2, figsize=(13, 5.6), gridspec_kw=dict(width_ratios=[1, 2.2]))
for name, hist in histories.items():
    axes[0].plot(np.arange(1, EPOCHS + 1), hist["loss"], "o-", ms=3, label=name)
axes[0].set_xlabel("epoch")
axes[0].xaxis.get_major_locator().set_params(integer=True)
axes[0].set_ylabel("cross-entropy (nats per character)")
axes[0].set_title("training loss")
axes[0].legend(frameon=False)
axes[0].grid(alpha=0.3)
im = axes[1].imshow(probs.T, aspect="auto", cmap="Greys", vmin=0, vmax=1,
                    interpolation="nearest")
axes[1].set_xticks(range(len(probe_text)), [c if c != " " else "_" for c in probe_text])
axes[1].set_yticks(range(V), [repr(c)[1:-1] if c != " " else "_" for c in chars], fontsize=7)
axes[1].set_xlabel("character read (_ = space)")
axes[1].set_ylabel("next character")
axes[1].set_title("LSTM: probability of each next character")
fig.colorbar(im, ax=axes[1], fraction=0.04)
fig.suptitle(f"Character model, Embedding({V}, {EMBED}) -> LSTM/GRU({UNITS}) -> "
             f"TimeDistributed(Dense({V}, softmax)), {EPOCHS} epochs", fontsize=11)
fig.tight_layout()
fig.savefig(OUT / "07_char_text.png", dpi=100)
print(f"wrote {OUT / '07_char_text.png'}")
