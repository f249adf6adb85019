"""Import aliasing for ``lstm-np crosscheck``: run a user's unmodified Keras program on lstm_np.

A meta path finder answers imports of ``keras``, ``keras.*``, ``tensorflow.keras.*`` (and a
bare ``tensorflow`` whose only use is ``tf.keras``) with lstm_np's modules of the same name,
so ``from keras.layers import LSTM`` gives ``lstm_np.layers.LSTM`` without a change to the
user's file. The same finder maps ``tensorflow.keras`` to the real ``keras`` on the Keras side.

Only the child processes that run the program install it (``child.py``); nothing in lstm_np
itself imports through it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

#: Keras module names whose lstm_np counterpart has another name.
RENAMES = {
    "keras.ops": "lstm_np.backend",
    "keras.api": "lstm_np",
    "keras.saving": "lstm_np.models",
}


class _ExistingModule(importlib.abc.Loader):
    """Hands out a module that is already imported under another name."""

    def __init__(self, module: types.ModuleType):
        self.module = module

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        pass


class AliasFinder(importlib.abc.MetaPathFinder):
    """``find_spec`` for every name under one of ``prefixes``: import ``target`` instead.

    ``prefixes`` maps an alias prefix (``"keras"``) to the real package (``"lstm_np"``).
    A module the target lacks raises ``ModuleNotFoundError`` naming both, so a program that
    imports a Keras module lstm_np does not have fails at that line with a clear message.
    """

    def __init__(self, prefixes: dict[str, str], renames: dict[str, str] | None = None):
        self.prefixes = dict(prefixes)
        self.renames = dict(renames or {})

    def target_of(self, fullname: str) -> str | None:
        if fullname in self.renames:
            return self.renames[fullname]
        for alias in sorted(self.prefixes, key=len, reverse=True):
            if fullname == alias or fullname.startswith(alias + "."):
                return self.prefixes[alias] + fullname[len(alias):]
        return None

    def find_spec(self, fullname, path=None, target=None):
        real = self.target_of(fullname)
        if real is None or real == fullname:
            return None
        try:
            module = importlib.import_module(real)
        except ModuleNotFoundError as exc:
            if exc.name and real.startswith(exc.name):
                raise ModuleNotFoundError(
                    f"{fullname!r} is imported by the program; its counterpart {real!r} does "
                    f"not exist.", name=fullname) from None
            raise
        return importlib.machinery.ModuleSpec(fullname, _ExistingModule(module))


def tensorflow_shim(keras_module: types.ModuleType) -> types.ModuleType:
    """A stand-in ``tensorflow`` module whose ``keras`` attribute is ``keras_module``."""
    tf = types.ModuleType("tensorflow", "Stand-in for tensorflow: only tf.keras is provided.")
    tf.keras = keras_module
    tf.__path__ = []  # a package, so that ``tensorflow.keras.*`` imports reach the finder
    tf.random = types.SimpleNamespace(set_seed=lambda seed: None)
    return tf


def install(side: str) -> AliasFinder:
    """Install the aliases for one side: ``"lstm_np"`` or ``"keras"``."""
    if side == "lstm_np":
        finder = AliasFinder({"keras": "lstm_np", "tensorflow.keras": "lstm_np"}, RENAMES)
        for name in [n for n in sys.modules if n == "keras" or n.startswith("keras.")]:
            del sys.modules[name]  # a real Keras imported earlier must not answer
        target = importlib.import_module("lstm_np")
    elif side == "keras":
        finder = AliasFinder({"tensorflow.keras": "keras"})
        target = importlib.import_module("keras")
    else:
        raise ValueError(f"side must be 'lstm_np' or 'keras'; got {side!r}.")
    sys.meta_path.insert(0, finder)
    if "tensorflow" not in sys.modules and importlib.util.find_spec("tensorflow") is None:
        sys.modules["tensorflow"] = tensorflow_shim(target)
    return finder
