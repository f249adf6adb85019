"""The teaching tools around the library, each one file:

* ``cli.py``: the ``lstm-np`` command (``demo``, ``explain``, ``inspect``, ``verify``);
* ``demo.py``: the classic airline-passengers walk-through (``lstm-np demo``);
* ``explain.py``: shapes, parameter counts and outputs of one layer (``lstm-np explain``);
* ``trace.py``: every gate at every step of a layer call (``lstm_np.trace(layer, x)``);
* ``plot.py``: the forecast and a trace as figures (matplotlib, optional);
* ``keras_check.py``: ``lstm-np inspect`` / ``verify`` of a Keras model file.

They sit on top of everything else: nothing in the library imports them.
"""
