"""Datasets and windowing: the airline series, the texts, create_dataset, sliding_windows.

``keras.utils.timeseries_dataset_from_array`` needs TensorFlow or Grain (not installed
here), so :func:`sliding_windows` is checked against the worked examples of its Keras
docstring (keras/src/utils/timeseries_dataset_utils.py) and against a naive loop.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_np import data, datasets
from lstm_np.data import MinMaxScaler, create_dataset, sliding_windows, train_test_split

# ----------------------------------------------------------------------------- datasets


def test_airline_passengers_is_box_jenkins_series_g():
    y, months = datasets.airline_passengers(return_months=True)
    assert y.shape == (144,) and y.dtype == np.float32
    # 1949 and 1960 as printed in Box & Jenkins (R's AirPassengers), and R's total.
    np.testing.assert_array_equal(y[:12], [112, 118, 132, 129, 121, 135, 148, 148, 136, 119,
                                           104, 118])
    np.testing.assert_array_equal(y[-12:], [417, 391, 419, 461, 472, 535, 622, 606, 508, 461,
                                            390, 432])
    assert y.sum() == 40363
    assert months[0] == "1949-01" and months[-1] == "1960-12" and len(months) == 144
    assert datasets.airline_passengers(dtype="float64").dtype == np.float64


def test_texts_are_the_public_domain_originals():
    d = datasets.text("declaration")
    assert d.startswith("When in the Course of human events, it becomes necessary")
    assert "Life, Liberty and the pursuit of Happiness.--That to secure these rights" in d
    assert d.rstrip().endswith("To prove this, let Facts be submitted to a candid world.")
    g = datasets.text("gettysburg")
    assert g.startswith("Four score and seven years ago our fathers brought forth")
    assert g.rstrip().endswith("shall not perish from the earth.")
    both = datasets.text("all")
    assert d in both and g in both and 3000 < len(both) < 10000
    assert set(both) <= set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ,.;-'\n"), "plain ASCII text"


def test_unknown_text_lists_the_names():
    with pytest.raises(ValueError, match="Available: declaration, gettysburg"):
        datasets.text("hamlet")


# ----------------------------------------------------------------------------- create_dataset


def test_create_dataset_matches_the_tutorial_loop_on_the_airline_split():
    series = datasets.airline_passengers().reshape(-1, 1)
    train, test = train_test_split(series, 0.67)
    assert (len(train), len(test)) == (96, 48)
    X, Y = create_dataset(train, look_back=3)
    assert X.shape == (92, 3) and Y.shape == (92,)  # 96 - 3 - 1: the tutorial's off-by-one
    for i in (0, 50, 91):
        np.testing.assert_array_equal(X[i], train[i:i + 3, 0])
        assert Y[i] == train[i + 3, 0]
    Xt, Yt = create_dataset(test, look_back=3)
    assert Xt.shape == (44, 3) and Yt.shape == (44,)


def test_create_dataset_accepts_a_1d_series_and_drops_the_last_window():
    X, Y = create_dataset(np.arange(6.0), look_back=2)
    np.testing.assert_array_equal(X, [[0, 1], [1, 2], [2, 3]])
    np.testing.assert_array_equal(Y, [2, 3, 4])  # the window [3, 4] -> 5 is dropped


@pytest.mark.parametrize("look_back", [0, -1, 1.5, True])
def test_create_dataset_rejects_bad_look_back(look_back):
    with pytest.raises(ValueError, match="look_back must be a positive integer"):
        create_dataset(np.arange(10.0), look_back)


def test_create_dataset_errors():
    with pytest.raises(ValueError, match="needs at least look_back \\+ 2 = 5 points"):
        create_dataset(np.arange(4.0), 3)
    with pytest.raises(ValueError, match="expects a series of shape \\(N, 1\\)"):
        create_dataset(np.zeros((4, 2, 1)), 1)


# ----------------------------------------------------------------------------- sliding_windows


def test_sliding_windows_keras_docstring_example_1():
    X = sliding_windows(np.arange(99), sequence_length=10, sampling_rate=2, sequence_stride=3)
    assert X.shape == (27, 10, 1)
    np.testing.assert_array_equal(X[0, :, 0], [0, 2, 4, 6, 8, 10, 12, 14, 16, 18])
    np.testing.assert_array_equal(X[1, :, 0], [3, 5, 7, 9, 11, 13, 15, 17, 19, 21])
    np.testing.assert_array_equal(X[2, :, 0], [6, 8, 10, 12, 14, 16, 18, 20, 22, 24])
    np.testing.assert_array_equal(X[-1, :, 0], [78, 80, 82, 84, 86, 88, 90, 92, 94, 96])


def test_sliding_windows_keras_docstring_example_2_next_step_targets():
    series = np.random.default_rng(0).normal(size=50)
    X, y = sliding_windows(series[:-10], series[10:], sequence_length=10)
    assert X.shape == (31, 10, 1) and y.shape == (31,)
    np.testing.assert_array_equal(X[0, :, 0], series[:10])
    assert y[0] == series[10]
    for k in range(31):  # every window is followed by its target
        np.testing.assert_array_equal(X[k, :, 0], series[k:k + 10])
        assert y[k] == series[k + 10]


def test_sliding_windows_equals_a_naive_loop_with_all_options():
    rng = np.random.default_rng(1)
    data_ = rng.normal(size=(40, 3))
    targets = rng.normal(size=(40, 2))
    X, y = sliding_windows(data_, targets, sequence_length=4, sequence_stride=2,
                           sampling_rate=3, start_index=5, end_index=35)
    expected_X, expected_y = [], []
    p = 0
    while 5 + p + 3 * 3 < 35:
        expected_X.append(data_[[5 + p + 3 * j for j in range(4)]])
        expected_y.append(targets[5 + p])
        p += 2
    np.testing.assert_array_equal(X, np.array(expected_X))
    np.testing.assert_array_equal(y, np.array(expected_y))


def test_sliding_windows_shuffle_is_a_seeded_permutation():
    X = sliding_windows(np.arange(30.0), sequence_length=5)
    Xs = sliding_windows(np.arange(30.0), sequence_length=5, shuffle=True, seed=3)
    assert not np.array_equal(X, Xs)
    np.testing.assert_array_equal(np.sort(Xs[:, 0, 0]), X[:, 0, 0])
    np.testing.assert_array_equal(
        Xs, sliding_windows(np.arange(30.0), sequence_length=5, shuffle=True, seed=3))


def test_sliding_windows_errors():
    with pytest.raises(ValueError, match="sequence_length must be a positive integer"):
        sliding_windows(np.arange(10), sequence_length=0)
    with pytest.raises(ValueError, match="No complete window"):
        sliding_windows(np.arange(5), sequence_length=6)
    with pytest.raises(ValueError, match="0 <= start_index < end_index"):
        sliding_windows(np.arange(10), sequence_length=2, start_index=8, end_index=4)
    with pytest.raises(ValueError, match="data must be \\(timesteps,\\) or"):
        sliding_windows(np.zeros((3, 3, 3)), sequence_length=2)


# ----------------------------------------------------------------------------- scaling, split


def test_minmax_scaler_round_trip_and_range():
    x = datasets.airline_passengers().reshape(-1, 1)
    s = MinMaxScaler()
    z = s.fit_transform(x)
    assert z.dtype == np.float32 and z.min() == 0 and z.max() == 1
    np.testing.assert_allclose(z[:, 0], (x[:, 0] - 104) / (622 - 104), rtol=1e-6)
    np.testing.assert_allclose(s.inverse_transform(z), x, rtol=1e-6)
    z2 = MinMaxScaler((-1, 1)).fit_transform(np.array([[0, 5], [10, 5]]))
    np.testing.assert_array_equal(z2, [[-1, -1], [1, -1]])  # constant column: span 1


def test_minmax_scaler_errors():
    with pytest.raises(RuntimeError, match="not fitted yet"):
        MinMaxScaler().transform(np.ones(3))
    with pytest.raises(ValueError, match="low < high"):
        MinMaxScaler((1, 0))


def test_train_test_split_errors():
    with pytest.raises(ValueError, match="train_fraction must be in \\(0, 1\\)"):
        train_test_split(np.arange(10), 1.5)


def test_module_exports():
    import lstm_np

    assert lstm_np.data is data and lstm_np.datasets is datasets


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 40), features=st.integers(1, 3), length=st.integers(1, 6),
       stride=st.integers(1, 4), rate=st.integers(1, 3), start=st.integers(0, 5),
       trim=st.integers(0, 5), with_targets=st.booleans())
def test_sliding_windows_equals_keras_window_arithmetic(n, features, length, stride, rate,
                                                        start, trim, with_targets):
    """Keras' rule, written as a loop: windows start at start_index + 0, stride, 2*stride...
    while the last sampled point stays below end_index; the target is targets[start + p]."""
    series = np.arange(n * features, dtype=float).reshape(n, features)
    targets = -np.arange(n, dtype=float) if with_targets else None
    end = n - trim
    expected_X, expected_y, p = [], [], 0
    while start + p + (length - 1) * rate < end:
        expected_X.append(series[[start + p + j * rate for j in range(length)]])
        expected_y.append(-(start + p))
        p += stride
    kwargs = dict(sequence_length=length, sequence_stride=stride, sampling_rate=rate,
                  start_index=start, end_index=end)
    if not expected_X or start >= end:
        with pytest.raises(ValueError):
            sliding_windows(series, targets, **kwargs)
        return
    out = sliding_windows(series, targets, **kwargs)
    X, y = out if with_targets else (out, None)
    np.testing.assert_array_equal(X, np.array(expected_X))
    if with_targets:
        np.testing.assert_array_equal(y, np.array(expected_y, dtype=float))
