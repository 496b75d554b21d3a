"""The store boundary's converter and column codecs.

Decimals are stored as TEXT with str(d): exact, and the exponent survives ('1.50'
reads back as Decimal('1.50')). Datetimes are TEXT ISO 8601 in UTC with
microseconds: fixed width, so text order is time order and `>=` works in SQL.
Naive datetimes are refused: a wall time without a zone is ambiguous for money.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar

import cattrs

T = TypeVar("T")


def decimal_to_text(value: Decimal) -> str:
    # A float that slipped through would be stored rounded; refuse it loudly instead.
    if not isinstance(value, Decimal):
        raise TypeError(f"expected a Decimal, got {type(value).__name__} {value!r}")
    return str(value)


def text_to_decimal(text: str) -> Decimal:
    return Decimal(text)


def optional_decimal_to_text(value: Decimal | None) -> str | None:
    return None if value is None else decimal_to_text(value)


def text_to_optional_decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def datetime_to_text(value: datetime) -> str:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__} {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} refused: the store needs timezone-aware times")
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


def text_to_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"stored datetime {text!r} has no timezone")
    return value.astimezone(timezone.utc)


def optional_datetime_to_text(value: datetime | None) -> str | None:
    return None if value is None else datetime_to_text(value)


def text_to_optional_datetime(text: str | None) -> datetime | None:
    return None if text is None else text_to_datetime(text)


def make_store_converter() -> cattrs.Converter:
    """The cattrs converter of the store boundary (JSON columns)."""
    converter = cattrs.Converter()
    # Decimal and datetime hooks first: every other structure builds on them.
    converter.register_unstructure_hook(Decimal, decimal_to_text)
    converter.register_structure_hook(Decimal, lambda value, _: Decimal(str(value)))
    converter.register_unstructure_hook(datetime, datetime_to_text)
    converter.register_structure_hook(datetime, lambda value, _: text_to_datetime(value))
    return converter


def to_json(converter: cattrs.Converter, value: object) -> str:
    """JSON text of an attrs value or of a mapping of JSON-able figures.

    Decimals inside become strings (exact). Anything json cannot encode falls back
    to str(): an audit entry must be recorded even when one figure is odd.
    NaN and infinities keep Python's json spelling (NaN, Infinity), so a rejected
    NaN price can still be written down by the data sanity gate.
    """
    if isinstance(value, Mapping):
        value = dict(value)
    return json.dumps(converter.unstructure(value), default=str, separators=(",", ":"))


def from_json(converter: cattrs.Converter, text: str, cls: type[T]) -> T:
    return converter.structure(json.loads(text), cls)


def mapping_from_json(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return value
