"""Core layers against Keras 3 (torch backend): identical random weights, the same input,
a random upstream gradient; forward values, input gradients and weight gradients must
agree (torch autograd is the oracle for the backward)."""

import numpy as np
import pytest
from keras_oracle import assert_close, keras, needs_keras, torch

import lstm_np
from lstm_np import layers as L

RTOL, ATOL = 1e-5, 1e-6  # float32 on both sides


def keras_forward_backward(layer, x, dy, mask=None, int_input=False):
    """Keras' output, d(sum(y*dy))/dx and the weight gradients (Keras order)."""
    xt = torch.tensor(x) if int_input else torch.tensor(x, requires_grad=True)
    kwargs = {} if mask is None else {"mask": torch.tensor(mask)}
    y = layer(xt, **kwargs)
    (y * torch.tensor(dy)).sum().backward()
    dx = None if int_input else xt.grad.numpy()
    grads = [w.value.grad.numpy() for w in layer.weights]
    return y.detach().numpy(), dx, grads


def compare(ours, theirs, x, dy, mask=None, int_input=False):
    y_k, dx_k, g_k = keras_forward_backward(theirs, x, dy, mask, int_input)
    kwargs = {} if mask is None else {"mask": mask}
    y = ours(x, training=True, **kwargs)
    assert_close(y, y_k, rtol=RTOL, atol=ATOL)
    dx = ours.backward(dy)
    if int_input:
        assert dx is None
    else:
        assert_close(dx, dx_k, rtol=RTOL, atol=ATOL)
    assert len(ours.grads) == len(g_k)
    for g, gk in zip(ours.grads, g_k, strict=False):
        assert_close(g, gk, rtol=RTOL, atol=ATOL)


def with_keras_weights(ours, theirs, input_shape, rng):
    theirs.build(input_shape)
    weights = [rng.normal(size=w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours.build(input_shape)
    ours.set_weights(weights)


@pytest.mark.keras
@needs_keras
@pytest.mark.parametrize("activation", [None, "tanh", "sigmoid", "relu", "softmax"])
@pytest.mark.parametrize("shape", [(4, 3), (4, 5, 3)])
def test_dense_matches_keras(activation, shape):
    rng = np.random.default_rng(1)
    ours, theirs = L.Dense(6, activation=activation), keras.layers.Dense(6, activation=activation)
    with_keras_weights(ours, theirs, shape, rng)
    x = rng.normal(size=shape).astype("float32")
    dy = rng.normal(size=(*shape[:-1], 6)).astype("float32")
    compare(ours, theirs, x, dy)


@pytest.mark.keras
@needs_keras
@pytest.mark.parametrize("name", ["softmax", "tanh", "relu", "sigmoid", "linear"])
def test_activation_layer_matches_keras(name):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 4, 5)).astype("float32")
    dy = rng.normal(size=x.shape).astype("float32")
    compare(L.Activation(name), keras.layers.Activation(name), x, dy)


@pytest.mark.keras
@needs_keras
def test_time_distributed_dense_matches_keras():
    rng = np.random.default_rng(3)
    ours, theirs = L.TimeDistributed(L.Dense(4)), keras.layers.TimeDistributed(
        keras.layers.Dense(4))
    with_keras_weights(ours, theirs, (2, 5, 3), rng)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    dy = rng.normal(size=(2, 5, 4)).astype("float32")
    compare(ours, theirs, x, dy)
    assert [w.shape for w in ours.get_weights()] == [(3, 4), (4,)]


@pytest.mark.keras
@needs_keras
def test_repeat_vector_and_flatten_match_keras():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 4)).astype("float32")
    compare(L.RepeatVector(5), keras.layers.RepeatVector(5), x,
            rng.normal(size=(3, 5, 4)).astype("float32"))
    x3 = rng.normal(size=(3, 4, 2)).astype("float32")
    compare(L.Flatten(), keras.layers.Flatten(), x3, rng.normal(size=(3, 8)).astype("float32"))


@pytest.mark.keras
@needs_keras
def test_embedding_matches_keras_and_masks_zeros():
    rng = np.random.default_rng(5)
    ours = L.Embedding(7, 3, mask_zero=True)
    theirs = keras.layers.Embedding(7, 3, mask_zero=True)
    with_keras_weights(ours, theirs, (2, 4), rng)
    ids = np.array([[0, 0, 3, 6], [1, 6, 6, 0]])
    dy = rng.normal(size=(2, 4, 3)).astype("float32")
    compare(ours, theirs, ids, dy, int_input=True)
    k_mask = theirs.compute_mask(torch.tensor(ids)).numpy()
    np.testing.assert_array_equal(ours.compute_mask(ids), k_mask)


