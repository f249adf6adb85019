"""Sparse class-id targets for a model whose time axis is ``None`` (any length).

Found by examples/07_char_text.py: ``Embedding(input_shape=(None,)) -> LSTM(return_sequences
=True) -> TimeDistributed(Dense(V, softmax))`` has output shape (batch, None, V); Keras
accepts integer targets (N, T) or (N, T, 1) for it, and so must fit/evaluate.
"""

import numpy as np
import pytest

from lstm_np import LSTM, Dense, Embedding, Sequential, TimeDistributed


def _model():
    model = Sequential([Embedding(7, 4, input_shape=(None,), seed=1),
                        LSTM(5, return_sequences=True, seed=2),
                        TimeDistributed(Dense(7, activation="softmax", seed=3))])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    return model


def test_sparse_targets_fit_a_time_axis_of_unknown_length():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 7, (6, 9))
    Y = rng.integers(0, 7, (6, 9))
    model = _model()
    assert model.output_shape == (None, None, 7)
    probs = model.predict(X, verbose=0)  # (6, 9, 7)
    expected = -np.mean(np.log(np.take_along_axis(probs, Y[..., None], -1)))
    for y in (Y, Y[..., None]):  # (N, T) and (N, T, 1), as Keras takes them
        assert model.evaluate(X, y, verbose=0) == pytest.approx(expected, rel=1e-5)
    history = model.fit(X, Y, epochs=2, batch_size=3, verbose=0)
    assert len(history.history["loss"]) == 2


def test_sparse_targets_of_the_wrong_rank_are_still_refused():
    X = np.zeros((4, 9), int)
    with pytest.raises(ValueError, match=r"integer class ids"):
        _model().fit(X, np.zeros((4, 9, 2), int), epochs=1, verbose=0)
