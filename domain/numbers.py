"""Decimal helpers: money, prices and quantities are never floats."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext

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
    """Round to a multiple of `increment` (a tick or a lot), exactly, at any magnitude."""
    if not increment.is_finite() or increment <= 0:
        raise ValueError(f"increment must be a finite positive number, got {increment}")
    if not value.is_finite():
        raise ValueError(f"cannot round {value} to a multiple of {increment}")
    with localcontext() as context:
        # The quotient's whole digits come on top of the usual precision: at a fixed 28 digits,
        # 1e30 / 0.00000001 has no room left and quantize raises InvalidOperation (a capital of
        # 1e300 did that mid-session, and the bot never beat again).
        whole_digits = max(0, value.adjusted() - increment.adjusted() + 1)
        context.prec += whole_digits + len(value.as_tuple().digits) + len(increment.as_tuple().digits)
        steps = (value / increment).quantize(ONE, rounding=ROUND_DOWN if down else ROUND_HALF_EVEN)
        return (steps * increment).quantize(increment)


def require_positive(value: Decimal, *, what: str) -> Decimal:
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{what} must be a finite positive number, got {value}")
    return value