@pytest.mark.keras
@needs_keras
def test_masking_matches_keras():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    x[0, 1] = -1.0
    x[1, 3] = -1.0
    ours, theirs = L.Masking(-1.0), keras.layers.Masking(-1.0)
    compare(ours, theirs, x, rng.normal(size=x.shape).astype("float32"))
    k_mask = theirs.compute_mask(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(ours.compute_mask(x), k_mask)


def test_dropout_is_inverted_and_identity_at_inference():
    x = np.ones((200, 50), "float32")
    layer = L.Dropout(0.25, seed=0)
    np.testing.assert_array_equal(layer(x), x)
    y = layer(x, training=True)
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    assert abs(kept.mean() - 0.75) < 0.02
    dy = np.full_like(x, 2.0)
    np.testing.assert_allclose(layer.backward(dy), 2.0 * y)


def test_dense_3d_input_and_weight_layout():
    layer = L.Dense(5)
    y = layer(np.zeros((2, 7, 3)))
    assert y.shape == (2, 7, 5)
    assert [w.shape for w in layer.get_weights()] == [(3, 5), (5,)]


def test_embedding_out_of_range_is_an_error_not_a_clamp():
    layer = L.Embedding(5, 2)
    with pytest.raises(ValueError, match=r"index 5 is out of range .*input_dim=5"):
        layer(np.array([[1, 5]]))
    with pytest.raises(ValueError, match="index -1 is out of range"):
        layer(np.array([[-1, 2]]))
    with pytest.raises(ValueError, match="integer ids"):
        layer(np.array([[0.5, 1.0]]))


def test_bad_activation_lists_valid_names():
    with pytest.raises(ValueError, match="Valid names.*softmax"):
        L.Dense(3, activation="sofmax")


def test_repeat_vector_needs_2d_input():
    with pytest.raises(ValueError, match=r"2-D input \(batch, features\)"):
        L.RepeatVector(3)(np.zeros((2, 3, 4)))


def test_backward_without_training_forward_explains():
    layer = L.Dense(2)
    layer(np.zeros((1, 3)))
    with pytest.raises(RuntimeError, match="training=True"):
        layer.backward(np.zeros((1, 2)))


def test_top_level_exports():
    for name in ("Sequential", "Model", "Input", "load_model", "Dense", "TimeDistributed",
                 "Embedding", "Masking", "RepeatVector"):
        assert hasattr(lstm_np, name)
    assert lstm_np.optimizers.Adam and lstm_np.losses.MeanSquaredError


@pytest.mark.keras
@needs_keras
def test_utils_match_keras():
    seqs = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]
    for kw in ({}, {"maxlen": 3}, {"maxlen": 4, "padding": "post", "truncating": "post"},
               {"value": -1}):
        np.testing.assert_array_equal(lstm_np.utils.pad_sequences(seqs, **kw),
                                      keras.utils.pad_sequences(seqs, **kw))
    ids = np.array([[0], [3], [1]])
    np.testing.assert_array_equal(lstm_np.utils.to_categorical(ids),
                                  keras.utils.to_categorical(ids))
    np.testing.assert_array_equal(lstm_np.utils.to_categorical([1, 0], num_classes=4),
                                  keras.utils.to_categorical([1, 0], num_classes=4))
    with pytest.raises(ValueError, match=r"class ids must be in \[0, 2\)"):
        lstm_np.utils.to_categorical([0, 2], num_classes=2)


def test_keras_import_spellings():
    from lstm_np.callbacks import EarlyStopping  # noqa: F401
    from lstm_np.layers import Input
    from lstm_np.models import Model, Sequential, load_model  # noqa: F401

    assert Input((3, 2)).shape == (None, 3, 2)


def test_keras2_dense_input_dim_means_2d_input():
    model = lstm_np.Sequential([L.Dense(4, input_dim=8), L.Dense(1)])
    assert model.input_shape == (None, 8) and model.output_shape == (None, 1)


@pytest.mark.keras
@needs_keras
def test_concatenate_masks_like_keras():
    x = np.zeros((2, 3, 4), "float32")
    m1 = np.array([[True, False, True], [True, True, False]])
    m2 = np.array([[True, True, False], [False, True, True]])
    for axis, masks in ((-1, [m1, m2]), (-1, [m1, None]), (1, [m1, m2])):
        theirs = keras.layers.Concatenate(axis=axis)
        expected = theirs.compute_mask([torch.tensor(x), torch.tensor(x)],
                                       [None if m is None else torch.tensor(m) for m in masks])
        got = L.Concatenate(axis=axis).compute_mask([x, x], masks)
        np.testing.assert_array_equal(got, expected.numpy())
