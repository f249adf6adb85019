"""``lstm-np demo``: the classic stateful LSTM on the airline passengers, explained then trained.

This is the model of the classic tutorial (Brownlee, "Time Series Prediction with LSTM
Recurrent Neural Networks in Python with Keras", the "LSTM with memory between batches"
variant), step for step::

    dataset = MinMaxScaler((0, 1)).fit_transform(passengers)   # fitted on all 144 months
    train, test = dataset[:96], dataset[96:]                    # int(144 * 0.67) = 96
    trainX, trainY = create_dataset(train, look_back=3)         # (92, 3), (92,)
    trainX = trainX.reshape(92, 3, 1)                           # (samples, time steps, features)
    model = Sequential([LSTM(4, batch_input_shape=(1, 3, 1), stateful=True), Dense(1)])
    model.compile(loss="mean_squared_error", optimizer="adam")
    for i in range(100):
        model.fit(trainX, trainY, epochs=1, batch_size=1, shuffle=False)
        model.reset_states()

:func:`walkthrough` first prints the shapes of the "Understanding Keras LSTMs" question on
this data. :func:`build_model` is the tutorial's ``Sequential`` model and :func:`train`
its loop of one-epoch ``fit`` calls, each followed by ``reset_states()``.
"""

from __future__ import annotations

import os
import time

import numpy as np
from tqdm.auto import tqdm

from .. import datasets
from ..data import MinMaxScaler, create_dataset, train_test_split
from ..layers import LSTM, Dense
from ..models import Sequential

LOOK_BACK = 3
BATCH_SIZE = 1
UNITS = 4


def load(look_back: int = LOOK_BACK, train_fraction: float = 0.67) -> dict:
    """The tutorial's data preparation. Returns a dict of every array, scaled and raw."""
    series, months = datasets.airline_passengers(return_months=True)  # (144,)
    scaler = MinMaxScaler((0, 1))
    dataset = scaler.fit_transform(series.reshape(-1, 1))  # (144, 1), in [0, 1]
    train, test = train_test_split(dataset, train_fraction)  # (96, 1), (48, 1)
    trainX, trainY = create_dataset(train, look_back)  # (92, 3), (92,)
    testX, testY = create_dataset(test, look_back)  # (44, 3), (44,)
    return dict(series=series, months=months, scaler=scaler, dataset=dataset, train=train,
                test=test, look_back=look_back,
                trainX=trainX.reshape(len(trainX), look_back, 1), trainY=trainY,  # (92, 3, 1)
                testX=testX.reshape(len(testX), look_back, 1), testY=testY)  # (44, 3, 1)


def walkthrough(d: dict, echo=print, engine=None) -> None:
    """Print samples / time steps / features, many-to-one vs many-to-many, and what a
    stateful layer carries, for the actual arrays of :func:`load`."""
    X, lb, months = d["trainX"], d["look_back"], d["months"]
    N, T, F = X.shape
    lo, hi = d["scaler"].data_min_[0], d["scaler"].data_max_[0]
    echo("lstm-np demo: the classic stateful LSTM on the airline passengers, shape by shape")
    echo("")
    echo("1. The data")
    echo(f"   airline passengers: {len(d['series'])} monthly totals (thousands), "
         f"{months[0]} to {months[-1]}")
    echo(f"   scaled to [0, 1] with min {lo:g} and max {hi:g} (fitted on the whole series, "
         "as the tutorial does)")
    echo(f"   train = first {len(d['train'])} months, test = last {len(d['test'])} months")
    echo("")
    echo("2. Samples, time steps, features")
    echo(f"   create_dataset(train, look_back={lb}) cuts the series into windows of {lb} months,")
    echo("   each followed by the month to predict; reshaped to (samples, time steps, features):")
    echo(f"   trainX {X.shape}   trainY {d['trainY'].shape}   "
         f"testX {d['testX'].shape}   testY {d['testY'].shape}")
    echo(f"   samples = {N} windows, time steps = {T} months the LSTM steps through, "
         f"features = {F} number per month")
    x0 = ", ".join(f"{v:.3f}" for v in X[0, :, 0])
    echo(f"   sample 0: x = [{x0}] ({months[0]}..{months[T - 1]}) -> y = {d['trainY'][0]:.3f} "
         f"({months[T]})")
    echo(f"   (look_back as features instead would be ({N}, 1, {T}): one step of {T} features)")
    echo("")
    echo("3. Many-to-one vs many-to-many (shapes computed on sample 0)")
    one = LSTM(UNITS, engine=engine, seed=0)(X[:1])
    many = LSTM(UNITS, return_sequences=True, engine=engine, seed=0)(X[:1])
    echo(f"   LSTM({UNITS})                         {X[:1].shape} -> {str(one.shape):<10} "
         "only the last step's h: many-to-one")
    echo(f"   LSTM({UNITS}, return_sequences=True)  {X[:1].shape} -> {str(many.shape):<10} "
         "one h per step: many-to-many")
    echo(f"   this model: LSTM({UNITS}) then Dense(1) -> (1, 1): one prediction per window")
    echo("")
    echo(f"4. Stateful, batch size {BATCH_SIZE}")
    echo(f"   LSTM({UNITS}, stateful=True, batch_input_shape=({BATCH_SIZE}, {T}, {F})): "
         f"{N // BATCH_SIZE} batches per epoch, in order (shuffle=False)")
    echo(f"   the final (h, c) of batch k, ({BATCH_SIZE}, {UNITS}) each, is the initial "
         "state of batch k+1;")
    echo("   the windows overlap (each starts one month later), so the carried state has "
         f"already seen {T - 1} of")
    echo(f"   the {T} months: the tutorial's set-up, kept as is")
    echo("   the states are reset to zeros after every epoch (model.reset_states()); "
         "gradients stop at")
    echo("   each batch (truncated BPTT)")
    echo("")


