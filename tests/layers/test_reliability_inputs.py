"""A battery of bad inputs over every public entry point.

Each row of :data:`CASES` is ``(id, call, exception, message regex)``: the call must raise
that exception (a plain Python one: ValueError, TypeError, IndexError, FileNotFoundError,
or the RuntimeError of "backward before forward") and the message must say what was
expected. Never a Numba typing error, a segfault or a silent wrong result.

The inputs Keras *accepts* (an empty batch, zero features, NaN, integer arrays) are checked
against Keras' documented result in :func:`test_edge_inputs_keras_accepts`.
Messages of the recurrent layers that tests/layers/test_lstm_errors.py and
tests/layers/test_gru_family_errors.py already pin are run here across GRU/SimpleRNN and both
engines, not repeated one by one.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

import lstm_np
from lstm_np import data as D
from lstm_np import datasets as DS
from lstm_np import layers as L
from lstm_np.interop import from_keras, from_torch, load_keras, load_weights

RNNS = ("LSTM", "GRU", "SimpleRNN")
ENGINES = ("numpy", "numba")
X = np.random.default_rng(0).random((2, 4, 2))  # (B, T, F)


def rnn(cls, engine, **kw):
    return getattr(L, cls)(3, engine=engine, **kw)


def n_states(cls):
    return 2 if cls == "LSTM" else 1


def trained(layer, x=X):
    layer(x, training=True)
    return layer


def model(stateful=False):
    m = lstm_np.Sequential([lstm_np.Input((4, 2), batch_size=2 if stateful else None),
                            L.LSTM(3, stateful=stateful), L.Dense(1)])
    m.compile(loss="mse", optimizer="adam")
    return m


# ----------------------------------------------------------------------------- recurrent
def _rnn_cases():
    for cls in RNNS:
        for eng in ENGINES:
            def make(cls=cls, eng=eng, **kw):
                return rnn(cls, eng, **kw)
            k = f"{cls}-{eng}"
            yield from [
                (f"{k} 2-D input", lambda m=make: m()(np.ones((2, 3))), ValueError,
                 r"expects a 3-D input \(batch, timesteps, features\); got shape \(2, 3\)"),
                (f"{k} 4-D input", lambda m=make: m()(np.ones((2, 3, 1, 1))), ValueError,
                 r"3-D input.*x\.reshape"),
                (f"{k} strings", lambda m=make: m()(np.array([[["a"]]])), TypeError,
                 r"must be numeric .*dtype <U1"),
                (f"{k} objects", lambda m=make: m()(np.array([[[None]]], dtype=object)),
                 TypeError, r"must be numeric .*dtype object"),
                (f"{k} complex", lambda m=make: m()(np.ones((1, 2, 2), complex)), TypeError,
                 r"must be numeric .*complex128"),
                (f"{k} ragged list", lambda m=make: m()([[[1.0], [2.0, 3.0]]]), TypeError,
                 r"must be a numeric array"),
                (f"{k} None", lambda m=make: m()(None), TypeError, r"must be numeric"),
                (f"{k} 0 timesteps", lambda m=make: m()(np.ones((2, 0, 2))), ValueError,
                 r"0 timesteps.*at least one step"),
                (f"{k} feature change", lambda m=make: (lambda la: (la(X), la(
                    np.ones((2, 4, 5)))))(m()), ValueError,
                 r"built for 2 input features but got 5"),
                (f"{k} backward without forward", lambda m=make: m().backward(np.ones((2, 3))),
                 RuntimeError, r"needs the cache of a forward pass made with training=True"),
                (f"{k} backward after inference", lambda m=make: (lambda la: (la(X),
                 la.backward(np.ones((2, 3)))))(m()), RuntimeError, r"inference call keeps"),
                (f"{k} dy strings", lambda m=make: trained(m()).backward(
                    np.array([["a"] * 3] * 2)), TypeError, r"dy .*must be numeric"),
                (f"{k} dy wrong shape", lambda m=make: trained(m()).backward(np.ones((5, 3))),
                 ValueError, r"dy .*must have shape \(2, 3\).*got \(5, 3\)"),
                (f"{k} stateful batch mismatch", lambda m=make: (lambda la: (la(X), la(
                    np.ones((3, 4, 2)))))(m(stateful=True)), ValueError,
                 r"stateful with batch size 2.*got a batch of 3.*batch_size=2"),
                (f"{k} stateful without batch size", lambda m=make: m(stateful=True).build(
                    (None, 4, 2)), ValueError, r"fixed batch size"),
                (f"{k} reset_state wrong shape", lambda m=make, c=cls: (lambda la: (la(X),
                 la.reset_state([np.ones((5, 3))] * n_states(c))))(m(stateful=True)),
                 ValueError, r"must have shape \(batch, units\) = \(2, 3\); got \(5, 3\)"),
                (f"{k} reset_state not stateful", lambda m=make: m().reset_state(),
                 AttributeError, r"not stateful"),
                (f"{k} mask strings", lambda m=make: m()(X, mask=np.array([["a"] * 4] * 2)),
                 TypeError, r"mask must be boolean"),
                (f"{k} mask wrong shape", lambda m=make: m()(X, mask=np.ones(4, bool)),
                 ValueError, r"mask must have shape \(batch, timesteps\) = \(2, 4\)"),
                (f"{k} initial_state strings", lambda m=make, c=cls: m()(X, initial_state=[
                    np.array([["a"] * 3] * 2)] * n_states(c)), TypeError, r"must be numeric"),
                (f"{k} initial_state wrong shape", lambda m=make, c=cls: m()(X, initial_state=[
                    np.ones((2, 4))] * n_states(c)), ValueError, r"\(2, 3\); got \(2, 4\)"),
                (f"{k} float16", lambda m=make: m(dtype="float16"), TypeError,
                 r"dtype must be one of .*float32"),
                (f"{k} units 3.5", lambda c=cls: getattr(L, c)(3.5), ValueError,
                 r"units must be a positive integer"),
                (f"{k} dropout string", lambda m=make: m(dropout="a"), ValueError,
                 r"dropout must be a number"),
                (f"{k} unknown engine", lambda c=cls: getattr(L, c)(3, engine="cuda"),
                 ValueError, r"engine"),
            ]


# ----------------------------------------------------------------------------- other layers
LAYER_CASES = [
    ("Dense strings", lambda: L.Dense(3)(np.array([["a"]])), TypeError, r"must be numeric"),
    ("Dense 0 units", lambda: L.Dense(0), ValueError, r"units must be a positive integer"),
    ("Dense feature change", lambda: (lambda la: (la(np.ones((2, 3))), la(np.ones((2, 4)))))(
        L.Dense(2)), ValueError, r"last axis has 3 features; got shape \(2, 4\)"),
    ("Dense backward without forward", lambda: L.Dense(2).backward(np.ones((2, 2))),
     RuntimeError, r"needs the cache"),
    ("Dense dy wrong shape", lambda: trained(L.Dense(2), np.ones((2, 3))).backward(
        np.ones((5, 2))), ValueError, r"dy .*must have shape \(2, 2\).*got \(5, 2\)"),
    ("Dense dy strings", lambda: trained(L.Dense(2), np.ones((2, 3))).backward(
        np.array([["a", "b"]] * 2)), TypeError, r"dy .*must be numeric"),
    ("Activation dy wrong shape", lambda: trained(L.Activation("tanh"), np.ones((2, 3))).backward(
        np.ones((3, 3))), ValueError, r"must have shape \(2, 3\)"),
    ("Dropout rate 2", lambda: L.Dropout(2.0), ValueError, r"rate must be a number in \[0, 1\]"),
    ("Embedding float ids", lambda: L.Embedding(5, 2)(np.array([[1.5]])), ValueError,
     r"integer ids"),
    ("Embedding id out of range", lambda: L.Embedding(5, 2)(np.array([[7]])), ValueError,
     r"index 7 is out of range .*input_dim=5"),
    ("Embedding negative id", lambda: L.Embedding(5, 2)(np.array([[-1]])), ValueError,
     r"index -1 is out of range"),
    ("Embedding strings", lambda: L.Embedding(5, 2)(np.array([["a"]])), TypeError,
     r"integer ids; got dtype <U1"),
    ("Masking strings", lambda: L.Masking()(np.array([[["a"]]])), TypeError, r"must be numeric"),
    ("RepeatVector 3-D", lambda: L.RepeatVector(2)(np.ones((2, 3, 4))), ValueError,
     r"expects 2-D input \(batch, features\)"),
    ("Activation unknown", lambda: L.Activation("nope"), ValueError,
     r"Unknown activation 'nope'\. Valid names"),
    ("Reshape sizes", lambda: L.Reshape((5,))(np.ones((2, 3))), ValueError,
     r"cannot reshape input \(2, 3\) \(3 values per sample\) into \(5,\)"),
    ("Permute bad dims", lambda: L.Permute((3, 1))(np.ones((2, 3, 4))), ValueError,
     r"permutation of 1\.\.2"),
    ("Concatenate shapes", lambda: L.Concatenate()([np.ones((2, 3)), np.ones((3, 3))]),
     ValueError, r"shapes \[\(2, 3\), \(3, 3\)\] differ outside axis -1"),
    ("TimeDistributed 2-D", lambda: L.TimeDistributed(L.Dense(2))(np.ones((2, 3))), ValueError,
     r"at least 3 dimensions"),
    ("TimeDistributed non-layer", lambda: L.TimeDistributed(3), TypeError, r"wraps an lstm_np"),
    ("Bidirectional 2-D", lambda: L.Bidirectional(L.LSTM(2))(np.ones((2, 3))), ValueError,
     r"3-D input"),
    ("Bidirectional 0 timesteps", lambda: L.Bidirectional(L.GRU(2))(np.ones((2, 0, 2))),
     ValueError, r"0 timesteps"),
    ("Bidirectional non-recurrent", lambda: L.Bidirectional(L.Dense(2)), (TypeError, ValueError),
     r"recurrent"),
]

# ----------------------------------------------------------------------------- models
MODEL_CASES = [
    ("Input non-integer shape", lambda: lstm_np.Input(shape="abc"), ValueError,
     r"non-negative integers or None"),
    ("Input negative dim", lambda: lstm_np.Input(shape=(-1, 2)), ValueError,
     r"non-negative integers or None.*\(None, -1, 2\)"),
    ("Sequential non-layer", lambda: lstm_np.Sequential([3]), TypeError, r"takes an lstm_np layer"),
    ("Model non-symbolic", lambda: lstm_np.Model(inputs=np.ones(3), outputs=np.ones(3)), TypeError,
     r"symbolic tensors from Input\(\)"),
    ("compile unknown loss", lambda: model().compile(loss="nope", optimizer="adam"), ValueError,
     r"Unknown loss 'nope'"),
    ("compile unknown optimizer", lambda: model().compile(loss="mse", optimizer="nope"),
     ValueError, r"Unknown optimizer 'nope'"),
    ("fit before compile", lambda: lstm_np.Sequential([L.Dense(1)]).fit(
        np.ones((2, 3)), np.ones((2, 1)), verbose=0), ValueError, r"compile the model before"),
    ("fit x strings", lambda: model().fit(np.full((2, 4, 2), "a"), np.ones((2, 1)), verbose=0),
     TypeError, r"x must be numeric"),
    ("fit y strings", lambda: model().fit(X, np.array([["a"]] * 2), verbose=0), TypeError,
     r"y must be numeric"),
    ("fit sample counts", lambda: model().fit(X, np.ones((3, 1)), verbose=0), ValueError,
     r"x has 2 and y has 3"),
    ("fit target shape", lambda: model().fit(X, np.ones((2, 5)), verbose=0), ValueError,
     r"Targets of shape \(samples, 5\) do not fit the model output \(batch, 1\)"),
    ("fit x rank", lambda: model().fit(np.ones((2, 4)), np.ones((2, 1)), verbose=0), ValueError,
     r"expects shape \(None, 4, 2\).*x\.reshape"),
    ("fit empty", lambda: model().fit(np.ones((0, 4, 2)), np.ones((0, 1)), verbose=0),
     ValueError, r"x has 0 samples"),
    ("fit y None", lambda: model().fit(X, None, verbose=0), ValueError, r"need targets y"),
    ("fit batch_size 0", lambda: model().fit(X, np.ones((2, 1)), batch_size=0, verbose=0),
     ValueError, r"batch_size must be a positive integer; got 0"),
    ("fit validation_split 2", lambda: model().fit(X, np.ones((2, 1)), validation_split=2.0,
                                                    verbose=0), ValueError,
     r"validation_split must be a fraction in \[0, 1\)"),
    ("fit sample_weight length", lambda: model().fit(X, np.ones((2, 1)), sample_weight=np.ones(5),
                                                      verbose=0), ValueError,
     r"one entry per sample \(2\)"),
    ("fit stateful batch", lambda: model(True).fit(np.ones((3, 4, 2)), np.ones((3, 1)),
                                                   batch_size=2, verbose=0), ValueError,
     r"built for batch size 2.*not a multiple of 2"),
    ("predict strings", lambda: model().predict(np.full((2, 4, 2), "a"), verbose=0), TypeError,
     r"x must be numeric"),
    ("predict empty", lambda: model().predict(np.ones((0, 4, 2)), verbose=0), ValueError,
     r"x has 0 samples"),
    ("predict None", lambda: model().predict(None, verbose=0), ValueError, r"x is required"),
    ("predict stateful batch", lambda: model(True).predict(np.ones((3, 4, 2)), verbose=0),
     ValueError, r"built for batch size 2"),
    ("evaluate empty", lambda: model().evaluate(np.ones((0, 4, 2)), np.ones((0, 1)), verbose=0),
     ValueError, r"x has 0 samples"),
    ("evaluate sample counts", lambda: model().evaluate(X, np.ones((3, 1)), verbose=0),
     ValueError, r"x has 2 and y has 3"),
    ("train_on_batch empty", lambda: model().train_on_batch(np.ones((0, 4, 2)), np.ones((0, 1))),
     ValueError, r"x has 0 samples"),
    ("train_on_batch y strings", lambda: model().train_on_batch(X, np.array([["a"]] * 2)),
     TypeError, r"y must be numeric"),
    ("fit epochs string", lambda: model().fit(X, np.ones((2, 1)), epochs="a", verbose=0),
     TypeError, r"epochs must be an integer; got 'a'"),
    ("fit verbose", lambda: model().fit(X, np.ones((2, 1)), verbose="x"), ValueError,
     r"verbose must be 'auto', 0 .*got 'x'"),
    ("fit validation_data", lambda: model().fit(X, np.ones((2, 1)), validation_data=3,
                                                verbose=0), ValueError,
     r"validation_data must be a tuple \(x_val, y_val\)"),
    ("Adam learning_rate string", lambda: lstm_np.optimizers.Adam(learning_rate="a"), TypeError,
     r"learning_rate must be a number"),
    ("model call strings", lambda: model()(np.full((2, 4, 2), "a")), TypeError,
     r"must be numeric"),
    ("Bidirectional stateful batch", lambda: (lambda b: (b(X), b(np.ones((3, 4, 2)))))(
        L.Bidirectional(L.LSTM(2, stateful=True))), ValueError,
     r"stateful with batch size 2.*got a batch of 3"),
    ("functional input count", lambda: (lambda i: lstm_np.Model(i, L.Dense(1)(L.LSTM(2)(i))))(
        lstm_np.Input((4, 2))).predict([X, X], verbose=0), ValueError,
     r"has 1 inputs; got 2 arrays"),
]

# ----------------------------------------------------------------------------- data helpers
DATA_CASES = [
    ("create_dataset strings", lambda: D.create_dataset(np.array([["a"]])), TypeError,
     r"dataset must be numeric"),
    ("create_dataset look_back 0", lambda: D.create_dataset(np.ones((5, 1)), look_back=0),
     ValueError, r"look_back must be a positive integer"),
    ("create_dataset too short", lambda: D.create_dataset(np.ones((2, 1)), look_back=5),
     ValueError, r"at least look_back \+ 2 = 7 points"),
    ("create_dataset 3-D", lambda: D.create_dataset(np.ones((5, 1, 1))), ValueError,
     r"\(N, 1\) or \(N,\).*sliding_windows"),
    ("sliding_windows strings", lambda: D.sliding_windows(np.array(["a"] * 5), sequence_length=2),
     TypeError, r"data must be numeric"),
    ("sliding_windows length 0", lambda: D.sliding_windows(np.ones(5), sequence_length=0),
     ValueError, r"sequence_length must be a positive integer"),
    ("sliding_windows too long", lambda: D.sliding_windows(np.ones(5), sequence_length=9),
     ValueError, r"No complete window"),
    ("MinMaxScaler strings", lambda: D.MinMaxScaler().fit(np.array([["a"]])), TypeError,
     r"must be numeric"),
    ("MinMaxScaler before fit", lambda: D.MinMaxScaler().transform(np.ones((2, 1))),
     RuntimeError, r"not fitted yet"),
    ("MinMaxScaler empty", lambda: D.MinMaxScaler().fit(np.ones((0, 1))), ValueError,
     r"at least one sample"),
    ("MinMaxScaler columns", lambda: D.MinMaxScaler().fit(np.ones((3, 2))).transform(
        np.ones((3, 3))), ValueError, r"fitted on samples of shape \(2,\).*got shape \(3, 3\)"),
    ("MinMaxScaler range", lambda: D.MinMaxScaler(feature_range=(1, 0)), ValueError,
     r"low < high"),
    ("train_test_split 1.5", lambda: D.train_test_split(np.ones(5), 1.5), ValueError,
     r"train_fraction must be in \(0, 1\)"),
    ("train_test_split string", lambda: D.train_test_split(np.ones(5), "a"), ValueError,
     r"train_fraction must be in \(0, 1\)"),
    ("datasets.text unknown", lambda: DS.text("nope"), ValueError, r"Unknown text 'nope'"),
    ("airline_passengers int8", lambda: DS.airline_passengers(dtype="int8"), TypeError,
     r"float dtype"),
]

# ----------------------------------------------------------------------------- trace / plot
TRACE_CASES = [
    ("trace non-layer", lambda: lstm_np.trace(3, X), TypeError, r"takes a recurrent layer"),
    ("trace Dense", lambda: lstm_np.trace(L.Dense(2), X), TypeError, r"got Dense"),
    ("trace 2-D", lambda: lstm_np.trace(L.LSTM(2), np.ones((4, 2))), ValueError, r"3-D input"),
    ("trace strings", lambda: lstm_np.trace(L.GRU(2), np.array([[["a"]]])), TypeError,
     r"must be numeric"),
    ("trace 0 timesteps", lambda: lstm_np.trace(L.SimpleRNN(2), np.ones((1, 0, 2))), ValueError,
     r"0 timesteps"),
    ("trace initial_state", lambda: lstm_np.trace(L.LSTM(2), X,
                                                  initial_state=[np.ones((5, 2))] * 2),
     ValueError, r"\(2, 2\); got \(5, 2\)"),
]


def _trace_array_cases():
    import importlib

    tr = importlib.import_module("lstm_np.tools.trace")

    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 2))
    return [
        ("trace_lstm_arrays kernel", lambda: tr.trace_lstm_arrays(x, rng.normal(size=(2, 8)),
                                                                   rng.normal(size=(3, 12))),
         ValueError, r"trace_lstm_arrays: kernel must have shape .* = \(2, 12\); got \(2, 8\)"),
        ("trace_gru_arrays bias", lambda: tr.trace_gru_arrays(x, rng.normal(size=(2, 9)),
                                                               rng.normal(size=(3, 9)),
                                                               rng.normal(size=(9,))),
         ValueError, r"bias must have shape \(2, 9\); got \(9,\)"),
        ("trace_simple_rnn_arrays h0", lambda: tr.trace_simple_rnn_arrays(
            x, rng.normal(size=(2, 3)), rng.normal(size=(3, 3)), h0=np.ones((5, 3))),
         ValueError, r"\(batch, units\) = \(2, 3\); got \(5, 3\)"),
    ]


def _plot_cases():
    from lstm_np import plot

    return [
        ("plot_trace non-trace", lambda: plot.plot_trace(3), TypeError, r"takes the Trace"),
        ("plot_trace sample", lambda: plot.plot_trace(lstm_np.trace(L.LSTM(2), X), sample=9),
         ValueError, r"sample must be in \[0, 2\)"),
        ("plot_forecast outside", lambda: plot.plot_forecast(np.ones(10), np.ones(3), np.ones(3),
                                                             0, 20), ValueError,
         r"run outside the series of 10 points"),
    ]


CASES = [*_rnn_cases(), *LAYER_CASES, *MODEL_CASES, *DATA_CASES, *TRACE_CASES,
         *_trace_array_cases(), *_plot_cases()]


@pytest.mark.parametrize("call, exc, match", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(call, exc, match):
    with pytest.raises(exc, match=match) as info:
        call()
    assert "numba" not in type(info.value).__module__  # never a Numba typing error


# ----------------------------------------------------------------------------- files
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Paths of good and bad files: missing, empty, garbage, truncated, corrupted."""
    d = tmp_path_factory.mktemp("files")

    def write(name, content):
        (d / name).write_bytes(content)
        return str(d / name)

    good = str(d / "good.npz")
    model().save(good)
    raw = open(good, "rb").read()
    # Flip bytes inside the first stored array: the zip directory is intact, the CRC is not.
    with zipfile.ZipFile(good) as z:
        info = z.infolist()[0]
    off = info.header_offset + 30 + len(info.filename) + 40
    bad = bytearray(raw)
    bad[off:off + 8] = b"\xff" * 8
    return {
        "dir": str(d),
        "missing": str(d / "missing.npz"),
        "empty": write("empty.npz", b""),
        "garbage": write("garbage.npz", b"garbage" * 10),
        "truncated": write("truncated.npz", raw[: len(raw) // 2]),
        "corrupt": write("corrupt.npz", bytes(bad)),
        "keras_garbage": write("garbage.keras", b"garbage" * 10),
        "keras_empty": write("empty.keras", b""),
        "keras_zip_truncated": write("trunc.keras", b"PK\x03\x04" + b"\0" * 20),
        "h5_truncated": write("trunc.weights.h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 20),
    }


FILE_CASES = [
    ("load_model missing", lambda f: lstm_np.load_model(f["missing"]), FileNotFoundError,
     r"No such file"),
    ("load_model empty", lambda f: lstm_np.load_model(f["empty"]), ValueError,
     r"not a zip \(\.npz\) archive \(empty, truncated"),
    ("load_model garbage", lambda f: lstm_np.load_model(f["garbage"]), ValueError,
     r"not a file written by lstm_np"),
    ("load_model truncated", lambda f: lstm_np.load_model(f["truncated"]), ValueError,
     r"empty, truncated or another format"),
    ("load_model corrupted", lambda f: lstm_np.load_model(f["corrupt"]), ValueError,
     r"damaged"),
    ("load_model directory", lambda f: lstm_np.load_model(f["dir"]), ValueError,
     r"is a directory"),
    ("model.load_weights truncated", lambda f: model().load_weights(f["truncated"]), ValueError,
     r"not a file written by lstm_np"),
    ("model.load_weights missing", lambda f: model().load_weights(f["missing"]),
     FileNotFoundError, r"No such file"),
    ("save into a missing directory", lambda f: model().save(
        os.path.join(f["dir"], "nodir", "m.npz")), FileNotFoundError,
     r"directory .*nodir' does not exist"),
    ("load_keras missing", lambda f: load_keras(f["missing"]), FileNotFoundError,
     r"No such file.*\.keras"),
    ("load_keras garbage", lambda f: load_keras(f["keras_garbage"]), ValueError,
     r"neither a Keras 3 \.keras file .* nor an HDF5 file"),
    ("load_keras empty", lambda f: load_keras(f["keras_empty"]), ValueError,
     r"starts with b''"),
    ("load_keras truncated zip", lambda f: load_keras(f["keras_zip_truncated"]), ValueError,
     r"damaged or truncated"),
    ("load_keras truncated HDF5", lambda f: load_keras(f["h5_truncated"]), ValueError,
     r"not a readable HDF5 file \(truncated or damaged\?\)"),
    ("load_keras directory", lambda f: load_keras(f["dir"]), ValueError, r"is a directory"),
    ("interop load_weights missing", lambda f: load_weights(model(), f["missing"]),
     FileNotFoundError, r"No such file"),
    ("interop load_weights truncated", lambda f: load_weights(model(), f["h5_truncated"]),
     ValueError, r"truncated or damaged"),
    ("save_keras wrong suffix", lambda f: model().save_keras(os.path.join(f["dir"], "m.npz")),
     ValueError, r"must end in \.keras"),
]


@pytest.mark.parametrize("call, exc, match", [c[1:] for c in FILE_CASES],
                         ids=[c[0] for c in FILE_CASES])
def test_bad_files_get_a_clear_error(files, call, exc, match):
    with pytest.raises(exc, match=match):
        call(files)


def test_interop_objects_are_refused_clearly():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"converts torch\.nn\.LSTM.*got builtins\.int"):
        from_torch(3)
    with pytest.raises(TypeError, match=r"got torch\.nn\.modules\.linear\.Linear"):
        from_torch(torch.nn.Linear(2, 3))
    with pytest.raises(TypeError, match=r"takes a Keras model or layer; got str.*load_keras"):
        from_keras("model.keras")


# ----------------------------------------------------------------------------- CLI
@pytest.mark.parametrize("args, match", [
    (["inspect", "{d}/missing.keras"], r"No such file"),
    (["inspect", "{d}/garbage.keras"], r"neither a Keras 3 \.keras file"),
    (["verify", "{d}/trunc.keras"], r"damaged or truncated"),
    (["explain", "NOPE(3)", "--input-shape", "1,2,3"], r"Unknown layer 'NOPE'"),
    (["explain", "LSTM(3", "--input-shape", "1,2,3"], r"Cannot parse layer spec"),
    (["explain", "LSTM(-3)", "--input-shape", "1,2,3"], r"units must be a positive integer"),
    (["explain", "LSTM(3)", "--input-shape", "2,0,2"], r"three positive integers"),
    (["demo", "--engine", "cuda"], r"'cuda' is not one of"),
    (["demo", "--epochs", "-1"], r"-1 is not in the range"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_cli_bad_input_exits_2_with_a_message(files, args, match):
    from lstm_np.tools.cli import main

    res = CliRunner().invoke(main, [a.format(d=files["dir"]) for a in args])
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)  # no traceback
    assert __import__("re").search(match, " ".join(res.output.split())), res.output


# ----------------------------------------------------------------------------- Keras' results
@pytest.mark.parametrize("cls", RNNS)
@pytest.mark.parametrize("engine", ENGINES)
def test_edge_inputs_keras_accepts(cls, engine):
    """What Keras 3 (torch) returns, measured: an empty batch gives (0, units) and its
    backward (0, T, F); 0 features give the recurrence on the states alone; integers are
    cast to the layer's dtype; NaN propagates to every later step (Keras the same:
    tests/layers/test_lstm_errors.py compares it number by number for the LSTM)."""
    layer = rnn(cls, engine)
    y = layer(np.ones((0, 3, 2)), training=True)
    assert y.shape == (0, 3) and layer.backward(np.ones((0, 3))).shape == (0, 3, 2)
    assert rnn(cls, engine)(np.ones((2, 3, 0))).shape == (2, 3)
    ints = rnn(cls, engine, seed=1)(np.arange(12).reshape(2, 3, 2))
    floats = rnn(cls, engine, seed=1)(np.arange(12.0).reshape(2, 3, 2))
    assert ints.dtype == np.float32 and np.array_equal(ints, floats)
    x = np.ones((2, 3, 2))
    x[0, 1, 0] = np.nan
    out = rnn(cls, engine, return_sequences=True)(x)
    assert np.isnan(out[0, 1:]).all() and np.isfinite(out[0, 0]).all()
    assert np.isfinite(out[1]).all()


def test_minmax_scaler_ignores_nan_like_scikit_learn():
    x = np.array([[1.0], [np.nan], [3.0]])
    np.testing.assert_array_equal(D.MinMaxScaler().fit_transform(x), [[0.0], [np.nan], [1.0]])


# ----------------------------------------------------------------------------- lstm_np.ops
def _ops_cases():
    from lstm_np.layers import engine as ops  # ops.* on engine="numpy", kernels.* on "numba"

    rng = np.random.default_rng(1)

    def w(*shape):
        return rng.normal(size=shape)

    B, T, F, H = 2, 3, 2, 3
    x = rng.normal(size=(B, T, F))
    forward = {"lstm": (ops.lstm_forward, 4), "gru": (ops.gru_forward, 3),
               "simple_rnn": (ops.simple_rnn_forward, 1)}
    for name, (fn, G) in forward.items():
        for eng in ENGINES:
            k = f"ops.{name}_forward-{eng}"

            def run(*args, fn=fn, eng=eng, **kw):
                return fn(*args, engine=eng, **kw)
            yield from [
                (f"{k} kernel width", lambda r=run, G=G: r(x, w(F, (G + 1) * H), w(H, G * H)),
                 ValueError, rf"kernel must have shape \(features, {G} \* units\)"),
                (f"{k} kernel rows", lambda r=run, G=G: r(x, w(F + 1, G * H), w(H, G * H)),
                 ValueError, rf"= \({F}, {G * H}\); got \({F + 1}, {G * H}\)"),
                # Checked before the kernels run: they would read past a too-narrow one.
                (f"{k} recurrent_kernel width", lambda r=run, G=G: r(x, w(F, G * H),
                                                                      w(H, G * H - 1)),
                 ValueError, rf"recurrent_kernel must have shape \(units, {G} \* units\)"),
                (f"{k} bias", lambda r=run, G=G: r(x, w(F, G * H), w(H, G * H), w(G * H + 1)),
                 ValueError, r"bias must have shape"),
                # ... and a wrong-batch initial state (GRU, numba) as well.
                (f"{k} h0 batch", lambda r=run, G=G: r(x, w(F, G * H), w(H, G * H),
                                                       h0=w(B + 1, H)), ValueError,
                 rf"initial state must have shape \(batch, units\) = \({B}, {H}\)"),
                (f"{k} 2-D x", lambda r=run, G=G: r(x[:, 0], w(F, G * H), w(H, G * H)),
                 ValueError, r"x must be 3-D"),
                (f"{k} 0 timesteps", lambda r=run, G=G: r(x[:, :0], w(F, G * H), w(H, G * H)),
                 ValueError, r"x has 0 timesteps .*at least one step"),
                (f"{k} string x", lambda r=run, G=G: r(np.full((B, T, F), "a"), w(F, G * H),
                                                       w(H, G * H)), TypeError,
                 r"must be numeric"),
                (f"{k} int kernel", lambda r=run, G=G: r(x, np.ones((F, G * H), int),
                                                         w(H, G * H)), TypeError,
                 r"kernel must be a float32 or float64 array"),
                (f"{k} mask shape", lambda r=run, G=G: r(x, w(F, G * H), w(H, G * H),
                                                         mask=np.ones((B, T + 1), bool)),
                 ValueError, rf"mask must be a boolean \(batch, timesteps\) = \({B}, {T}\)"),
                (f"{k} dropout mask", lambda r=run, G=G: r(x, w(F, G * H), w(H, G * H),
                                                           dropout_mask=np.ones((1, B, F + 2))),
                 ValueError, r"dropout_mask must have shape"),
                (f"{k} d_outputs shape", lambda r=run, G=G, fn=fn: getattr(
                    ops, fn.__name__.replace("forward", "backward"))(
                    np.ones((B, T, H + 1)), *([np.zeros((B, H))] * (2 if G == 4 else 1)),
                    r(x, w(F, G * H), w(H, G * H))[-1]), ValueError,
                 rf"d_outputs must have shape \(batch, timesteps, units\) = \({B}, {T}, {H}\)"),
            ]


OPS_CASES = list(_ops_cases())


@pytest.mark.parametrize("call, exc, match", [c[1:] for c in OPS_CASES],
                         ids=[c[0] for c in OPS_CASES])
def test_functional_ops_check_their_arrays(call, exc, match):
    """lstm_np.ops runs the Numba kernels on raw arrays: every shape is checked first."""
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("engine", ENGINES)
def test_functional_ops_cast_like_keras(engine):
    """Integer x and float32 x with float64 weights compute in the kernel's dtype (cast
    before the kernels, which would otherwise raise a Numba typing error)."""
    from lstm_np.layers import engine as ops  # ops.* on engine="numpy", kernels.* on "numba"

    rng = np.random.default_rng(2)
    W, U = rng.normal(size=(2, 12)), rng.normal(size=(3, 12))
    x = np.arange(12).reshape(2, 3, 2) % 3
    ref, _, _ = ops.lstm_forward(x.astype(np.float64), W, U, engine=engine)
    for xi in (x, x.astype(np.float32)):
        out, _, _ = ops.lstm_forward(xi, W, U, engine=engine)
        assert out.dtype == np.float64
        np.testing.assert_array_equal(out, ref)
