"""Models: the constructions of the "Understanding Keras LSTMs" answers, built once with
Keras and once with lstm_np from the same code (only the namespace differs), Keras'
weights copied over with get_weights/set_weights: shapes, weight lists and predictions
must agree. Then the stateful rules and the bad-input messages."""

import re
from types import SimpleNamespace

import numpy as np
import pytest
from keras_oracle import assert_close, keras, needs_keras

import lstm_np

KERAS = None if keras is None else SimpleNamespace(
    Sequential=keras.Sequential, Model=keras.Model, Input=keras.Input, layers=keras.layers)
OURS = SimpleNamespace(Sequential=lstm_np.Sequential, Model=lstm_np.Model, Input=lstm_np.Input,
                       layers=lstm_np.layers)
N, T, F = 4, 5, 3
RNG = np.random.default_rng(0)
X = RNG.normal(size=(N, T, F)).astype("float32")


def many_to_one(K):
    return K.Sequential([K.Input((T, F)), K.layers.LSTM(4), K.layers.Dense(2)])


def many_to_many(K):
    inp = K.Input((None, F))
    out = K.layers.TimeDistributed(K.layers.Dense(2))(K.layers.LSTM(4, return_sequences=True)(inp))
    return K.Model(inp, out)


def one_to_many(K):
    return K.Sequential([K.Input((F,)), K.layers.RepeatVector(6),
                         K.layers.LSTM(4, return_sequences=True)])


def _encoder_decoder(K):
    inputs = K.Input((T, F))
    o = K.layers.LSTM(6, return_sequences=True)(inputs)
    o = K.layers.LSTM(5, return_sequences=True)(o)
    encoder = K.Model(inputs, K.layers.LSTM(3)(o))
    inputs = K.Input((3,))
    o = K.layers.RepeatVector(T)(inputs)
    o = K.layers.LSTM(5, return_sequences=True)(o)
    decoder = K.Model(inputs, K.layers.LSTM(F, return_sequences=True)(o))
    return encoder, decoder


def autoencoder_functional(K):
    encoder, decoder = _encoder_decoder(K)
    inp = K.Input((T, F))
    return K.Model(inp, decoder(encoder(inp)))


def autoencoder_sequential(K):
    encoder, decoder = _encoder_decoder(K)
    return K.Sequential([encoder, decoder])


def embedding_stack(K):  # the GRU stack of the question, with LSTMs
    return K.Sequential([
        K.Input((T,)),
        K.layers.Embedding(10, 4, mask_zero=True),
        K.layers.LSTM(6, return_sequences=True),
        K.layers.LSTM(5, return_sequences=True),
        K.layers.TimeDistributed(K.layers.Dense(10)),
        K.layers.TimeDistributed(K.layers.Activation("softmax")),
    ])


def seq2seq_states(K):
    enc_in = K.Input((None, F))
    _, h, c = K.layers.LSTM(4, return_state=True)(enc_in)
    dec_in = K.Input((None, 2))
    dec = K.layers.LSTM(4, return_sequences=True)(dec_in, initial_state=[h, c])
    return K.Model([enc_in, dec_in], K.layers.Dense(2, activation="softmax")(dec))


def masking_dropout_flatten(K):
    return K.Sequential([K.Input((T, F)), K.layers.Masking(0.0),
                         K.layers.LSTM(4, return_sequences=True), K.layers.Dropout(0.5),
                         K.layers.Flatten(), K.layers.Dense(3, activation="sigmoid")])


def two_branches(K):  # Keras orders these layers (and weights) later branch first
    a, b = K.Input((T, F)), K.Input((T, 2))
    ha = K.layers.LSTM(4)(a)
    hb = K.layers.Dense(7)(K.layers.LSTM(6)(b))
    out = K.layers.Dense(1)(K.layers.Concatenate()([ha, hb]))
    return K.Model([a, b], [out, K.layers.Dense(2)(ha)])


