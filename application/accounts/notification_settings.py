"""Who gets alert emails, and from which level on: a settings document an admin edits.

Stored through the SettingsRepository port under KEY; nothing stored means the defaults
(email off, nobody, WARNING and above). A stored document that no longer passes
validation raises ConfigurationError naming the key rather than mailing the wrong people.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from application.accounts.ports import SettingsRepository
from application.ports import AlertLevel
from domain.access import normalise_email
from domain.errors import ConfigurationError

KEY = "notifications"
MAX_RECIPIENTS = 20
_VERSION = 1


def _recipients(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):  # a lone string would be read as its characters
        raise ConfigurationError("recipients: a list of e-mail addresses is wanted, not one string")
    addresses: list[str] = []
    for raw in value:
        try:
            address = normalise_email(raw)
        except (ValueError, AttributeError) as exc:
            raise ConfigurationError(f"recipients: {raw!r}: {exc}") from None
        if address not in addresses:  # the same person once, in the order given
            addresses.append(address)
    if len(addresses) > MAX_RECIPIENTS:
        raise ConfigurationError(f"recipients: at most {MAX_RECIPIENTS} addresses, got {len(addresses)}")
    return tuple(addresses)


def _level(value: AlertLevel | str) -> AlertLevel:
    try:
        return AlertLevel(value)
    except ValueError:
        raise ConfigurationError(f"min_level: {value!r} is not one of {[level.value for level in AlertLevel]}") from None


def _enabled(value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"email_enabled: true or false, not {value!r}")
    return value


@attrs.frozen(kw_only=True)
class NotificationSettings:
    email_enabled: bool = attrs.field(default=False, converter=_enabled)
    recipients: tuple[str, ...] = attrs.field(default=(), converter=_recipients)
    min_level: AlertLevel = attrs.field(default=AlertLevel.WARNING, converter=_level)

    def __attrs_post_init__(self) -> None:
        if self.email_enabled and not self.recipients:
            raise ConfigurationError("recipients: email alerts are enabled but nobody would get them")


def load(settings: SettingsRepository, *, key: str = KEY) -> NotificationSettings:
    document = settings.get(key)
    if document is None:
        return NotificationSettings()
    try:
        unknown = set(document) - {"version", "email_enabled", "recipients", "min_level"}
        if unknown:
            raise ConfigurationError(f"unknown keys {sorted(unknown)}")
        return NotificationSettings(email_enabled=document.get("email_enabled", False),
                                    recipients=document.get("recipients", ()),
                                    min_level=document.get("min_level", AlertLevel.WARNING.value))
    except (ConfigurationError, TypeError) as exc:
        raise ConfigurationError(f"settings {key!r}: {exc}") from None


def save(settings: SettingsRepository, value: NotificationSettings, *, at: datetime, key: str = KEY) -> None:
    settings.put(key, _document(value), at=at)


def _document(value: NotificationSettings) -> dict[str, Any]:
    return {"version": _VERSION, "email_enabled": value.email_enabled, "recipients": list(value.recipients),
            "min_level": value.min_level.value}
