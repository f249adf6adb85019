"""``from_torch``: a ``torch.nn.LSTM`` / ``GRU`` / ``RNN`` as lstm_np layers with the same numbers.

PyTorch and Keras compute the same recurrences but store the weights differently:

* PyTorch keeps ``weight_ih_l{k} (G*u, F)`` and ``weight_hh_l{k} (G*u, u)`` (gates stacked
  along the *first* axis, matrices applied as ``W @ x``) and two biases ``b_ih``, ``b_hh``;
  Keras keeps ``kernel (F, G*u)``, ``recurrent_kernel (u, G*u)`` (applied as ``x @ W``).
  So ``kernel = weight_ih.T`` and ``recurrent_kernel = weight_hh.T``.
* LSTM gates: torch ``i, f, g, o`` is Keras ``i, f, c, o`` (same order, ``g`` is Keras' ``c``);
  the two biases are only ever added, so ``bias = b_ih + b_hh``.
* GRU gates: torch ``r, z, n`` becomes Keras ``z, r, h``. Torch applies the reset gate *after*
  the recurrent matmul, ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, which is Keras'
  ``reset_after=True``; its bias ``(2, 3u)`` keeps the two biases apart: row 0 is ``b_ih``,
  row 1 is ``b_hh`` (both reordered).
* RNN: ``h' = act(x W + b_ih + h U + b_hh)`` is Keras' SimpleRNN with ``bias = b_ih + b_hh``,
  ``act`` = ``nonlinearity`` (tanh or relu).

What comes back
---------------
* ``num_layers == 1``: one lstm_np layer with ``return_sequences=True`` (torch returns the
  whole output sequence), wrapped in ``Bidirectional(..., merge_mode="concat")`` when
  ``bidirectional=True`` (torch concatenates forward then backward features, as Keras'
  ``concat``);
* ``num_layers > 1``: a :class:`lstm_np.Sequential` of such layers.

The result is **always batch-first** ``(batch, timesteps, features)``, as every Keras layer, even
when the torch module has ``batch_first=False`` (then torch takes ``(T, B, F)``: transpose your
input with ``x.transpose(1, 0, 2)`` before calling the lstm_np model).

What cannot map (refused with a ValueError): ``proj_size > 0`` (an LSTM with projections feeds
``h = W_hr (o * tanh(c))`` back, a state of another size that no Keras layer has). Torch's
``dropout`` between stacked layers acts in training only and is not carried (a warning says so);
the lstm_np model computes torch's ``eval()`` outputs.

PyTorch docs: https://pytorch.org/docs/stable/generated/torch.nn.LSTM.html
"""

from __future__ import annotations

import warnings

import numpy as np

from ..layers import GRU, LSTM, Bidirectional, SimpleRNN
from ..models import Input, Sequential

__all__ = ["from_torch"]


def _reorder_gru(a: np.ndarray, u: int) -> np.ndarray:
    """Torch GRU blocks r, z, n along axis 0 -> Keras z, r, h."""
    r, z, n = a[:u], a[u:2 * u], a[2 * u:]  # each (u, ...)
    return np.concatenate([z, r, n], axis=0)


