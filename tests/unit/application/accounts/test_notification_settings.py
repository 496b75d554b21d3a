"""Notification settings: validation, defaults, and a round trip through the SettingsRepository
port (an in-memory dict here; the store adapters come later)."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import pytest

from application.accounts.notification_settings import KEY, MAX_RECIPIENTS, NotificationSettings, load, save
from application.ports import AlertLevel
from domain.errors import ConfigurationError
from tests.fakes.builders import T0


class InMemorySettings:
    def __init__(self) -> None:
        self.documents: dict[str, tuple[dict[str, Any], datetime]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        stored = self.documents.get(key)
        return copy.deepcopy(stored[0]) if stored else None

    def put(self, key: str, value: dict[str, Any], *, at: datetime) -> None:
        self.documents[key] = (copy.deepcopy(value), at)


def test_nothing_stored_means_email_off_and_warning_and_above():
    assert load(InMemorySettings()) == NotificationSettings(email_enabled=False, recipients=(),
                                                            min_level=AlertLevel.WARNING)


def test_recipients_are_normalised_deduplicated_and_round_trip():
    repo = InMemorySettings()
    settings = NotificationSettings(email_enabled=True, recipients=[" Ops@Example.com", "ops@example.com", "b@x.io"],
                                    min_level="critical")
    assert settings.recipients == ("ops@example.com", "b@x.io") and settings.min_level is AlertLevel.CRITICAL
    save(repo, settings, at=T0)
    assert repo.documents[KEY] == ({"version": 1, "email_enabled": True, "recipients": ["ops@example.com", "b@x.io"],
                                    "min_level": "critical"}, T0)
    assert load(repo) == settings


@pytest.mark.parametrize("arguments, problem", [
    ({"recipients": ["not-an-address"]}, "recipients"),
    ({"recipients": "ops@example.com"}, "not one string"),
    ({"recipients": [f"p{i}@example.com" for i in range(MAX_RECIPIENTS + 1)]}, "at most 20"),
    ({"min_level": "loud"}, "min_level"),
    ({"email_enabled": "yes"}, "email_enabled"),
    ({"email_enabled": True, "recipients": []}, "nobody would get them"),
])
def test_bad_settings_are_refused_naming_the_field(arguments, problem):
    with pytest.raises(ConfigurationError, match=problem):
        NotificationSettings(**arguments)


def test_a_stored_document_that_no_longer_validates_names_the_key():
    repo = InMemorySettings()
    repo.put(KEY, {"email_enabled": True, "recipients": ["ok@example.com"], "min_level": "debug"}, at=T0)
    with pytest.raises(ConfigurationError, match="settings 'notifications': min_level"):
        load(repo)
    repo.put(KEY, {"recipients": [], "surprise": 1}, at=T0)
    with pytest.raises(ConfigurationError, match="unknown keys"):
        load(repo)
