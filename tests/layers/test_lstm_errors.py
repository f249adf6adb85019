"""Bad input gets a clear error (what was expected, what was given, how to fix it), and the
edge inputs Keras accepts behave as in Keras: integer input cast, NaN propagated, 1e30
inputs finite and silent. Also: the Numba cache works from a read-only install.
"""

import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numba
import numpy as np
import pytest

import lstm_np

ENGINES = ("numpy", "numba")


def built(units=3, features=2, batch=2, **kw):
    layer = lstm_np.LSTM(units, dtype="float64", **kw)
    layer.build((batch, 4, features))
    return layer


# ----------------------------------------------------------------------------- inputs and weights


@pytest.mark.parametrize("shape", [(4, 2), (2, 4, 2, 1), (5,)])
def test_input_must_be_3d(shape):
    with pytest.raises(ValueError, match=r"3-D input \(batch, timesteps, features\).*"
                                         r"got shape .*reshape"):
        lstm_np.LSTM(3)(np.zeros(shape))


def test_feature_size_must_match_the_built_kernel():
    layer = built(features=2)
    with pytest.raises(ValueError, match=r"built for 2 input features but got 5 .*"
                                         r"\(input shape \(2, 4, 5\)\)"):
        layer(np.zeros((2, 4, 5)))


def test_declared_input_shape_must_match():
    layer = lstm_np.LSTM(3, input_shape=(4, 2))
    with pytest.raises(ValueError, match=r"declared with input shape \(None, 4, 2\) \(2 features\) "
                                         r"but got input of shape \(1, 4, 3\)"):
        layer(np.zeros((1, 4, 3)))


def test_set_weights_wrong_count_lists_expected_shapes():
    layer = built(units=3, features=2)
    with pytest.raises(ValueError, match=r"expects 3 weight arrays \(kernel \(2, 12\), "
                                         r"recurrent_kernel \(3, 12\), bias \(12,\)\); got 2"):
        layer.set_weights(layer.get_weights()[:2])


def test_set_weights_wrong_shape_lists_expected_shapes():
    layer = built(units=3, features=2)
    w = layer.get_weights()
    w[1] = np.zeros((12, 3))
    with pytest.raises(ValueError, match=r"'recurrent_kernel' must have shape \(3, 12\); got "
                                         r"\(12, 3\)\. Expected shapes, in order: kernel"):
        layer.set_weights(w)


def test_set_weights_without_bias_expects_two():
    layer = built(use_bias=False)
    with pytest.raises(ValueError, match=r"expects 2 weight arrays"):
        layer.set_weights(layer.get_weights() + [np.zeros(12)])


def test_set_weights_before_build():
    with pytest.raises(ValueError, match=r"no weights yet: build it first"):
        lstm_np.LSTM(3).set_weights([])


@pytest.mark.parametrize("engine", ENGINES)
def test_stateful_batch_mismatch_says_how_to_fix_it(engine):
    layer = lstm_np.LSTM(3, stateful=True, engine=engine)
    layer(np.zeros((4, 5, 2)))
    msg = (r"stateful with batch size 4 .* got a batch of 3.*batch_size=4.*"
           r"batch_input_shape=\(3, 5, 2\).*reset_state\(\) does not change the batch size")
    with pytest.raises(ValueError, match=msg):
        layer(np.zeros((3, 5, 2)))
    layer.reset_state()
    with pytest.raises(ValueError, match=msg):
        layer(np.zeros((3, 5, 2)))


def test_stateful_needs_a_fixed_batch_size():
    layer = lstm_np.LSTM(3, stateful=True)
    with pytest.raises(ValueError, match=r"fixed batch size.*batch_input_shape=.*batch_size="):
        layer.build((None, 5, 2))


def test_stateful_batch_size_from_keras2_arguments():
    layer = lstm_np.LSTM(3, stateful=True, batch_input_shape=(2, 5, 4))
    layer(np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match="batch size 2"):
        layer(np.zeros((1, 5, 4)))


@pytest.mark.parametrize("slot", ["activation", "recurrent_activation"])
def test_unknown_activation_lists_valid_names(slot):
    with pytest.raises(ValueError, match=r"Unknown activation 'gelu_fast'\. Valid names: .*"
                                         r"hard_sigmoid.*sigmoid.*softplus.*tanh"):
        lstm_np.LSTM(3, **{slot: "gelu_fast"})


@pytest.mark.parametrize("units", [0, -1, 2.5, True, "3", None])
def test_units_must_be_a_positive_integer(units):
    with pytest.raises(ValueError, match=r"units must be a positive integer.*got"):
        lstm_np.LSTM(units)


@pytest.mark.parametrize("bad, match", [
    ([np.zeros((2, 3))], r"list of 2 arrays \[h, c\], each of shape \(2, 3\); got list of "
                         r"length 1"),
    (np.zeros((2, 3)), r"list of 2 arrays \[h, c\].*got ndarray"),
    ([np.zeros((2, 3)), np.zeros((3, 3))], r"initial_state 'c' must have shape "
                                           r"\(batch, units\) = \(2, 3\); got \(3, 3\)"),
    ([np.zeros((2, 4)), np.zeros((2, 3))], r"initial_state 'h' must have shape"),
])
def test_initial_state_of_the_wrong_shape(bad, match):
    with pytest.raises(ValueError, match=match):
        built()(np.zeros((2, 4, 2)), initial_state=bad)