IDS = np.array([[0, 0, 3, 4, 9], [1, 2, 3, 4, 5], [0, 7, 0, 2, 2], [5, 5, 5, 5, 0]])
X_MASKED = X.copy()
X_MASKED[0, :2] = 0.0
X_MASKED[2, 3] = 0.0
CASES = {
    "many_to_one": (many_to_one, X),
    "many_to_many": (many_to_many, X),
    "one_to_many": (one_to_many, X[:, 0]),
    "autoencoder_functional": (autoencoder_functional, X),
    "autoencoder_sequential": (autoencoder_sequential, X),
    "embedding_stack": (embedding_stack, IDS),
    "seq2seq_states": (seq2seq_states, [X, RNG.normal(size=(N, 4, 2)).astype("float32")]),
    "masking_dropout_flatten": (masking_dropout_flatten, X_MASKED),
    "two_branches": (two_branches, [X, RNG.normal(size=(N, T, 2)).astype("float32")]),
}


def twin(build):
    """The Keras model and ours, ours holding Keras' (random) weights."""
    km, om = build(KERAS), build(OURS)
    weights = km.get_weights()
    assert [w.shape for w in om.get_weights()] == [w.shape for w in weights]
    weights = [w + RNG.normal(scale=0.1, size=w.shape).astype("float32") for w in weights]
    km.set_weights(weights)
    om.set_weights(weights)
    return km, om


@pytest.mark.keras
@needs_keras
@pytest.mark.parametrize("case", sorted(CASES))
def test_construction_matches_keras(case):
    build, x = CASES[case]
    km, om = twin(build)
    assert om.output_shape == km.output_shape
    expected = km.predict(x, verbose=0)
    got = om.predict(x)
    kinds = [type(la).__name__.replace("Model", "Functional") for la in om.layers]
    assert kinds == [type(la).__name__ for la in km.layers]
    for g, e in zip(_as_list(got), _as_list(expected), strict=True):
        assert g.shape == e.shape
        assert_close(g, e, rtol=1e-4, atol=1e-5)
    assert om.count_params() == km.count_params()


@pytest.mark.keras
@needs_keras
def test_stateful_predict_carries_state_like_keras_torch():
    def build(K):
        return K.Sequential([K.Input(batch_shape=(2, None, F)),
                             K.layers.LSTM(4, stateful=True, return_sequences=True),
                             K.layers.Dense(F)])

    km, om = twin(build)
    for step in range(3):  # generation loop: feed one step at a time
        xs = X[:2, step:step + 1]
        assert_close(om.predict(xs), km.predict(xs, verbose=0), rtol=1e-4, atol=1e-5)
    whole = X[:4]  # two batches of 2 in one predict: the state carries from batch to batch
    assert_close(om.predict(whole), km.predict(whole, batch_size=2, verbose=0),
                 rtol=1e-4, atol=1e-5)
    om.reset_states()
    km.layers[0].reset_state()
    assert_close(om.predict(X[:2]), km.predict(X[:2], verbose=0), rtol=1e-4, atol=1e-5)


def _stateful_model(batch=2):
    model = lstm_np.Sequential()
    model.add(lstm_np.layers.LSTM(3, batch_input_shape=(batch, None, F), stateful=True,
                                  return_sequences=True))
    model.add(lstm_np.layers.Dense(F))
    model.compile(loss="mse", optimizer="adam")
    return model


def test_stateful_generation_loop_with_train_on_batch_and_reset_state():
    model = _stateful_model()
    lstm = model.layers[0]
    for _ in range(2):
        model.reset_states()
        for step in range(T - 1):
            loss = model.train_on_batch(X[:2, step:step + 1], X[:2, step + 1:step + 2])
        assert np.isfinite(loss)
        assert np.any(lstm.states[0] != 0)  # nothing reset it between batches
    lstm.reset_state()
    assert all(np.all(s == 0) for s in lstm.states)
    pred = model.predict(X[:2])
    nxt = pred[:, -1:]
    outs = []
    for _ in range(3):
        nxt = model.predict(nxt)
        outs.append(nxt)
    assert np.concatenate(outs, axis=1).shape == (2, 3, F)


def test_fit_evaluate_predict_never_reset_state():
    model = _stateful_model()
    lstm = model.layers[0]
    model.fit(X, X, batch_size=2, epochs=1, verbose=0, shuffle=False)
    after_fit = lstm.states
    assert np.any(after_fit[0] != 0)
    # predicting the same data from the carried state differs from predicting from zeros
    carried = model.predict(X[:2])
    model.reset_states()
    fresh = model.predict(X[:2])
    assert not np.allclose(carried, fresh)
    model.reset_states()
    model.evaluate(X, X, batch_size=2, verbose=0)
    assert np.any(lstm.states[0] != 0)


