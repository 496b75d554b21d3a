"""The Postgres store boundary's converter and column codecs.

Columns are typed: money, prices and quantities are `numeric` (psycopg hands Decimals
both ways, exact, scale kept: '1.50' reads back as Decimal('1.50')); times are
`timestamptz`, read back as UTC; JSON is `jsonb`. These helpers check the Python side
so that a float in a money field or a naive datetime is refused loudly, as the SQLite
adapter refuses them, instead of being rounded or read in the server's time zone.

Copied from (not imported from) adapters/sqlite/converter.py: adapters never import
each other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar

import cattrs
from psycopg.types.json import Jsonb

T = TypeVar("T")


def checked_decimal(value: Decimal) -> Decimal:
    # A float that slipped through would be stored rounded; refuse it loudly instead.
    if not isinstance(value, Decimal):
        raise TypeError(f"expected a Decimal, got {type(value).__name__} {value!r}")
    return value


def optional_decimal(value: Decimal | None) -> Decimal | None:
    return None if value is None else checked_decimal(value)


def checked_datetime(value: datetime) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__} {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} refused: the store needs timezone-aware times")
    return value.astimezone(timezone.utc)


def optional_datetime(value: datetime | None) -> datetime | None:
    return None if value is None else checked_datetime(value)


def utc(value: datetime) -> datetime:
    """A timestamptz as read: the same instant, in UTC whatever the session's TimeZone."""
    if value.tzinfo is None:
        raise ValueError(f"stored datetime {value!r} has no timezone")
    return value.astimezone(timezone.utc)


def optional_utc(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def datetime_to_text(value: datetime) -> str:
    return checked_datetime(value).isoformat(timespec="microseconds")


def text_to_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"stored datetime {text!r} has no timezone")
    return value.astimezone(timezone.utc)


def make_store_converter() -> cattrs.Converter:
    """The cattrs converter of the store boundary (jsonb columns)."""
    converter = cattrs.Converter()
    # Decimal and datetime hooks first: every other structure builds on them. Inside JSON a
    # Decimal is a string (exact) and a datetime is ISO 8601 UTC text, as on SQLite.
    converter.register_unstructure_hook(Decimal, lambda value: str(checked_decimal(value)))
    converter.register_structure_hook(Decimal, lambda value, _: Decimal(str(value)))
    converter.register_unstructure_hook(datetime, datetime_to_text)
    converter.register_structure_hook(datetime, lambda value, _: text_to_datetime(value))
    return converter


def to_jsonb(converter: cattrs.Converter, value: object) -> Jsonb:
    """A jsonb parameter of an attrs value or of a mapping of JSON-able figures.

    Anything json cannot encode falls back to str(): an audit entry must be recorded even
    when one figure is odd. jsonb has no NaN or infinities, so those floats are stored as
    the strings "NaN", "Infinity" and "-Infinity" (SQLite keeps them as floats): a
    rejected NaN price is still written down, never refused.
    """
    if isinstance(value, Mapping):
        value = dict(value)
    text = json.dumps(converter.unstructure(value), default=str, separators=(",", ":"))
    return Jsonb(json.loads(text, parse_constant=str))


def from_jsonb(converter: cattrs.Converter, value: object, cls: type[T]) -> T:
    return converter.structure(value, cls)


def mapping_from_jsonb(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return value
