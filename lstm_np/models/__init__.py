"""Models: Sequential, the functional Model and Input, training, saving.

The Keras programs run with their imports swapped::

    from lstm_np import Sequential
    from lstm_np.layers import LSTM, Dense

    model = Sequential()
    model.add(LSTM(4, batch_input_shape=(1, look_back, 1), stateful=True))
    model.add(Dense(1))
    model.compile(loss="mean_squared_error", optimizer="adam")
    for i in range(100):
        model.fit(trainX, trainY, nb_epoch=1, batch_size=1, verbose=2, shuffle=False)
        model.reset_states()

Files: ``functional.py`` (Model: the graph run forward and backward, a model is a layer),
``graph.py`` (Keras' layer order, the graph as config), ``sequential.py``, ``training.py``
(compile/fit/evaluate/predict), ``data.py`` (input checks), ``callbacks.py``,
``file_formats.py`` (the table of file formats that save/load look files up in, filled by
:mod:`lstm_np.saving`; to_json), ``summary.py``. Symbolic tensors and ``Input`` live in
:mod:`lstm_np.layers.symbolic`.

Where lstm_np differs from Keras 3, on purpose:

* ``model.reset_states()`` exists (Keras 2 API; Keras 3 only has ``layer.reset_state()``);
* a stateful model's ``predict``/``evaluate`` default to its fixed batch size (Keras: 32);
* targets that only fit the output by broadcasting are an error, not silent broadcasting;
* ``Adam(decay=...)`` keeps Keras 2's time-based decay (Keras 3 ignores it with a warning);
* files are lstm_np's own ``.npz`` format (architecture, weights, optimizer, states).
"""

from ..layers.symbolic import Input, SymbolicTensor
from .callbacks import Callback, EarlyStopping, History, LambdaCallback
from .file_formats import load_model, model_from_json
from .functional import Model
from .sequential import Sequential

__all__ = ["Callback", "EarlyStopping", "History", "Input", "LambdaCallback", "Model",
           "Sequential", "SymbolicTensor", "load_model", "model_from_json"]