def test_stateful_sample_count_not_divisible_is_explained():
    model = _stateful_model(batch=2)
    with pytest.raises(ValueError, match=r"built for batch size 2.*5 samples, which is not a "
                                         r"multiple of 2: the last batch would have 1"):
        x5 = np.concatenate([X, X])[:5]
        model.fit(x5, x5, batch_size=2, verbose=0)
    with pytest.raises(ValueError, match="batch_size=3"):
        model.fit(X, X, batch_size=3, verbose=0)
    with pytest.raises(ValueError, match="built for batch size 2"):
        model.predict(X[:3])


def test_summary_layers_and_weights_order():
    model = many_to_one(OURS)
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "LSTM" in text and "(None, 4)" in text and "Total params: 138" in text
    assert [type(la).__name__ for la in model.layers] == ["LSTM", "Dense"]
    assert [w.shape for w in model.get_weights()] == [(3, 16), (4, 16), (16,), (4, 2), (2,)]


def test_keras2_model_input_output_keywords_and_batch_input_shape():
    inp = lstm_np.Input(shape=(T, F))
    out = lstm_np.layers.Dense(1)(lstm_np.layers.LSTM(2)(inp))
    model = lstm_np.Model(input=inp, output=out)
    assert model.predict(X).shape == (N, 1)
    seq = lstm_np.Sequential([lstm_np.layers.LSTM(2, input_shape=(T, F)), lstm_np.layers.Dense(1)])
    assert seq.output_shape == (None, 1)


def test_model_reset_states_resets_nested_stateful_layers():
    inp = lstm_np.Input(batch_shape=(2, None, F))
    inner = lstm_np.Model(inp, lstm_np.layers.LSTM(3, stateful=True)(inp))
    outer_in = lstm_np.Input(batch_shape=(2, None, F))
    outer = lstm_np.Model(outer_in, lstm_np.layers.Dense(1)(inner(outer_in)))
    outer.predict(X[:2])
    lstm = inner.layers[1]
    assert np.any(lstm.states[0] != 0)
    outer.reset_states()
    assert np.all(lstm.states[0] == 0)


# --------------------------------------------------------------------- bad input
def _compiled():
    model = many_to_one(OURS)
    model.compile(loss="mse", optimizer="adam")
    return model


def test_sample_counts_must_match():
    with pytest.raises(ValueError, match="same number of samples; x has 4 and y has 3"):
        _compiled().fit(X, np.zeros((3, 2)), verbose=0)


def test_unknown_names_list_valid_ones():
    model = many_to_one(OURS)
    with pytest.raises(ValueError, match="Unknown loss 'mse2'. Valid names: .*mean_squared_error"):
        model.compile(loss="mse2", optimizer="adam")
    with pytest.raises(ValueError, match="Unknown optimizer 'adamw2'. Valid names: sgd, adam"):
        model.compile(loss="mse", optimizer="adamw2")
    with pytest.raises(ValueError, match="Unknown metric 'acuracy'. Valid names: accuracy"):
        model.compile(loss="mse", optimizer="adam", metrics=["acuracy"])


def test_target_shape_mismatch_explains_return_sequences():
    with pytest.raises(ValueError, match="return_sequences=False"):
        _compiled().fit(X, np.zeros((N, T, 2)), verbose=0)  # per-step targets, last-step output
    model = many_to_many(OURS)
    model.compile(loss="mse", optimizer="adam")
    with pytest.raises(ValueError, match="return_sequences=True, which returns one output per "
                                         "timestep"):
        model.fit(X, np.zeros((N, 2)), verbose=0)


def test_fit_before_compile():
    with pytest.raises(ValueError, match="compile the model before training"):
        many_to_one(OURS).fit(X, np.zeros((N, 2)), verbose=0)


def test_embedding_index_out_of_range_in_a_model():
    model = embedding_stack(OURS)
    with pytest.raises(ValueError, match="index 10 is out of range"):
        model.predict(np.array([[1, 2, 10, 0, 0]]))


