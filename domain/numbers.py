"""Decimal helpers: money, prices and quantities are never floats."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation

ZERO = Decimal(0)
ONE = Decimal(1)


def to_decimal(value: object, *, what: str) -> Decimal:
    """Convert a str/int/Decimal to a finite Decimal, naming `what` on failure.

    Floats are accepted only through their shortest repr, so 0.1 stays 0.1.
    """
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a number, got a boolean")
    try:
        if isinstance(value, float):
            result = Decimal(repr(value))
        elif isinstance(value, (Decimal, int, str)):
            result = Decimal(value)
        else:
            raise ValueError(f"{what}: expected a number, got {type(value).__name__}")
    except InvalidOperation as exc:
        raise ValueError(f"{what}: {value!r} is not a number") from exc
    if not result.is_finite():
        raise ValueError(f"{what}: {value!r} is not finite")
    return result


def round_to_increment(value: Decimal, increment: Decimal, *, down: bool = False) -> Decimal:
    """Round to a multiple of `increment` (a tick or a lot)."""
    if increment <= 0:
        raise ValueError("increment must be positive")
    steps = (value / increment).quantize(ONE, rounding=ROUND_DOWN if down else ROUND_HALF_EVEN)
    return (steps * increment).quantize(increment)


def require_positive(value: Decimal, *, what: str) -> Decimal:
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{what} must be a finite positive number, got {value}")
    return value
