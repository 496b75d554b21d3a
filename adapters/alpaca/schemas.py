"""Reading Alpaca's JSON: every field through these, so a missing field or a bad number
becomes MalformedResponse naming the venue, the call and the field (never a KeyError)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

from adapters.alpaca.errors import VENUE, MalformedResponse


class Payload:
    """One JSON object of an answer to `call`."""

    def __init__(self, raw: object, *, call: str, what: str = "body") -> None:
        if not isinstance(raw, Mapping):
            raise MalformedResponse(f"{VENUE} {call}: expected an object for {what}, got {type(raw).__name__}")
        self.raw = raw
        self.call = call
        self.what = what

    def _bad(self, name: str, why: str) -> MalformedResponse:
        return MalformedResponse(f"{VENUE} {self.call}: field {name!r} of the {self.what} {why}")

    def has(self, name: str) -> bool:
        return self.raw.get(name) is not None

    def str(self, name: str) -> str:
        value = self.raw.get(name)
        if not isinstance(value, str) or not value:
            raise self._bad(name, f"is missing or not a string ({value!r})")
        return value

    def optional_str(self, name: str) -> str | None:
        value = self.raw.get(name)
        return value if isinstance(value, str) and value else None

    def bool(self, name: str, *, default: bool | None = None) -> bool:
        value = self.raw.get(name, default)
        if not isinstance(value, bool):
            raise self._bad(name, f"is missing or not a boolean ({value!r})")
        return value

    def decimal(self, name: str) -> Decimal:
        value = self.raw.get(name)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self._bad(name, f"is missing or not a number ({value!r})")
        try:
            result = Decimal(str(value))  # str(float) is its shortest repr: 100.07 stays 100.07
        except InvalidOperation:
            raise self._bad(name, f"is not a number ({value!r})") from None
        if not result.is_finite():
            raise self._bad(name, f"is not finite ({value!r})")
        return result

    def optional_decimal(self, name: str) -> Decimal | None:
        return None if self.raw.get(name) is None else self.decimal(name)

    def datetime(self, name: str) -> datetime:
        value = self.raw.get(name)
        if not isinstance(value, str):
            raise self._bad(name, f"is missing or not a timestamp ({value!r})")
        try:
            parsed = parse_timestamp(value)
        except ValueError:
            raise self._bad(name, f"is not a timestamp ({value!r})") from None
        return parsed

    def optional_datetime(self, name: str) -> datetime | None:
        return None if self.raw.get(name) is None else self.datetime(name)

    def date(self, name: str) -> date:
        value = self.raw.get(name)
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise self._bad(name, f"is not a date ({value!r})") from None

    def nested(self, name: str) -> Payload:
        return Payload(self.raw.get(name), call=self.call, what=f"{self.what}.{name}")


def parse_timestamp(value: str) -> datetime:
    """Alpaca's RFC 3339 timestamps (nanoseconds, 'Z'), as aware UTC datetimes."""
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in text:  # Python takes at most microseconds: cut nanoseconds
        head, _, rest = text.partition(".")
        digits = "".join(itertools.takewhile(str.isdigit, rest))
        zone = rest[len(digits):]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a zone: {value}")
    return parsed.astimezone(timezone.utc)


def payload_list(raw: object, *, call: str, what: str) -> list[Payload]:
    if not isinstance(raw, list):
        raise MalformedResponse(f"{VENUE} {call}: expected a list of {what}, got {type(raw).__name__}")
    return [Payload(item, call=call, what=what) for item in raw]


def normalized(quantity: Decimal) -> str:
    """One spelling per quantity: "10", "10.0" and "1E+1" all give "10"."""
    text = format(quantity.normalize(), "f")
    return text


def fill_id_for(venue_order_id: str, cumulative_quantity: Decimal) -> str:
    """The same id whether the fill is learnt from the stream or from the REST backfill."""
    return f"{venue_order_id}:{normalized(cumulative_quantity)}"