def test_input_shape_mismatch_explains_layout():
    with pytest.raises(ValueError, match=r"expects shape \(None, 5, 3\).*\(samples, timesteps, "
                                         r"features\)"):
        many_to_one(OURS).predict(np.zeros((4, 5)))


def test_graph_disconnected():
    a, b = lstm_np.Input((T, F)), lstm_np.Input((T, F))
    out = lstm_np.layers.LSTM(2)(b)
    with pytest.raises(ValueError, match="Graph disconnected"):
        lstm_np.Model(a, out)


# --------------------------------------------------------------------- save / load
def _train_a_little(model, x, y, **kw):
    model.fit(x, y, epochs=2, batch_size=2, shuffle=False, verbose=0, **kw)


@pytest.mark.parametrize("case", ["many_to_many", "autoencoder_functional",
                                  "autoencoder_sequential", "embedding_stack", "seq2seq_states",
                                  "two_branches",
                                  "masking_dropout_flatten"])
def test_save_load_round_trip_is_exact(case, tmp_path):
    build, x = CASES[case]
    model = build(OURS)
    y = [p + 0.1 for p in _as_list(model.predict(x))]
    loss = "binary_crossentropy" if case == "masking_dropout_flatten" else "mse"
    model.compile(loss=loss, optimizer=lstm_np.optimizers.Adam(0.01), metrics=["mae"])
    _train_a_little(model, x, y)
    path = tmp_path / "model.lstm_np"
    model.save(path)
    loaded = lstm_np.load_model(path)
    assert [type(la).__name__ for la in loaded.layers] == [type(la).__name__ for la in
                                                            model.layers]
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=False):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_as_list(loaded.predict(x)), _as_list(model.predict(x)), strict=True):
        np.testing.assert_array_equal(a, b)
    assert loaded.optimizer.iterations == model.optimizer.iterations
    # continuing training is identical too (optimizer slots restored)
    if case != "masking_dropout_flatten":  # Dropout draws differ between the two
        h1 = model.fit(x, y, epochs=1, batch_size=2, shuffle=False, verbose=0).history
        h2 = loaded.fit(x, y, epochs=1, batch_size=2, shuffle=False, verbose=0).history
        assert h1 == h2
        for a, b in zip(loaded.get_weights(), model.get_weights(), strict=False):
            np.testing.assert_array_equal(a, b)


def test_save_load_keeps_stateful_states_and_writes_atomically(tmp_path):
    model = _stateful_model()
    model.fit(X, X, batch_size=2, verbose=0, shuffle=False)
    path = tmp_path / "stateful.npz"
    model.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["stateful.npz"]  # no temp file left
    loaded = lstm_np.load_model(path)
    for a, b in zip(loaded.layers[0].states, model.layers[0].states, strict=False):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(X[:2]), model.predict(X[:2]))


def test_load_model_rejects_other_files(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a file written by lstm_np"):
        lstm_np.load_model(bad)


def test_set_weights_copies_the_callers_arrays():
    model = many_to_one(OURS)
    weights = model.get_weights()
    before = [w.copy() for w in weights]
    model.set_weights(weights)
    model.compile(loss="mse", optimizer="sgd")
    model.fit(X, np.ones((N, 2)), verbose=0)
    assert not np.array_equal(model.get_weights()[0], before[0])  # the model moved ...
    for w, b in zip(weights, before, strict=False):  # ... the arrays it was given did not
        np.testing.assert_array_equal(w, b)


# --------------------------------------------------------------------- callbacks, verbose
def test_history_early_stopping_and_lambda_callback():
    model = _compiled()
    y = np.zeros((N, 2))
    seen = []
    cb = lstm_np.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e))
    stop = lstm_np.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
    history = model.fit(X, y, epochs=20, verbose=0, callbacks=[cb, stop])
    assert history.epoch == [0, 1] == seen  # epoch 0 sets the best, epoch 1 fails by 10
    assert list(history.history) == ["loss"] and len(history.history["loss"]) == 2
    assert model.history is history


