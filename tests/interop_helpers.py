"""Shared helpers of the interop tests: Keras models built and saved by Keras itself.

Every Keras weight is overwritten with random non-zero values (biases included) before saving,
so a weight read from the wrong path, in the wrong order or transposed shows in the outputs.
"""

import numpy as np
from keras_oracle import assert_close, require_keras

keras = require_keras()

L = keras.layers

TOL = 1e-5

def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    for v in model.weights:
        v.assign(rng.uniform(-0.7, 0.7, size=v.shape).astype("float32"))
    return model

def keras_out(model, x):
    out = model(x)
    if isinstance(out, (list, tuple)):
        return [keras.ops.convert_to_numpy(o) for o in out]
    return keras.ops.convert_to_numpy(out)

def assert_same(got, expected, tol=TOL):
    if isinstance(expected, list):
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            assert_same(g, e, tol)
        return
    assert_close(got, expected, rtol=0, atol=tol)

def ids(B=4, T=6, vocab=20, seed=0):
    x = np.random.default_rng(seed).integers(1, vocab, size=(B, T)).astype("int32")
    x[0, :2] = 0  # leading padding: the mask must travel Embedding -> LSTM -> TimeDistributed
    x[1, -3:] = 0  # trailing padding
    return x

def floats(B=4, T=6, F=3, seed=0):
    return np.random.default_rng(seed).normal(size=(B, T, F)).astype("float32")

def embedding_lstm_td():
    return keras.Sequential([keras.Input((6,), dtype="int32"),
                             L.Embedding(20, 5, mask_zero=True),
                             L.LSTM(4, return_sequences=True),
                             L.TimeDistributed(L.Dense(3, activation="softmax"))])

def bidirectional_gru():
    return keras.Sequential([keras.Input((6, 3)),
                             L.Bidirectional(L.GRU(4, return_sequences=True)),
                             L.Bidirectional(L.GRU(3), merge_mode="sum"),
                             L.Dense(2)])

def autoencoder():
    enc_in = keras.Input((6, 3))
    encoder = keras.Model(enc_in, L.LSTM(5)(enc_in), name="encoder")
    decoder = keras.Sequential([keras.Input((5,)), L.RepeatVector(6),
                                L.LSTM(4, return_sequences=True),
                                L.TimeDistributed(L.Dense(3))], name="decoder")
    inp = keras.Input((6, 3))
    return keras.Model(inp, decoder(encoder(inp)), name="autoencoder")

def rnn_stacks():
    return keras.Sequential([keras.Input((6, 3)),
                             L.SimpleRNN(6, return_sequences=True),
                             L.GRU(5, return_sequences=True, reset_after=False),
                             L.GRU(4, return_sequences=True),
                             L.LSTM(3, go_backwards=True),
                             L.Dense(2, activation="tanh")])

def seq2seq_with_states():
    enc_in, dec_in = keras.Input((6, 3)), keras.Input((4, 2))
    _, h, c = L.LSTM(5, return_state=True)(enc_in)
    y = L.LSTM(5, return_sequences=True)(dec_in, initial_state=[h, c])
    return keras.Model([enc_in, dec_in], L.Dense(2)(y))

CASES = {
    "embedding_lstm_td": (embedding_lstm_td, lambda: ids()),
    "bidirectional_gru": (bidirectional_gru, lambda: floats()),
    "autoencoder": (autoencoder, lambda: floats()),
    "rnn_stacks": (rnn_stacks, lambda: floats()),
}

def saved_file(model, tmp_path, name="m.keras"):
    randomize(model).save(tmp_path / name)
    return tmp_path / name
