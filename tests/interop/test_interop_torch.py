"""``lstm_np.from_torch`` against torch itself: same weights, same output sequence.

Every parameter (weights and both biases) is drawn at random and non-zero, so a gate that is
mis-ordered or a bias that is dropped changes the outputs well beyond the 1e-5 tolerance.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lstm_np.interop.torch import from_torch  # noqa: E402

KINDS = {
    "lstm": lambda **kw: torch.nn.LSTM(**kw),
    "gru": lambda **kw: torch.nn.GRU(**kw),
    "rnn_tanh": lambda **kw: torch.nn.RNN(nonlinearity="tanh", **kw),
    "rnn_relu": lambda **kw: torch.nn.RNN(nonlinearity="relu", **kw),
}


def _module(kind, seed=0, dtype=torch.float32, **kwargs):
    torch.manual_seed(seed)
    module = KINDS[kind](**kwargs).to(dtype)
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-0.6, 0.6)  # random, non-zero; both biases differ
    return module.eval()


def _torch_out(module, x):
    """Torch's output sequence for a batch-first NumPy input, returned batch-first."""
    xt = torch.from_numpy(x if module.batch_first else x.transpose(1, 0, 2).copy())
    with torch.no_grad():
        y = module(xt)[0].numpy()
    return y if module.batch_first else y.transpose(1, 0, 2)


def _check(module, F, tol=1e-5, dtype="float32", T=7, B=3):
    x = np.random.default_rng(1).normal(size=(B, T, F)).astype(dtype)
    converted = from_torch(module)
    expected = _torch_out(module, x)
    got = converted(x)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=tol, rtol=0)
    return converted


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_single_layer(kind, batch_first, bias):
    module = _module(kind, input_size=4, hidden_size=5, batch_first=batch_first, bias=bias)
    layer = _check(module, 4)
    assert layer.return_sequences and layer.use_bias == bias


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("batch_first", [True, False])
def test_stacked_and_bidirectional(kind, batch_first):
    module = _module(kind, input_size=3, hidden_size=4, num_layers=3, bidirectional=True,
                     batch_first=batch_first)
    model = _check(module, 3)
    assert len(model.layers) == 3
    assert type(model.layers[0]).__name__ == "Bidirectional"


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_stacked_unidirectional(kind):
    module = _module(kind, input_size=2, hidden_size=6, num_layers=2, batch_first=True)
    model = _check(module, 2)
    assert [type(layer).__name__ for layer in model.layers] == [kind.upper()] * 2
    x = np.random.default_rng(4).normal(size=(2, 11, 2)).astype("float32")  # another length
    np.testing.assert_allclose(model(x), _torch_out(module, x), atol=1e-5, rtol=0)


def test_bidirectional_single_layer_without_bias():
    module = _module("gru", input_size=3, hidden_size=2, bidirectional=True, bias=False)
    layer = _check(module, 3)
    assert type(layer).__name__ == "Bidirectional" and layer.merge_mode == "concat"


def test_float64_module_gives_float64_layers():
    module = _module("lstm", dtype=torch.float64, input_size=3, hidden_size=4)
    layer = _check(module, 3, tol=1e-12, dtype="float64")
    assert layer.dtype == np.float64


def test_gru_bias_rows_keep_input_and_recurrent_biases_apart():
    module = _module("gru", input_size=2, hidden_size=3)
    bias = from_torch(module).get_weights()[2]
    u = 3
    b_ih, b_hh = module.bias_ih_l0.detach().numpy(), module.bias_hh_l0.detach().numpy()
    # torch r, z, n -> Keras z, r, h
    np.testing.assert_array_equal(bias[0], np.concatenate([b_ih[u:2 * u], b_ih[:u], b_ih[2 * u:]]))
    np.testing.assert_array_equal(bias[1], np.concatenate([b_hh[u:2 * u], b_hh[:u], b_hh[2 * u:]]))


def test_dropout_between_layers_warns():
    module = _module("lstm", input_size=2, hidden_size=3, num_layers=2, dropout=0.3)
    with pytest.warns(UserWarning, match="dropout=0.3.*eval"):
        _check(module, 2)


def test_proj_size_is_refused_with_the_reason():
    module = torch.nn.LSTM(3, 5, proj_size=2)
    with pytest.raises(ValueError, match=r"proj_size=2.*no projection"):
        from_torch(module)


def test_other_modules_are_refused():
    with pytest.raises(TypeError, match="torch.nn.LSTM, torch.nn.GRU and torch.nn.RNN.*Linear"):
        from_torch(torch.nn.Linear(3, 4))


def test_half_precision_is_refused():
    module = torch.nn.GRU(3, 4).half()
    with pytest.raises(TypeError, match="float16.*module.float"):
        from_torch(module)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_numpy_engine_gives_the_same_outputs(kind):
    module = _module(kind, input_size=3, hidden_size=4, num_layers=2, bidirectional=True)
    x = np.random.default_rng(2).normal(size=(2, 5, 3)).astype("float32")
    model = from_torch(module, engine="numpy")
    assert all(layer.forward_layer.engine == "numpy" for layer in model.layers)
    np.testing.assert_allclose(model(x), _torch_out(module, x), atol=1e-5, rtol=0)


def test_torch_to_keras_end_to_end(tmp_path):
    """torch -> lstm_np -> a .keras file -> Keras 3 computes torch's outputs."""
    from keras_oracle import require_keras

    keras = require_keras()
    module = _module("lstm", input_size=3, hidden_size=4, num_layers=2, bidirectional=True)
    model = from_torch(module)
    model.save_keras(tmp_path / "from_torch.keras")
    back = keras.saving.load_model(tmp_path / "from_torch.keras")
    x = np.random.default_rng(6).normal(size=(2, 9, 3)).astype("float32")
    got = keras.ops.convert_to_numpy(back(x))
    np.testing.assert_allclose(got, _torch_out(module, x), atol=1e-5, rtol=0)
