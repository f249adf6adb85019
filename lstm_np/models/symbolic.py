"""Symbolic tensors for the functional API: ``Input(...)`` and layers called on them.

A layer called on a :class:`SymbolicTensor` records a node instead of computing, and
``Model(inputs, outputs)`` replays the recorded graph on arrays.
"""

from __future__ import annotations


class SymbolicTensor:
    """A placeholder with a shape (batch dimension first, ``None`` where unknown)."""

    def __init__(self, shape, dtype="float32", layer=None, inputs=(), call_kwargs=None, name=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.layer = layer
        self.inputs = tuple(inputs)
        self.call_kwargs = dict(call_kwargs or {})
        self.name = name

    def __repr__(self):
        return f"<SymbolicTensor shape={self.shape} from={getattr(self.layer, 'name', 'Input')}>"


def is_symbolic(x) -> bool:
    if isinstance(x, SymbolicTensor):
        return True
    return isinstance(x, (list, tuple)) and any(isinstance(v, SymbolicTensor) for v in x)


def call_layer(layer, x, *args, **kwargs):
    raise NotImplementedError("the functional API arrives with lstm_np.models")