@pytest.mark.parametrize("mask", [np.ones((2, 5), bool), np.ones((4,), bool),
                                  np.ones((2, 4, 2), bool)])
def test_mask_of_the_wrong_shape(mask):
    with pytest.raises(ValueError, match=r"mask must have shape \(batch, timesteps\) = "
                                         r"\(2, 4\); got"):
        built()(np.zeros((2, 4, 2)), mask=mask)


def test_mask_must_be_boolean():
    with pytest.raises(TypeError, match=r"mask must be boolean"):
        built()(np.zeros((2, 4, 2)), mask=np.full((2, 4), "yes"))


@pytest.mark.parametrize("x", [np.full((1, 2, 2), "a"), np.zeros((1, 2, 2), complex),
                               [[[1, 2], [3]]], np.array([[[None, 1]]], object)])
def test_non_numeric_input(x):
    with pytest.raises(TypeError, match=r"must be (a )?numeric"):
        lstm_np.LSTM(3)(x)


def test_zero_timesteps():
    with pytest.raises(ValueError, match=r"0 timesteps"):
        lstm_np.LSTM(3)(np.zeros((1, 0, 2)))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_integer_and_bool_input_is_cast_like_keras(engine, dtype):
    x = np.arange(24).reshape(2, 4, 3) % 5 - 2
    layer = lstm_np.LSTM(3, dtype=dtype, engine=engine, return_sequences=True)
    out = layer(x)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, layer(x.astype(dtype)))
    np.testing.assert_array_equal(layer(x > 0), layer((x > 0).astype(dtype)))


@pytest.mark.keras
@pytest.mark.parametrize("engine", ENGINES)
def test_integer_input_matches_keras(engine):
    from keras_oracle import require_keras

    require_keras()
    from keras_oracle import assert_matches_keras

    x = (np.arange(30).reshape(2, 5, 3) % 7 - 3).astype(np.int64)
    ours, ref = assert_matches_keras(dict(units=2, return_sequences=True), x, engines=(engine,))
    assert ours[engine][0][0].dtype == np.float64


@pytest.mark.keras
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_propagates_as_in_keras(masked, dtype):
    """A NaN input step poisons its output and every later one; Keras the same. A NaN in a
    masked step is skipped by the states but, as in Keras, poisons no output."""
    from keras_oracle import require_keras

    require_keras()
    from keras_oracle import assert_matches_keras

    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(dtype)
    x[0, 2, 1] = np.nan
    mask = np.ones((2, 5), bool)
    if masked:
        mask[0, 2] = False
    # Gradients too: a NaN in a masked step still reaches every gradient in Keras (autograd
    # sends 0 * NaN through the discarded step); both engines must do the same.
    dy = np.ones((2, 5, 2), dtype)
    ours, _ = assert_matches_keras(dict(units=2, return_sequences=True), x,
                                   [np.zeros((2, 2), dtype)] * 2,
                                   mask=mask if masked else None, dtype=dtype, dy=dy)
    for outs, _ in ours.values():
        out = outs[0]
        assert np.isnan(out[0, 2:]).all() != masked
        assert not np.isnan(out[1]).any() and not np.isnan(out[0, :2]).any()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("acts", [("tanh", "sigmoid"), ("softsign", "hard_sigmoid"),
                                  ("tanh", "hard_sigmoid_keras2")])
def test_huge_inputs_give_finite_outputs_and_no_warnings(engine, dtype, acts):
    x = np.full((2, 4, 3), 1e30)
    x[0, 1] = -1e30
    x[1, 2, 0] = -3e38 if dtype == "float32" else -1e300
    layer = lstm_np.LSTM(3, activation=acts[0], recurrent_activation=acts[1], dtype=dtype,
                         engine=engine, return_sequences=True, return_state=True)
    # NUMBA_DISABLE_JIT runs the kernels as Python on NumPy scalars, which flag FP events
    # that compiled code does not: that pass checks values only.
    strict = not (engine == "numba" and numba.config.DISABLE_JIT)
    with warnings.catch_warnings():
        warnings.simplefilter("error" if strict else "ignore")
        with np.errstate(all="raise" if strict else "ignore"):
            out, h, c = layer(x, initial_state=[np.ones((2, 3)) * 1e30] * 2, training=True)
            dx = layer.backward([np.ones_like(out), np.ones_like(h), np.ones_like(c)])
    for a in (out, h, dx, *layer.grads, *layer.state_grads):
        assert np.isfinite(a).all()


# ----------------------------------------------------------------------------- backward and install


