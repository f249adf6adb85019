"""Turning a series into ``(samples, time steps, features)``, where every LSTM question starts.

* :func:`create_dataset` is the windowing of the classic tutorial (Brownlee, "Time Series
  Prediction with LSTM Recurrent Neural Networks in Python with Keras"), kept exactly,
  off-by-one included, so that its numbers can be reproduced.
* :func:`sliding_windows` is the general tool, with the arguments and the window
  arithmetic of ``keras.utils.timeseries_dataset_from_array``, returning arrays
  instead of a ``tf.data`` pipeline.
* :class:`MinMaxScaler` and :func:`train_test_split` are the two other steps of that
  tutorial (scikit-learn's scaler and the 67/33 split), so the demo needs no scikit-learn.

Keras doc: https://keras.io/api/data_loading/timeseries/
"""

from __future__ import annotations

import warnings

import numpy as np


def create_dataset(dataset, look_back: int = 1):
    """The tutorial's windowing: sample i sees ``look_back`` values and predicts the next one.

    ``X[i] = dataset[i:i+look_back, 0]``, ``Y[i] = dataset[i+look_back, 0]``.

    ``dataset`` is (N, 1) as in the tutorial (a 1-D (N,) series is accepted too).
    Returns ``dataX (N - look_back - 1, look_back)`` and ``dataY (N - look_back - 1,)``.

    The loop runs to ``len(dataset) - look_back - 1``, one window short of what the data
    allows (the last possible sample is dropped): that is the tutorial's code, kept
    so that its results can be reproduced; :func:`sliding_windows` has no such gap.

    >>> X, Y = create_dataset(np.arange(6.0).reshape(-1, 1), look_back=2)
    >>> X.tolist(), Y.tolist()
    ([[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]], [2.0, 3.0, 4.0])
    """
    dataset = _numeric(dataset, "dataset")
    if dataset.ndim == 1:
        dataset = dataset.reshape(-1, 1)  # (N,) -> (N, 1), the tutorial's layout
    if dataset.ndim != 2:
        raise ValueError(
            f"create_dataset expects a series of shape (N, 1) or (N,); got shape "
            f"{dataset.shape}. For several features use sliding_windows()."
        )
    if isinstance(look_back, bool) or not isinstance(look_back, (int, np.integer)) \
            or look_back < 1:
        raise ValueError(f"look_back must be a positive integer; got {look_back!r}.")
    if len(dataset) - look_back - 1 < 1:
        raise ValueError(
            f"A series of {len(dataset)} points gives no window with look_back={look_back}: "
            f"create_dataset needs at least look_back + 2 = {look_back + 2} points."
        )
    dataX, dataY = [], []
    for i in range(len(dataset) - look_back - 1):
        a = dataset[i:(i + look_back), 0]
        dataX.append(a)
        dataY.append(dataset[i + look_back, 0])
    return np.array(dataX), np.array(dataY)


def _numeric(x, what):
    """``x`` as an array of numbers; strings, objects and complex values get a TypeError."""
    try:
        arr = np.asarray(x)
    except ValueError as exc:  # ragged nested lists
        raise TypeError(f"{what} must be a numeric array; could not convert it: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numeric (float, int or bool); got an array of dtype "
                        f"{arr.dtype}. Convert it first, e.g. np.asarray(x, dtype='float32').")
    return arr


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


