"""The Alert value: one occurrence of a condition that needs a person, under a stable key.

The key names the condition, not the occurrence ("<kind>:<scope>", e.g. "drawdown_warning:paper/eq"):
every occurrence of the same condition carries the same key, which is what lets the lifecycle
(lifecycle.py) send it once, group its flapping and say when it is resolved.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

from application.ports import AlertLevel

# A legacy Notifier.notify(level=, title=, body=) names no condition: its key is its title under
# this prefix. Such a notice is a point event: repeats of it within the group window are one
# notice, and it is never open (nobody would ever resolve it).
NOTICE_PREFIX = "notice:"
_MAX_KEY = 200


class AlertEvent(enum.Enum):
    """What an ALERT audit entry records (data["event"])."""

    FIRED = "fired"  # a new alert: sent
    DEDUPLICATED = "deduplicated"  # more occurrences of an open alert: not sent again (data["count"])
    REPEATED = "repeated"  # an unacknowledged critical alert sent again
    ACKED = "acked"  # a person acknowledged it: no more repeats
    RESOLVED = "resolved"  # the condition cleared (for longer than the group window): sent


@attrs.frozen(kw_only=True)
class Alert:
    key: str  # stable per condition, see the module docstring
    level: AlertLevel
    title: str
    body: str
    account: str = ""
    bot: str = ""
    figures: Mapping[str, str] = attrs.field(factory=dict)  # the numbers behind it, as text
    source: str = "bot"  # bot | watchdog | api | cli

    def __attrs_post_init__(self) -> None:
        if not self.key.strip():
            raise ValueError("an alert needs a key")


def notice_key(title: str) -> str:
    """The key of a legacy notice: its title, whitespace flattened (the title is free text)."""
    return (NOTICE_PREFIX + " ".join(title.split()))[:_MAX_KEY]


def is_notice(key: str) -> bool:
    return key.startswith(NOTICE_PREFIX)


def notice(*, level: AlertLevel, title: str, body: str, source: str = "bot") -> Alert:
    """A legacy notify() call as an Alert."""
    return Alert(key=notice_key(title), level=level, title=title, body=body, source=source)
