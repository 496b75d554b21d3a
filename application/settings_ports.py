"""A small key-value port for settings people change at run time (notification settings, ...).

Each key holds one JSON-able document (str keys; str, int, float, bool, None, lists and
dicts of them). The store adapters implement it; tests use an in-memory dict.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class SettingsRepository(Protocol):
    def get(self, key: str) -> dict[str, Any] | None:
        """The document stored under `key`, or None when nothing is stored yet."""
        ...

    def put(self, key: str, value: dict[str, Any], *, at: datetime) -> None:
        """Store `value` under `key` (replacing what was there); `at` is when it changed (UTC)."""
        ...
