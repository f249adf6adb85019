"""The classic stateful-LSTM tutorial program ("Understanding Keras LSTMs" / the airline
passengers example), run with only its import lines changed to lstm_np.

The program body below is the Keras 2 original, untouched: ``batch_input_shape``,
``stateful=True``, ``nb_epoch=1``, ``shuffle=False``, ``model.reset_states()`` between
epochs, ``predict(..., batch_size=1)``. The data file is a copy of the classic CSV.
"""

import csv
import io
import time
from contextlib import redirect_stdout
from pathlib import Path

import numpy
import pytest

# --- the only lines changed from the Keras program: the imports ---------------------
from lstm_np import Sequential
from lstm_np.layers import LSTM, Dense

DATA = Path(__file__).parent / "data" / "airline-passengers.csv"


def load_series():
    with open(DATA) as f:
        rows = list(csv.reader(f))[1:]
    return numpy.array([[float(r[1])] for r in rows], dtype="float32")  # (144, 1)


# convert an array of values into a dataset matrix (verbatim from the tutorial)
def create_dataset(dataset, look_back=1):
    dataX, dataY = [], []
    for i in range(len(dataset) - look_back - 1):
        a = dataset[i:(i + look_back), 0]
        dataX.append(a)
        dataY.append(dataset[i + look_back, 0])
    return numpy.array(dataX), numpy.array(dataY)


def tutorial_program():
    numpy.random.seed(7)
    dataset = load_series()
    dataset = (dataset - dataset.min()) / (dataset.max() - dataset.min())  # MinMaxScaler
    train_size = int(len(dataset) * 0.67)
    train, test = dataset[0:train_size, :], dataset[train_size:len(dataset), :]
    look_back = 3
    trainX, trainY = create_dataset(train, look_back)
    testX, testY = create_dataset(test, look_back)
    trainX = numpy.reshape(trainX, (trainX.shape[0], trainX.shape[1], 1))
    testX = numpy.reshape(testX, (testX.shape[0], testX.shape[1], 1))
    batch_size = 1
    model = Sequential()
    model.add(LSTM(4, batch_input_shape=(batch_size, look_back, 1), stateful=True))
    model.add(Dense(1))
    model.compile(loss='mean_squared_error', optimizer='adam')
    start = time.perf_counter()
    for _i in range(100):
        model.fit(trainX, trainY, nb_epoch=1, batch_size=batch_size, verbose=2, shuffle=False)
        model.reset_states()
    fit_seconds = time.process_time() - start
    trainPredict = model.predict(trainX, batch_size=batch_size)
    model.reset_states()
    testPredict = model.predict(testX, batch_size=batch_size)
    return model, trainX, trainY, trainPredict, testPredict, testY, fit_seconds


@pytest.mark.slow
def test_tutorial_runs_unchanged_trains_and_is_fast():
    out = io.StringIO()
    with redirect_stdout(out):
        model, trainX, trainY, trainPredict, testPredict, testY, seconds = tutorial_program()
    lines = out.getvalue().splitlines()
    # verbose=2: "Epoch 1/1" then "92/92 - 0s - 1ms/step - loss: ..." once per fit call
    assert lines.count("Epoch 1/1") == 100
    losses = [float(line.rsplit("loss: ", 1)[1]) for line in lines if "loss: " in line]
    assert len(losses) == 100
    assert losses[-1] < 0.005 and losses[-1] < losses[0]  # it learns (tutorial: ~0.002)
    assert trainPredict.shape == (len(trainX), 1) and testPredict.shape == (len(testY), 1)
    rmse = float(numpy.sqrt(numpy.mean((trainPredict[:, 0] - trainY) ** 2)))
    assert rmse < 0.1  # on the 0..1 scale: the tutorial's fit is about 0.04
    # Budget: "well under 10 s" for the 100 epochs (about 1 s of CPU on a 2-core VM).
    assert seconds < 5, f"100 stateful epochs took {seconds:.1f} s of CPU time"