def test_verbose_2_prints_one_keras_line_per_epoch(capsys):
    model = _compiled()
    model.fit(X, np.zeros((N, 2)), epochs=2, batch_size=3, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert re.match(r"2/2 - \d+s - \d+(s|ms|us)/step - loss: \d\.\d{4}", lines[1])


def test_verbose_1_shows_a_progress_bar(capsys):
    model = _compiled()
    model.fit(X, np.zeros((N, 2)), epochs=1, batch_size=2, verbose=1)
    err = capsys.readouterr().err
    assert "Epoch 1/1" in err and "2/2" in err and "loss" in err


def test_trainable_false_layer_is_frozen():
    model = many_to_one(OURS)
    model.layers[0].trainable = False
    model.compile(loss="mse", optimizer="sgd")
    before = model.get_weights()
    model.fit(X, np.ones((N, 2)), verbose=0)
    after = model.get_weights()
    for a, b in zip(after[:3], before[:3], strict=False):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(after[3], before[3])


class Scale(lstm_np.Layer):
    """A user layer with only the Layer contract (no compute_output_shape): y = x * w."""

    def build(self, input_shape):
        self.add_weight("w", (input_shape[-1],), "ones")
        self.built = True

    def call(self, x, training=False):
        x = np.asarray(x, self.dtype)
        if not self.built:
            self.build(x.shape)
        self._cache = x if training else None
        return x * self._weights["w"]

    def backward(self, dy):
        x = self._require_cache()
        self.grads = [np.sum(dy * x, axis=tuple(range(x.ndim - 1)))]
        return dy * self._weights["w"]


def test_any_layer_with_the_contract_slots_in():
    model = lstm_np.Sequential([lstm_np.InputLayer(input_shape=(T, F)), Scale(),
                                lstm_np.layers.LSTM(3), lstm_np.layers.Dense(1)])
    assert model.output_shape == (None, 1)
    model.compile(loss="mse", optimizer=lstm_np.optimizers.SGD(0.5))
    history = model.fit(X, np.ones((N, 1)), epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert not np.array_equal(model.get_weights()[0], np.ones(F))  # Scale's weight trained


@pytest.mark.keras
@needs_keras
def test_two_output_model_trains_like_keras():
    def build(K):
        inp = K.Input((T, F))
        seq, h, c = K.layers.LSTM(4, return_sequences=True, return_state=True)(inp)
        out1 = K.layers.Dense(2, name="per_step")(seq)
        out2 = K.layers.Dense(1, name="last")(c)
        return K.Model(inp, [out1, out2])

    km, om = twin(build)
    y1, y2 = RNG.normal(size=(N, T, 2)), RNG.normal(size=(N, 1))
    for model, opt in ((km, keras.optimizers.Adam(0.01)), (om, lstm_np.optimizers.Adam(0.01))):
        model.compile(loss=["mse", "mae"], optimizer=opt, loss_weights=[1.0, 0.5],
                      metrics=[["mae"], ["mse"]])
    kh = km.fit(X, [y1, y2], epochs=3, batch_size=2, shuffle=False, verbose=0).history
    oh = om.fit(X, [y1, y2], epochs=3, batch_size=2, shuffle=False, verbose=0).history
    assert set(oh) == set(kh)  # loss, per_step_loss, per_step_mae, last_loss, last_mse
    for key in kh:
        assert_close(oh[key], kh[key], rtol=2e-4, atol=0, what=key)
    for a, b in zip(om.get_weights(), km.get_weights(), strict=True):
        assert_close(a, b, rtol=2e-4, atol=2e-4 * np.abs(b).max())


def reshape_autoencoder(K):  # the "LSTM autoencoder" answer: Reshape into a sequence
    inp_e = K.Input((10, 5))
    encoder = K.Model(inp_e, K.layers.LSTM(20, return_sequences=False)(inp_e))
    inp_d = K.Input((20,))
    out_d = K.layers.Reshape((10, 2))(inp_d)
    decoder = K.Model(inp_d, K.layers.LSTM(5, return_sequences=True)(out_d))
    alt = K.layers.LSTM(50, return_sequences=False)(out_d)
    alt = K.layers.Reshape((10, 5))(alt)
    alternative = K.Model(inp_d, alt)
    inputs = K.Input((10, 5))
    return K.Model(inputs, [decoder(encoder(inputs)), alternative(encoder(inputs))])


def concat_permute(K):
    a, b = K.Input((T, F)), K.Input((T, 2))
    joined = K.layers.Concatenate()([a, b])
    seq = K.layers.LSTM(4, return_sequences=True)(joined)
    swapped = K.layers.Permute((2, 1))(seq)
    return K.Model([a, b], K.layers.Dense(3)(K.layers.Flatten()(swapped)))


@pytest.mark.keras
@needs_keras
@pytest.mark.parametrize("build,x", [
    (reshape_autoencoder, RNG.normal(size=(3, 10, 5)).astype("float32")),
    (concat_permute, [X, RNG.normal(size=(N, T, 2)).astype("float32")]),
])
def test_reshaping_constructions_match_keras_and_train(build, x):
    km, om = twin(build)
    expected, got = km.predict(x, verbose=0), om.predict(x)
    for e, g in zip(_as_list(expected), _as_list(got), strict=True):
        assert_close(g, e, rtol=1e-4, atol=1e-5)
    targets = [np.zeros_like(e) for e in _as_list(expected)]
    for model, opt in ((km, keras.optimizers.SGD(0.1)), (om, lstm_np.optimizers.SGD(0.1))):
        model.compile(loss="mse", optimizer=opt)
    kh = km.fit(x, targets, epochs=2, batch_size=2, shuffle=False, verbose=0).history
    oh = om.fit(x, targets, epochs=2, batch_size=2, shuffle=False, verbose=0).history
    assert_close(oh["loss"], kh["loss"], rtol=2e-4, atol=0)


def _as_list(v):
    return list(v) if isinstance(v, list) else [v]


def test_save_weights_load_weights_and_keras2_predict_classes(tmp_path):
    model = _compiled()
    model.fit(X, np.ones((N, 2)), verbose=0)
    path = tmp_path / "w.npz"
    model.save_weights(path)
    other = many_to_one(OURS)
    other.load_weights(path)
    np.testing.assert_array_equal(other.predict(X), model.predict(X))
    bigger = lstm_np.Sequential([lstm_np.Input((T, F)), lstm_np.layers.LSTM(2),
                                 lstm_np.layers.Dense(2), lstm_np.layers.Dense(1)])
    with pytest.raises(ValueError, match="holds 5 weight arrays but the model has 7"):
        bigger.load_weights(path)
    with pytest.raises(ValueError, match="holds only weights"):
        lstm_np.load_model(path)
    with pytest.raises(FileNotFoundError, match="No such file"):
        lstm_np.load_model(tmp_path / "missing.npz")
    assert model.predict_classes(X).shape == (N,)
    single = lstm_np.Sequential([lstm_np.Input((T, F)), lstm_np.layers.LSTM(2),
                                 lstm_np.layers.Dense(1, activation="sigmoid")])
    assert set(np.unique(single.predict_classes(X))) <= {0, 1}



def test_cut_a_trained_model_at_a_layer_keras2_style():
    inp = lstm_np.Input((T, F))
    code = lstm_np.layers.LSTM(3, name="code")(inp)
    out = lstm_np.layers.Dense(F)(lstm_np.layers.RepeatVector(T)(code))
    autoencoder = lstm_np.Model(inp, out)
    encoder = lstm_np.Model(inputs=autoencoder.input, outputs=autoencoder.get_layer("code").output)
    assert encoder.predict(X).shape == (N, 3)
    np.testing.assert_array_equal(encoder.predict(X), autoencoder.layers[1](X))
    seq = lstm_np.Sequential([lstm_np.Input((T, F)), lstm_np.layers.LSTM(4),
                              lstm_np.layers.Dense(2)])
    features = lstm_np.Model(seq.input, seq.layers[0].output)
    assert features.predict(X).shape == (N, 4)


class Forecaster(lstm_np.Model):
    """A subclassed model, Keras style: layers in __init__, the wiring in call()."""

    def __init__(self, units):
        super().__init__(name="forecaster")
        self.lstm = lstm_np.layers.LSTM(units, return_sequences=True)
        self.head = lstm_np.layers.TimeDistributed(lstm_np.layers.Dense(1))

    def call(self, x, training=False):
        return self.head(self.lstm(x))


def test_subclassed_model_traces_its_call_and_trains_like_the_functional_one():
    model = Forecaster(4)
    assert model(X).shape == (N, T, 1)  # an eager call builds the layers
    inp = lstm_np.Input((T, F))
    functional = lstm_np.Model(inp, lstm_np.layers.TimeDistributed(lstm_np.layers.Dense(1))(
        lstm_np.layers.LSTM(4, return_sequences=True)(inp)))
    functional.set_weights(model.get_weights() or model.lstm.get_weights()
                           + model.head.get_weights())
    y = np.ones((N, T, 1))
    histories = []
    for m in (model, functional):
        m.compile(loss="mse", optimizer=lstm_np.optimizers.Adam(0.01))
        histories.append(m.fit(X, y, epochs=2, batch_size=2, shuffle=False, verbose=0).history)
    assert histories[0] == histories[1]
    for a, b in zip(model.get_weights(), functional.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert [type(la).__name__ for la in model.layers] == ["LSTM", "TimeDistributed"]


def test_model_outputs_must_be_symbolic():
    inp = lstm_np.Input((T, F))
    with pytest.raises(TypeError, match="Model outputs must be symbolic tensors.*got ndarray"):
        lstm_np.Model(inp, np.zeros((1, 2)))
    with pytest.raises(ValueError, match="x has 0 samples"):
        _compiled().fit(X[:0], np.zeros((0, 2)), verbose=0)


def test_to_json_model_from_json_and_load_weights(tmp_path):
    from lstm_np.models import model_from_json

    model = embedding_stack(OURS)
    model.save_weights(tmp_path / "w.npz")
    rebuilt = model_from_json(model.to_json())
    assert rebuilt.output_shape == model.output_shape
    rebuilt.load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(rebuilt.predict(IDS), model.predict(IDS))
    with pytest.raises(ValueError, match="model_from_json reads lstm_np"):
        model_from_json('{"class_name": "Sequential"}')


def test_sequential_layer_output_cuts_without_an_explicit_input():
    seq = lstm_np.Sequential()
    seq.add(lstm_np.layers.LSTM(4, input_shape=(T, F), return_sequences=True))
    seq.add(lstm_np.layers.LSTM(3))
    seq.add(lstm_np.layers.Dense(2))
    first = lstm_np.Model(seq.input, seq.layers[0].output)
    second = lstm_np.Model(seq.input, seq.layers[1].output)
    assert first.predict(X).shape == (N, T, 4) and second.predict(X).shape == (N, 3)


def test_stateful_first_layer_with_batch_size_only_builds_from_data():
    model = lstm_np.Sequential([lstm_np.layers.LSTM(3, batch_size=2, stateful=True),
                                lstm_np.layers.Dense(1)])
    model.compile(loss="mse", optimizer="adam")
    model.fit(X, np.zeros((N, 1)), batch_size=2, verbose=0)
    assert model.input_shape == (2, T, F) and model.layers[0].states[0].shape == (2, 3)


def embedding_gru_stack(K):  # the question's model exactly, once GRU is merged in
    return K.Sequential([
        K.Input((T,)),
        K.layers.Embedding(10, 4, mask_zero=True),
        K.layers.GRU(6, return_sequences=True),
        K.layers.GRU(5, return_sequences=True),
        K.layers.TimeDistributed(K.layers.Dense(10)),
        K.layers.TimeDistributed(K.layers.Activation("softmax")),
    ])


@pytest.mark.keras
@needs_keras
@pytest.mark.skipif(not hasattr(lstm_np.layers, "GRU"), reason="GRU not merged yet")
def test_embedding_gru_stack_matches_keras():
    km, om = twin(embedding_gru_stack)
    assert_close(om.predict(IDS), km.predict(IDS, verbose=0), rtol=1e-4, atol=1e-5)
    y = RNG.integers(0, 10, size=(N, T, 1))
    for model, opt in ((km, keras.optimizers.RMSprop(0.01)),
                       (om, lstm_np.optimizers.RMSprop(0.01))):
        model.compile(loss="sparse_categorical_crossentropy", optimizer=opt)
    kh = km.fit(IDS, y, epochs=3, batch_size=2, shuffle=False, verbose=0).history
    oh = om.fit(IDS, y, epochs=3, batch_size=2, shuffle=False, verbose=0).history
    assert_close(oh["loss"], kh["loss"], rtol=2e-4, atol=0)
