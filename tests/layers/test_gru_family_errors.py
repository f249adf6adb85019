"""Every error message of GRU, SimpleRNN and Bidirectional says what was expected, what was
given and how to fix it."""

import numpy as np
import pytest

import lstm_np


def test_gru_bias_shape_mismatch_names_reset_after_layout():
    layer = lstm_np.GRU(2)  # reset_after=True: bias (2, 6)
    layer.build((1, 3, 4))
    w = layer.get_weights()
    with pytest.raises(ValueError, match=r"weight 'bias' must have shape \(2, 6\); got \(6,\)"):
        layer.set_weights([w[0], w[1], np.zeros(6)])  # a reset_after=False bias


def test_gru_invalid_implementation():
    with pytest.raises(ValueError, match="implementation must be 1 or 2"):
        lstm_np.GRU(2, implementation=3)


def test_gru_invalid_use_cudnn():
    with pytest.raises(ValueError, match="use_cudnn must be 'auto', True or False"):
        lstm_np.GRU(2, use_cudnn="yes")


@pytest.mark.parametrize("cls", [lstm_np.GRU, lstm_np.SimpleRNN])
def test_regularizers_refused_clearly(cls):
    with pytest.raises(NotImplementedError, match="kernel_regularizer is not supported"):
        cls(2, kernel_regularizer="l2")


@pytest.mark.parametrize("cls", [lstm_np.GRU, lstm_np.SimpleRNN])
def test_initial_state_is_one_array_for_gru_and_simple_rnn(cls):
    layer = cls(3)
    x = np.zeros((2, 4, 1))
    with pytest.raises(ValueError, match=r"list of 1 arrays \[h\]"):
        layer(x, initial_state=[np.zeros((2, 3)), np.zeros((2, 3))])


@pytest.mark.parametrize("cls", [lstm_np.GRU, lstm_np.SimpleRNN])
def test_return_state_backward_needs_two_gradients(cls):
    layer = cls(3, return_state=True)
    layer(np.ones((2, 4, 1)), training=True)
    with pytest.raises(ValueError, match=r"returns \[output, h\].*list of 2 arrays"):
        layer.backward(np.ones((2, 3)))


def test_bidirectional_needs_a_recurrent_layer():
    with pytest.raises(ValueError, match="Bidirectional wraps a recurrent layer"):
        lstm_np.Bidirectional("gru")


def test_bidirectional_backward_layer_must_be_recurrent():
    with pytest.raises(ValueError, match="backward_layer must be a recurrent layer"):
        lstm_np.Bidirectional(lstm_np.GRU(2), backward_layer=object())


def test_bidirectional_invalid_merge_mode():
    with pytest.raises(ValueError, match="Invalid merge_mode 'max'"):
        lstm_np.Bidirectional(lstm_np.GRU(2), merge_mode="max")


def test_bidirectional_refuses_go_backwards_layer_as_keras_does():
    with pytest.raises(ValueError, match="different go_backwards values"):
        lstm_np.Bidirectional(lstm_np.GRU(2, go_backwards=True))


def test_bidirectional_backward_layer_must_agree():
    with pytest.raises(ValueError, match="same return_sequences"):
        lstm_np.Bidirectional(lstm_np.GRU(2), backward_layer=lstm_np.GRU(
            2, go_backwards=True, return_sequences=True))


def test_bidirectional_initial_state_halves():
    bi = lstm_np.Bidirectional(lstm_np.LSTM(2))
    with pytest.raises(ValueError, match=r"list of 4 arrays, the forward layer's \[h, c\]"):
        bi(np.zeros((1, 3, 2)), initial_state=[np.zeros((1, 2))] * 2)


def test_bidirectional_set_weights_count():
    bi = lstm_np.Bidirectional(lstm_np.SimpleRNN(2))
    bi.build((1, 3, 2))
    with pytest.raises(ValueError, match="expects 6 weight arrays .3 for the forward layer"):
        bi.set_weights(bi.get_weights()[:3])


def test_bidirectional_set_weights_before_build():
    with pytest.raises(ValueError, match="has no weights yet"):
        lstm_np.Bidirectional(lstm_np.GRU(2)).set_weights([])


def test_bidirectional_backward_gradient_shapes():
    bi = lstm_np.Bidirectional(lstm_np.GRU(2, return_sequences=True))
    bi(np.ones((1, 3, 2)), training=True)
    with pytest.raises(ValueError, match=r"must have shape \(1, 3, 4\)"):
        bi.backward(np.ones((1, 3, 2)))


def test_bidirectional_backward_list_length():
    bi = lstm_np.Bidirectional(lstm_np.GRU(2, return_state=True), merge_mode=None)
    bi(np.ones((1, 3, 2)), training=True)
    with pytest.raises(ValueError, match="returned a list of 4 arrays"):
        bi.backward([np.ones((1, 2))] * 2)


def test_bidirectional_backward_needs_a_training_call():
    bi = lstm_np.Bidirectional(lstm_np.GRU(2))
    bi(np.ones((1, 3, 2)))
    with pytest.raises(RuntimeError, match="training=True"):
        bi.backward(np.ones((1, 4)))


def test_bidirectional_reset_state_needs_stateful():
    with pytest.raises(AttributeError, match="is not stateful"):
        lstm_np.Bidirectional(lstm_np.GRU(2)).reset_state()
