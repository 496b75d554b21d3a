"""A bot's fingerprint: everything that decides how it trades, hashed.

The validation clock and the go-live certificate are bound to it: a paper record earned by one
configuration says nothing about another, so any change (a parameter, a symbol, a stop, a risk
limit, the strategy's code, QuantShift's version) starts a new validation epoch and needs a new
certificate before real money.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import attrs


def _canonical(value: object) -> object:
    """JSON-ready and order-independent: Decimals and other scalars as their text, so 0.10 and
    0.1 are one value and a float's repr never makes two fingerprints of one setting."""
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    try:
        from decimal import Decimal

        return format(Decimal(str(value)).normalize(), "f")
    except Exception:  # noqa: BLE001 - anything else is hashed by its text
        return str(value)


@attrs.frozen(kw_only=True)
class BotFingerprint:
    """`ingredients` maps a dotted name ("params.fast", "risk.max_heat", "strategy_code_sha256",
    "quantshift_version") to its value; `digest` is the SHA-256 of their canonical JSON."""

    bot: str
    ingredients: Mapping[str, object] = attrs.field(converter=lambda m: dict(_canonical(m)))  # type: ignore[arg-type]

    @property
    def digest(self) -> str:
        text = json.dumps(self.ingredients, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def short(self) -> str:
        return self.digest[:12]

    def changes_from(self, earlier: Mapping[str, object]) -> list[str]:
        """The ingredient names whose value differs from `earlier` (added and removed ones too),
        sorted, for the audit entry that says why a new epoch began."""
        before = dict(_canonical(earlier))  # type: ignore[arg-type]
        names = set(before) | set(self.ingredients)
        return sorted(n for n in names if before.get(n, _MISSING) != self.ingredients.get(n, _MISSING))


_MISSING = object()