@pytest.mark.parametrize("engine", ENGINES)
def test_backward_before_a_training_forward(engine):
    layer = built(engine=engine)
    with pytest.raises(RuntimeError, match=r"needs the cache of a forward pass made with "
                                           r"training=True"):
        layer.backward(np.zeros((2, 3)))
    layer(np.zeros((2, 4, 2)))  # inference keeps nothing
    with pytest.raises(RuntimeError, match=r"an inference call keeps nothing"):
        layer.backward(np.zeros((2, 3)))


@pytest.mark.parametrize("engine", ENGINES)
def test_second_backward_after_the_cache_was_consumed(engine):
    layer = built(engine=engine)
    layer(np.ones((2, 4, 2)), training=True)
    layer.backward(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"each backward consumes the cache of one forward"):
        layer.backward(np.ones((2, 3)))


@pytest.mark.parametrize("kwargs, dy, match", [
    ({}, np.zeros((2, 4, 3)), r"dy \(the output's gradient\) must have shape \(2, 3\) .*"
                              r"got \(2, 4, 3\)"),
    ({"return_sequences": True}, np.zeros((2, 3)), r"must have shape \(2, 4, 3\)"),
    ({"return_state": True}, np.zeros((2, 3)), r"returns \[output, h, c\] \(return_state=True"
                                               r"\), so dy must be a list of 3 arrays"),
    ({"return_state": True}, [np.zeros((2, 3))] * 2, r"list of 3 arrays .*got list of length "
                                                     r"2"),
    ({"return_state": True}, [np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((3, 3))],
     r"dc must have shape \(2, 3\)"),
    ({}, [np.zeros((2, 3))], r"must have shape \(2, 3\).*got \(1, 2, 3\)"),
    ({}, np.full((2, 3), "x"), r"must be numeric"),
])
@pytest.mark.parametrize("engine", ENGINES)
def test_dy_of_the_wrong_shape_or_structure(kwargs, dy, match, engine):
    layer = built(engine=engine, **kwargs)
    layer(np.ones((2, 4, 2)), training=True)
    with pytest.raises((ValueError, TypeError), match=match):
        layer.backward(dy)


# ----------------------------------------------------------------------------- JIT cache


@pytest.mark.slow  # a fresh Python process (imports, JIT) takes 4-30 s
def test_numba_cache_works_from_a_read_only_install(tmp_path):
    """Copy the package to a read-only directory; with NUMBA_CACHE_DIR unset and HOME in a
    temp dir, the numba engine runs, caches in the user cache directory, and a second
    process loads that cache.

    root ignores file modes, so each package directory also gets a plain *file* named
    ``__pycache__``: nobody, root included, can create the in-tree cache directory then.
    """
    src = Path(lstm_np.__file__).parent
    site = tmp_path / "site"
    shutil.copytree(src, site / "lstm_np", ignore=shutil.ignore_patterns("__pycache__"))
    for package_dir in [p.parent for p in (site / "lstm_np").rglob("__init__.py")]:
        (package_dir / "__pycache__").write_text("not a directory\n")
    for root, dirs, files in os.walk(site):
        for name in dirs + files:
            os.chmod(Path(root) / name, 0o555 if name in dirs else 0o444)
    os.chmod(site, 0o555)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH", "XDG_CACHE_HOME", "NUMBA_DISABLE_JIT")}
    env.update(PYTHONPATH=str(site), HOME=str(home), LSTM_NP_JIT_CACHE="1")
    code = textwrap.dedent(f"""
        import numpy as np, lstm_np
        assert lstm_np.__file__.startswith({str(site)!r}), lstm_np.__file__
        layer = lstm_np.LSTM(3, engine="numba", return_sequences=True)
        y = layer(np.ones((2, 4, 5)), training=True)
        layer.backward(np.ones_like(y))
        print("ok", y.shape)
    """)
    try:
        for attempt in range(2):
            if attempt:
                env["NUMBA_DEBUG_CACHE"] = "1"  # the second process must load, not compile
            run = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                                 capture_output=True, text=True, timeout=600)
            assert run.returncode == 0, run.stderr[-3000:]
            assert "ok (2, 4, 3)" in run.stdout
        assert "data loaded from" in run.stdout + run.stderr
        assert "data saved to" not in run.stdout + run.stderr
        cached = list(home.rglob("*.nbi"))
        assert cached, "no Numba cache index written under the user cache directory"
        assert not [p for p in site.rglob("*.nbi")]
        assert "numba" in str(cached[0])
    finally:
        for root, dirs, _ in os.walk(tmp_path):
            for name in dirs:
                os.chmod(Path(root) / name, 0o755)
        os.chmod(site, 0o755)


def test_keras_only_options_are_validated_as_keras_does():
    with pytest.raises(ValueError, match="use_cudnn must be 'auto', True or False"):
        lstm_np.LSTM(3, use_cudnn="yes")
    with pytest.raises(ValueError, match="implementation must be 1 or 2"):
        lstm_np.LSTM(3, implementation=3)
    assert lstm_np.LSTM(3, recurrent_dropout=0.2).implementation == 1  # Keras forces 1