def sliding_windows(data, targets=None, sequence_length: int = 1, *, sequence_stride: int = 1,
                    sampling_rate: int = 1, start_index: int | None = None,
                    end_index: int | None = None, shuffle: bool = False, seed=None):
    """Windows over a series, as ``keras.utils.timeseries_dataset_from_array`` cuts them.

    Window ``k`` starts at ``p = k * sequence_stride`` (counted from ``start_index``) and
    holds ``data[start_index + p + j * sampling_rate]`` for ``j = 0 .. sequence_length-1``;
    its target is ``targets[start_index + p]`` (the target of the window that *starts*
    at ``p``: pass ``targets = data[sequence_length:]`` to predict the next value).
    Windows whose target would fall past the end of ``targets`` are dropped (Keras'
    gather would fail on them when ``start_index > 0``).

    Parameters
    ----------
    data : (N,) or (N, F) series, time on axis 0.
    targets : (N, ...) or None.
    sequence_length, sequence_stride, sampling_rate, start_index, end_index : as in Keras.
    shuffle, seed : shuffle the windows (NumPy generator seeded with ``seed``).

    Returns
    -------
    X (S, sequence_length, F), ready for an LSTM (a 1-D series gets F = 1), and,
    when ``targets`` is given, ``(X, y)`` with y (S, ...).

    >>> X, y = sliding_windows(np.arange(10.0)[:-3], np.arange(10.0)[3:], sequence_length=3)
    >>> X.shape, X[0, :, 0].tolist(), float(y[0])
    ((5, 3, 1), [0.0, 1.0, 2.0], 3.0)
    """
    data = _numeric(data, "data")
    if data.ndim == 1:
        data = data[:, None]  # (N,) -> (N, 1): one feature
    if data.ndim != 2:
        raise ValueError(
            f"data must be (timesteps,) or (timesteps, features); got shape {data.shape}."
        )
    sequence_length = _positive_int("sequence_length", sequence_length)
    sequence_stride = _positive_int("sequence_stride", sequence_stride)
    sampling_rate = _positive_int("sampling_rate", sampling_rate)
    start = 0 if start_index is None else int(start_index)
    end = len(data) if end_index is None else int(end_index)
    if not 0 <= start < end <= len(data):
        raise ValueError(
            f"Need 0 <= start_index < end_index <= len(data) = {len(data)}; got "
            f"start_index={start_index}, end_index={end_index}."
        )
    # The same count as Keras: every window that fits entirely inside [start, end).
    num_seqs = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = _numeric(targets, "targets")
        num_seqs = min(num_seqs, len(targets) - start)
    if num_seqs < 1:
        raise ValueError(
            f"No complete window: {end - start} points (start_index={start}, end_index={end}) "
            f"are fewer than the {(sequence_length - 1) * sampling_rate + 1} one window of "
            f"sequence_length={sequence_length}, sampling_rate={sampling_rate} spans"
            + ("" if targets is None else f", or targets ({len(targets)}) run out") + "."
        )
    positions = np.arange(0, num_seqs, sequence_stride)  # (S,)
    if shuffle:
        np.random.default_rng(seed).shuffle(positions)
    steps = positions[:, None] + np.arange(sequence_length) * sampling_rate  # (S, L)
    X = data[start + steps]  # (S, L, F)
    if targets is None:
        return X
    return X, targets[start + positions]


def _keep_float_dtype(result, x):
    # float32 in, float32 out (as scikit-learn); integers become float64.
    return result.astype(x.dtype, copy=False) if x.dtype.kind == "f" else result


class MinMaxScaler:
    """Scale each column to ``feature_range`` (scikit-learn's MinMaxScaler, default (0, 1)).

    ``x_scaled = (x - min) / (max - min) * (hi - lo) + lo``, with min/max per column,
    learnt by :meth:`fit`. Works on (N,) and (N, F) arrays and returns the same shape.
    """

    def __init__(self, feature_range=(0, 1)):
        lo, hi = feature_range
        if not lo < hi:
            raise ValueError(f"feature_range must be (low, high) with low < high; got "
                             f"{feature_range!r}.")
        self.feature_range = (float(lo), float(hi))
        self.data_min_ = None
        self.data_max_ = None

    def fit(self, x):
        """Learn each column's min and max; NaNs are ignored (scikit-learn's rule: missing
        values are disregarded in fit and kept as NaN by transform)."""
        x = _numeric(x, "MinMaxScaler.fit's x").astype(float)
        if x.ndim not in (1, 2) or x.shape[0] == 0:
            raise ValueError(f"MinMaxScaler.fit expects (samples,) or (samples, features) with at "
                             f"least one sample; got shape {x.shape}.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column: min is NaN
            self.data_min_ = np.nanmin(x, axis=0)
            self.data_max_ = np.nanmax(x, axis=0)
        return self

    def _scale(self):
        if self.data_min_ is None:
            raise RuntimeError("MinMaxScaler is not fitted yet: call fit(x) or fit_transform(x).")
        span = np.where(self.data_max_ > self.data_min_, self.data_max_ - self.data_min_, 1.0)
        lo, hi = self.feature_range
        return (hi - lo) / span, lo

    def _check(self, x, what):
        x = _numeric(x, f"MinMaxScaler.{what}'s x")
        # One fitted column scales any shape; several must line up with the last axis.
        if np.size(self.data_min_) != 1 and x.shape[1:] != np.shape(self.data_min_):
            raise ValueError(f"MinMaxScaler was fitted on samples of shape "
                             f"{np.shape(self.data_min_)} but {what} got shape {x.shape}: give "
                             "the same columns (features) it was fitted on.")
        return x

    def transform(self, x):
        scale, lo = self._scale()
        x = self._check(x, "transform")
        return _keep_float_dtype((x - self.data_min_) * scale + lo, x)

    def fit_transform(self, x):
        return self.fit(x).transform(x)

    def inverse_transform(self, x):
        scale, lo = self._scale()
        x = self._check(x, "inverse_transform")
        return _keep_float_dtype((x - lo) / scale + self.data_min_, x)


def train_test_split(series, train_fraction: float = 0.67):
    """Split a series in time (no shuffling): the first ``int(len * train_fraction)`` points
    train, the rest test, as in the tutorial (144 points -> 96 + 48)."""
    series = np.asarray(series)
    if isinstance(train_fraction, bool) or not isinstance(train_fraction, (int, float, np.number)) \
            or not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1); got {train_fraction!r}.")
    n = int(len(series) * train_fraction)
    return series[:n], series[n:]


__all__ = ["create_dataset", "sliding_windows", "MinMaxScaler", "train_test_split"]
