"""Small data sets shipped with lstm_np, for the examples and the demo.

* :func:`airline_passengers`: the 144 monthly totals of international airline
  passengers (thousands), January 1949 to December 1960, from Box & Jenkins (1976),
  "Time Series Analysis: Forecasting and Control", series G: the same numbers as R's
  ``AirPassengers`` and the CSV of the classic Keras LSTM tutorial.
* :func:`text`: short public-domain texts for the character-level example: the
  opening of the US Declaration of Independence (1776, National Archives transcription,
  up to "let Facts be submitted to a candid world.") and Lincoln's Gettysburg Address
  (1863, the Bliss copy).
"""

from __future__ import annotations

import csv
import io
from importlib import resources

import numpy as np

#: Names accepted by :func:`text`, and the file each one reads.
TEXTS = {
    "declaration": "declaration_of_independence.txt",
    "gettysburg": "gettysburg_address.txt",
}


def _read(name: str) -> str:
    return resources.files(__name__).joinpath("data", name).read_text(encoding="utf-8")


def airline_passengers(return_months: bool = False, dtype="float32"):
    """The airline passengers series: 144 monthly totals (thousands), 1949-01 to 1960-12.

    Returns ``values`` of shape (144,), or ``(values, months)`` with ``return_months=True``
    where ``months`` is a list of 144 ``"YYYY-MM"`` strings.

    >>> from lstm_np.datasets import airline_passengers
    >>> y = airline_passengers()
    >>> y.shape, float(y[0]), float(y[-1])
    ((144,), 112.0, 432.0)
    """
    rows = list(csv.reader(io.StringIO(_read("airline-passengers.csv"))))
    header, body = rows[0], [r for r in rows[1:] if r]
    if header != ["Month", "Passengers"]:  # guards against a corrupted install
        raise RuntimeError(f"airline-passengers.csv has an unexpected header {header}.")
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"dtype must be a float dtype ('float32' or 'float64'); got {dtype!r} "
                        "(the series reaches 622, beyond small integer types).")
    months = [r[0] for r in body]
    values = np.array([float(r[1]) for r in body], dtype=dtype)  # (144,)
    return (values, months) if return_months else values


def text(name: str = "declaration") -> str:
    """A short public-domain text (``"declaration"`` or ``"gettysburg"``; ``"all"`` joins both).

    >>> from lstm_np.datasets import text
    >>> text("gettysburg")[:31]
    'Four score and seven years ago '
    """
    if name == "all":
        return "\n".join(_read(f) for f in TEXTS.values())
    if name not in TEXTS:
        raise ValueError(
            f"Unknown text {name!r}. Available: {', '.join(TEXTS)} (or 'all' for both)."
        )
    return _read(TEXTS[name])


__all__ = ["airline_passengers", "text", "TEXTS"]
