"""How figures read for people: the one formatting module of the CLI tables, the HTML report and
the dashboard.

Money to the cent, prices to the instrument's precision, quantities without trailing zeros and
never in exponent form (a Decimal such as 0E-8 or 455.44000000 is exact but unreadable), ratios as
percentages with two decimals. JSON output does not come here: it keeps the exact strings.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

_MAX_PRICE_PLACES = 8  # the finest tick of any venue we trade (crypto quotes in 1e-8)

Number = Decimal | float | int


def money(value: Number | None, *, missing: str = "") -> str:
    """1,234.56: to the cent, with thousands separators."""
    if value is None:
        return missing
    return _zero_sign(f"{_quantize(_decimal(value), 2):,f}")


def signed_money(value: Number | None, *, missing: str = "") -> str:
    """+1,234.56 / -1,234.56: a change, whose sign is the news."""
    if value is None:
        return missing
    text = money(value)
    return text if text.startswith("-") else f"+{text}"


def price(value: Number | None, *, tick: Decimal | None = None, missing: str = "") -> str:
    """A price at the instrument's precision: its tick when known, else the cents plus whatever
    finer digits the figure really has (0.00012345 stays, 455.44000000 reads 455.44)."""
    if value is None:
        return missing
    number = _decimal(value)
    if tick is not None and tick > 0:
        places = max(-tick.normalize().as_tuple().exponent, 0)
    else:
        places = min(max(_places(number), 2), _MAX_PRICE_PLACES)
    return _zero_sign(f"{_quantize(number, places):,f}")


def quantity(value: Number | None, *, missing: str = "") -> str:
    """A quantity as exact as it is, without trailing zeros or an exponent: 284, 0.42072377, 0."""
    if value is None:
        return missing
    number = _decimal(value)
    return "0" if number == 0 else _zero_sign(_strip_zeros(f"{number:,f}"))


def plain(value: Number | None, *, missing: str = "") -> str:
    """A figure of unknown kind (a setting, a parameter): exact, no exponent, no trailing zeros."""
    if value is None:
        return missing
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else "n/a")
    number = _decimal(value)
    return "0" if number == 0 else _zero_sign(_strip_zeros(f"{number:f}"))


def percent(value: Number | None, *, places: int = 2, missing: str = "n/a") -> str:
    """A ratio (0.1234) as a percentage: 12.34%."""
    return _float_text(value, missing=missing, spec=f".{places}%")


def ratio(value: Number | None, *, missing: str = "n/a") -> str:
    """A ratio that reads as a number (Sharpe, profit factor): 1.23, with inf for a profit
    factor without losses."""
    return _float_text(value, missing=missing, spec=",.2f")


def setting(value: object, *, none: str = "unlimited") -> str:
    """A setting as a person reads it: None is the absence of a limit, not Python's None."""
    if value is None:
        return none
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (Decimal, float, int)):
        return plain(value)
    return str(value)


def _float_text(value: Number | None, *, missing: str, spec: str) -> str:
    if value is None:
        return missing
    number = float(value)
    if not math.isfinite(number):
        return "inf" if number > 0 else ("-inf" if number < 0 else missing)
    return _zero_sign(format(number, spec))


def _decimal(value: Number) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))  # the shortest repr: 0.1 stays 0.1
    return Decimal(value)


def _quantize(number: Decimal, places: int) -> Decimal:
    if not number.is_finite():
        return number
    # Precision enough for any figure's integer digits: the default 28 would refuse to round 1e30.
    with localcontext() as context:
        context.prec = max(28, number.adjusted() + places + 2)
        return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def _strip_zeros(text: str) -> str:
    """Trailing zeros of the fraction off, exactly (normalize() would round to 28 digits)."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def _places(number: Decimal) -> int:
    exponent = number.normalize().as_tuple().exponent
    return max(-exponent, 0) if isinstance(exponent, int) else 0


def _zero_sign(text: str) -> str:
    """-0.00 is zero to a reader."""
    return text[1:] if text.startswith("-") and not text.strip("-0.,%") else text
