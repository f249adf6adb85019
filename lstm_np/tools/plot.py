"""Plots for the examples: a forecast against the series, and a trace as heatmaps.

matplotlib is an optional extra (``pip install "lstm_np[plot]"``); importing this module
without it raises an ImportError that says so. The functions use matplotlib's
object-oriented API (``matplotlib.figure.Figure``), never pyplot's global state, so
they work headless and in tests; they return the figure and save it when given ``path``.
"""

from __future__ import annotations

import os

import numpy as np

try:
    from matplotlib.figure import Figure
except ImportError as exc:  # pragma: no cover - exercised by a test that hides matplotlib
    raise ImportError(
        "lstm_np.plot needs matplotlib, an optional extra: pip install 'lstm_np[plot]' "
        "(or pip install matplotlib)."
    ) from exc

#: Quantities bounded in [0, 1] (gates) get a fixed colour scale; others are symmetric.
_GATES = {"i", "f", "o", "r", "z"}
_LABELS = {"i": "input gate i", "f": "forget gate f", "c_tilde": "candidate c~",
           "o": "output gate o", "c": "cell state c", "h": "hidden state h",
           "r": "reset gate r", "h_tilde": "candidate h~"}


def _save(fig, path):
    if path is not None:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig


def plot_forecast(series, train_predict, test_predict, train_start: int, test_start: int,
                  path=None, labels=None, title="Forecast", ylabel="value", split_index=None):
    """Draw ``series`` (N,) and two prediction curves placed at their time indices.

    ``train_predict[k]`` is drawn at index ``train_start + k`` and ``test_predict[k]`` at
    ``test_start + k`` (the index of the value each one predicts). ``labels`` are the
    N tick labels (e.g. months). The test period, from ``split_index`` (default
    ``test_start``) to the end, is shaded. Returns the Figure.
    """
    series = np.asarray(series, dtype=float).ravel()  # (N,)
    train_predict = np.asarray(train_predict, dtype=float).ravel()
    test_predict = np.asarray(test_predict, dtype=float).ravel()
    for name, start, pred in (("train", train_start, train_predict),
                              ("test", test_start, test_predict)):
        if start < 0 or start + len(pred) > len(series):
            raise ValueError(
                f"{name} predictions ({len(pred)} values from index {start}) run outside the "
                f"series of {len(series)} points."
            )
    t = np.arange(len(series))
    fig = Figure(figsize=(9, 4.5))
    ax = fig.add_subplot()
    split = test_start if split_index is None else split_index
    ax.axvspan(split - 0.5, len(series) - 0.5, color="0.93", label="test period")
    ax.plot(t, series, color="0.2", lw=1.6, label="data")
    ax.plot(t[train_start:train_start + len(train_predict)], train_predict, color="tab:blue",
            lw=1.4, label="prediction (train)")
    ax.plot(t[test_start:test_start + len(test_predict)], test_predict, color="tab:red",
            lw=1.4, label="prediction (test)")
    if labels is not None:
        step = max(1, len(labels) // 12)
        ax.set_xticks(t[::step], [labels[i] for i in t[::step]], rotation=45, ha="right")
    ax.set_xlim(-0.5, len(series) - 0.5)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="upper left", frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def plot_trace(trace, sample: int = 0, names=None, path=None, title=None):
    """Heatmaps of a :class:`lstm_np.trace.Trace`: one panel per quantity, units down,
    processing steps across, for one ``sample`` of the batch. Gates share the scale
    [0, 1]; cell and hidden states a symmetric one. Returns the Figure."""
    from .trace import Trace

    if not isinstance(trace, Trace):
        raise TypeError(f"plot_trace takes the Trace that lstm_np.trace(layer, x) returns; got "
                        f"{type(trace).__name__}.")
    names = [n for n in (names or trace.names) if n != "z"]  # z is 4H wide: not a heatmap
    B = trace[names[0]].shape[0]
    if not 0 <= sample < B:
        raise ValueError(f"sample must be in [0, {B}) for a trace of batch {B}; got {sample}.")
    fig = Figure(figsize=(2.2 + 1.6 * len(names), 3.2))
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names, strict=True):
        a = np.asarray(trace[name][sample], dtype=float).T  # (H, T)
        if name in _GATES:
            kw = dict(cmap="viridis", vmin=0.0, vmax=1.0)
        else:
            m = float(np.nanmax(np.abs(a))) or 1.0
            kw = dict(cmap="RdBu_r", vmin=-m, vmax=m)
        im = ax.imshow(a, aspect="auto", interpolation="nearest", **kw)
        ax.set_title(_LABELS.get(name, name), fontsize=9)
        ax.set_xlabel("input step")
        every = max(1, -(-a.shape[1] // 8))  # at most ~8 labels: they must stay readable
        ticks = range(0, a.shape[1], every)
        ax.set_xticks(ticks, [str(trace.input_step[k] + 1) for k in ticks], fontsize=7)
        ax.set_yticks(range(a.shape[0]))
        fig.colorbar(im, ax=ax, fraction=0.08, pad=0.04)
    axes[0].set_ylabel("unit")
    fig.suptitle(title or f"{trace.kind} trace, sample {sample}", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


__all__ = ["plot_forecast", "plot_trace"]