def build_model(look_back=LOOK_BACK, batch_size=BATCH_SIZE, seed=7, engine=None):
    """``Sequential([LSTM(4, batch_input_shape=(1, look_back, 1), stateful=True), Dense(1)])``
    compiled with MSE and Adam, the tutorial's model."""
    model = Sequential([
        LSTM(UNITS, stateful=True, batch_input_shape=(batch_size, look_back, 1), seed=seed,
             engine=engine),
        Dense(1, seed=None if seed is None else seed + 1),
    ])
    model.compile(loss="mean_squared_error", optimizer="adam")
    return model


def train(model, X, y, epochs=100, progress=True) -> list[float]:
    """The tutorial's loop: one ordered pass over the batches per epoch, then reset_states.

    ``fit(..., epochs=1, shuffle=False)`` keeps the batches in time order, so the stateful
    LSTM starts each batch from the previous batch's final (h, c); the states are reset to
    zeros only between epochs. Returns the mean training loss of each epoch.
    """
    losses = []
    bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress, leave=True)
    for _ in bar:
        history = model.fit(X, y, epochs=1, batch_size=BATCH_SIZE, shuffle=False, verbose=0)
        model.reset_states()
        losses.append(history.history["loss"][-1])
        bar.set_postfix(loss=f"{losses[-1]:.5f}")
    return losses


def rmse(a, b) -> float:
    return float(np.sqrt(np.mean((np.ravel(a) - np.ravel(b)) ** 2)))


def run(out="out", epochs=100, seed=7, engine=None, progress=True, echo=print) -> dict:
    """The whole demo: walk-through, training, RMSE in passengers, forecast PNG in ``out``.

    Returns ``{"train_rmse", "test_rmse", "losses", "png", "seconds"}`` (png is None when
    matplotlib is missing).
    """
    start = time.perf_counter()
    d = load()
    walkthrough(d, echo=echo, engine=engine)
    echo(f"5. Training: {epochs} epochs x {len(d['trainX']) // BATCH_SIZE} batches, "
         "Adam(lr=0.001), mean squared error")
    model = build_model(seed=seed, engine=engine)
    losses = train(model, d["trainX"], d["trainY"], epochs=epochs, progress=progress)

    scaler = d["scaler"]
    train_pred = model.predict(d["trainX"], batch_size=BATCH_SIZE, verbose=0)  # (92, 1)
    model.reset_states()  # the test windows start a new pass, from zero states
    test_pred = model.predict(d["testX"], batch_size=BATCH_SIZE, verbose=0)  # (44, 1)
    train_pred = scaler.inverse_transform(train_pred)  # (92, 1), passengers
    test_pred = scaler.inverse_transform(test_pred)  # (44, 1)
    train_true = scaler.inverse_transform(d["trainY"].reshape(-1, 1))
    test_true = scaler.inverse_transform(d["testY"].reshape(-1, 1))
    scores = dict(train_rmse=rmse(train_true, train_pred), test_rmse=rmse(test_true, test_pred))
    echo(f"   loss (scaled MSE): first epoch {losses[0]:.5f}, last epoch {losses[-1]:.5f}")
    echo("")
    echo("6. Results (predictions scaled back to passengers)")
    echo(f"   Train RMSE: {scores['train_rmse']:.2f} thousand passengers")
    echo(f"   Test RMSE: {scores['test_rmse']:.2f} thousand passengers")

    png = None
    try:
        from .plot import plot_forecast
    except ImportError as exc:
        echo(f"   No plot: {exc}")
    else:
        lb = d["look_back"]
        png = os.path.join(out, "airline_forecast.png")
        plot_forecast(d["series"], train_pred, test_pred, train_start=lb,
                      test_start=len(d["train"]) + lb, split_index=len(d["train"]), path=png,
                      labels=d["months"],
                      ylabel="passengers (thousands)",
                      title=f"Stateful LSTM(4), look_back {lb}, {epochs} epochs: "
                            f"train RMSE {scores['train_rmse']:.1f}, "
                            f"test RMSE {scores['test_rmse']:.1f}")
        echo(f"   Forecast plot written to {png}")
    seconds = time.perf_counter() - start
    echo(f"Done in {seconds:.1f} s.")
    return dict(scores, losses=losses, png=png, seconds=seconds)
