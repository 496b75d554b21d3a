"""Argument checks shared by the indicators: every message names the argument and the value it got."""

from __future__ import annotations

import math

import numpy as np


def check_period(value: object, *, name: str, minimum: int = 1) -> int:
    # bool is an int subclass; `period=True` is a bug at the call site, not a period of 1.
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_positive(value: object, *, name: str) -> float:
    number = _finite_number(value, name=name)
    if number <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return number


def check_non_negative(value: object, *, name: str) -> float:
    number = _finite_number(value, name=name)
    if number < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return number


def _finite_number(value: object, *, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def as_series(values: object, *, name: str) -> np.ndarray:
    """A float64 1-D array; views of the caller's data are kept, never written to."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def as_aligned(**series: object) -> tuple[np.ndarray, ...]:
    """Several bar columns at once: each 1-D float64, all of one length (bars line up by index)."""
    arrays = {name: as_series(values, name=name) for name, values in series.items()}
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise ValueError(f"{', '.join(lengths)} must have the same length, got {listed}")
    return tuple(arrays.values())


def check_volume(volume: np.ndarray) -> None:
    if len(volume) and float(volume.min()) < 0:
        raise ValueError(f"volume must be >= 0, got {float(volume.min())!r} at index {int(volume.argmin())}")