def _numpy(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def _layer_weights(module, kind: str, layer: int, suffix: str, u: int) -> list[np.ndarray]:
    """Keras-ordered weights of one direction of one torch layer."""
    p = f"_l{layer}{suffix}"
    w_ih = _numpy(getattr(module, "weight_ih" + p))  # (G*u, F)
    w_hh = _numpy(getattr(module, "weight_hh" + p))  # (G*u, u)
    b_ih = _numpy(getattr(module, "bias_ih" + p)) if module.bias else None  # (G*u,)
    b_hh = _numpy(getattr(module, "bias_hh" + p)) if module.bias else None  # (G*u,)
    if kind == "GRU":
        w_ih, w_hh = _reorder_gru(w_ih, u), _reorder_gru(w_hh, u)
        if b_ih is not None:
            b_ih, b_hh = _reorder_gru(b_ih, u), _reorder_gru(b_hh, u)
    weights = [np.ascontiguousarray(w_ih.T), np.ascontiguousarray(w_hh.T)]  # (F, G*u), (u, G*u)
    if b_ih is not None:
        if kind == "GRU":
            weights.append(np.stack([b_ih, b_hh]))  # (2, 3u): input row, recurrent row
        else:
            weights.append(b_ih + b_hh)  # (G*u,)
    return weights


def _make_layer(kind: str, module, dtype: str, engine):
    common = dict(return_sequences=True, use_bias=bool(module.bias), dtype=dtype, engine=engine)
    if kind == "LSTM":
        return LSTM(module.hidden_size, unit_forget_bias=False, **common)
    if kind == "GRU":
        return GRU(module.hidden_size, reset_after=True, **common)
    return SimpleRNN(module.hidden_size, activation=module.nonlinearity, **common)


def _check_module(module) -> str:
    try:
        import torch.nn as nn
    except ImportError:  # pragma: no cover - a torch module cannot exist without torch
        raise ImportError("from_torch needs PyTorch (pip install torch).") from None
    kinds = {nn.LSTM: "LSTM", nn.GRU: "GRU", nn.RNN: "RNN"}
    kind = next((k for cls, k in kinds.items() if isinstance(module, cls)), None)
    if kind is None:
        raise TypeError(
            "from_torch converts torch.nn.LSTM, torch.nn.GRU and torch.nn.RNN modules; got "
            f"{type(module).__module__}.{type(module).__name__}. For a model that contains "
            "recurrent modules, convert each module and assemble an lstm_np.Sequential."
        )
    if getattr(module, "proj_size", 0):
        raise ValueError(
            f"This torch.nn.LSTM has proj_size={module.proj_size}: its hidden state is projected "
            f"to {module.proj_size} features (h = W_hr (o * tanh(c))) before it is fed back, so "
            f"h and c have different sizes. Keras' LSTM (and so lstm_np) has no projection; "
            "there is no equivalent layer. Use proj_size=0."
        )
    if kind == "RNN" and module.nonlinearity not in ("tanh", "relu"):  # pragma: no cover
        raise ValueError(f"Unknown torch RNN nonlinearity {module.nonlinearity!r}.")
    return kind


def from_torch(module, dtype: str | None = None, engine: str | None = None):
    """Convert a torch.nn.LSTM, GRU or RNN into lstm_np layers that compute the same outputs.

    Parameters
    ----------
    module : torch.nn.LSTM | torch.nn.GRU | torch.nn.RNN
        Any ``num_layers``, ``bidirectional``, ``bias``, ``batch_first`` and, for RNN,
        ``nonlinearity`` ("tanh" or "relu"). Not ``proj_size > 0`` (see the module docstring).
    dtype : "float32" | "float64", optional
        The lstm_np dtype; by default the module's parameter dtype.
    engine : "numba" | "numpy", optional
        The recurrent layers' engine (default "numba", the compiled one).

    Returns
    -------
    A layer (``num_layers == 1``) or a :class:`lstm_np.Sequential`. Input
    ``(batch, timesteps, input_size)``, **batch-first whatever torch's** ``batch_first``;
    output ``(batch, timesteps, hidden_size * (2 if bidirectional else 1))``, equal to torch's
    output sequence (the first element torch returns, in ``eval()`` mode).

    >>> import torch, numpy as np, lstm_np
    >>> lstm = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True)
    >>> model = lstm_np.from_torch(lstm)
    >>> x = np.random.rand(2, 7, 3).astype("float32")
    >>> y_torch = lstm(torch.from_numpy(x))[0].detach().numpy()
    >>> bool(np.allclose(model(x), y_torch, atol=1e-5))
    True
    """
    kind = _check_module(module)
    if dtype is None:
        dtype = str(next(module.parameters()).dtype).replace("torch.", "")
    if dtype not in ("float32", "float64"):
        raise TypeError(f"from_torch converts float32 or float64 modules (or pass dtype=); the "
                        f"module's parameters are {dtype}. Call module.float() first.")
    if module.num_layers > 1 and module.dropout > 0:
        warnings.warn(
            f"The torch module has dropout={module.dropout} between layers; it acts only in "
            "training and is not carried over: the lstm_np model computes the module's eval() "
            "outputs.", stacklevel=2)
    u = module.hidden_size
    layers = []
    for k in range(module.num_layers):
        F = module.input_size if k == 0 else u * (2 if module.bidirectional else 1)
        if not module.bidirectional:
            layer = _make_layer(kind, module, dtype, engine)
            layer.build((None, None, F))
            layer.set_weights(_layer_weights(module, kind, k, "", u))
            layers.append(layer)
            continue
        # Keras' Bidirectional makes its backward copy itself (go_backwards=True, flipped back
        # before the concat); its weights are the forward layer's then the backward layer's.
        wrapper = Bidirectional(_make_layer(kind, module, dtype, engine), merge_mode="concat")
        wrapper.build((None, None, F))
        wrapper.set_weights(_layer_weights(module, kind, k, "", u)
                            + _layer_weights(module, kind, k, "_reverse", u))
        layers.append(wrapper)
    if len(layers) == 1:
        return layers[0]
    # Any number of timesteps, as torch accepts (the batch-first input of every lstm_np model).
    return Sequential([Input(batch_shape=(None, None, module.input_size), dtype=dtype), *layers])
