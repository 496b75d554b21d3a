"""The alert channels as saved in the store (settings key KEY, one versioned document), the
cached read the dispatcher uses, and the resolution of their secrets at send time.

A channel URL is never stored as given: it is either encrypted ("fernet:<token>", sealed by the
SecretBox, whose key is QUANTSHIFT_SECRETS_KEY) or a reference to an environment variable of
the sending process ("env:VARNAME"). Both are resolved only inside `SecretResolvingSender.send`,
just before the sender gets the URL, so nothing else ever holds the plain URL. What is shown
(`Channel.shown`) was worked out when the channel was added: listing needs no key.

A stored document that does not pass validation raises ConfigurationError naming the key
(and the channel), rather than alerting the wrong place; the cached read keeps the last good
channels instead (an alert must still go out).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from application.accounts.ports import SettingsRepository
from application.alerting.channels import Channel, format_quiet_hours
from application.alerting.ports import ChannelSender, SecretBox, UrlCheck
from application.ports import AlertLevel, UnitOfWorkFactory
from domain.errors import ConfigurationError

log = logging.getLogger(__name__)

KEY = "alert_channels"
MAX_CHANNELS = 50
SEALED = "fernet:"
ENV = "env:"
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
_VERSION = 1
_FIELDS = {"name", "secret", "shown", "min_level", "quiet_hours", "timezone", "enabled"}


def env_reference(url: str) -> str | None:
    """The variable an "env:VAR" URL names (checked), or None for any other URL."""
    if not url.startswith(ENV):
        return None
    variable = url[len(ENV):].strip()
    if not _VARIABLE.fullmatch(variable):
        raise ConfigurationError(f"url: {url!r} is not an environment reference like env:QUANTSHIFT_TELEGRAM_URL")
    return variable


def load_channels(settings: SettingsRepository, *, key: str = KEY) -> tuple[Channel, ...]:
    document = settings.get(key)
    if document is None:
        return ()
    try:
        if document.get("version") != _VERSION:
            raise ConfigurationError(f"version {document.get('version')!r} is not {_VERSION}")
        unknown = set(document) - {"version", "channels"}
        if unknown:
            raise ConfigurationError(f"unknown keys {sorted(unknown)}")
        entries = document.get("channels", [])
        if not isinstance(entries, list):
            raise ConfigurationError("channels: a list is wanted")
        channels = tuple(_channel(entry, index) for index, entry in enumerate(entries))
        _check_unique(channels)
        return channels
    except (ConfigurationError, TypeError, AttributeError) as exc:
        raise ConfigurationError(f"settings {key!r}: {exc}") from None


def save_channels(settings: SettingsRepository, channels: tuple[Channel, ...], *, at: datetime,
                  key: str = KEY) -> None:
    _check_unique(channels)
    if len(channels) > MAX_CHANNELS:
        raise ConfigurationError(f"at most {MAX_CHANNELS} alert channels, got {len(channels)}")
    settings.put(key, {"version": _VERSION, "channels": [_entry(c) for c in channels]}, at=at)


def _check_unique(channels: tuple[Channel, ...]) -> None:
    names = [c.name for c in channels]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise ConfigurationError(f"channel names must be unique: {', '.join(doubled)} twice")


def _channel(entry: Any, index: int) -> Channel:
    where = f"channels[{index}]"
    if not isinstance(entry, dict):
        raise ConfigurationError(f"{where}: an object is wanted")
    unknown = set(entry) - _FIELDS
    if unknown:
        raise ConfigurationError(f"{where}: unknown keys {sorted(unknown)}")
    secret = entry.get("secret")
    if not isinstance(secret, dict) or len(secret) != 1 or not isinstance(next(iter(secret.values())), str):
        raise ConfigurationError(f"{where}.secret: {{\"fernet\": token}} or {{\"env\": variable}} is wanted")
    (kind, value), = secret.items()
    if kind == "fernet":
        url = SEALED + value
    elif kind == "env":
        url = ENV + value
        env_reference(url)
    else:
        raise ConfigurationError(f"{where}.secret: unknown kind {kind!r} (fernet or env)")
    try:
        return Channel(name=entry.get("name", ""), url=url,
                       min_level=entry.get("min_level", AlertLevel.WARNING.value),
                       quiet_hours=entry.get("quiet_hours") or None, timezone=entry.get("timezone", "UTC"),
                       enabled=entry.get("enabled", True), shown=str(entry.get("shown", "")))
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where} ({entry.get('name')!r}): {exc}") from None


def _entry(channel: Channel) -> dict[str, Any]:
    if channel.url.startswith(SEALED):
        secret = {"fernet": channel.url[len(SEALED):]}
    elif (variable := env_reference(channel.url)) is not None:
        secret = {"env": variable}
    else:  # a plain URL would be a secret in the clear in the store, and in its backups
        raise ConfigurationError(f"channel {channel.name}: its URL must be sealed or an env: reference to be saved")
    return {"name": channel.name, "secret": secret, "shown": channel.shown, "min_level": channel.min_level.value,
            "quiet_hours": format_quiet_hours(channel.quiet_hours), "timezone": channel.timezone,
            "enabled": channel.enabled}


class StoredChannels:
    """The ChannelSource: the saved channels, read through a unit of work at most once per
    `ttl_seconds` (so a change reaches running processes without a restart). Never raises: a
    store that cannot be read, or a bad document, keeps the last channels read (none yet: none).

    `uow_factory` should give read-only units of work (an alert may be raised while this
    process holds the store's write lock)."""

    def __init__(self, *, uow_factory: UnitOfWorkFactory, ttl_seconds: float = 5.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._uow_factory = uow_factory
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._channels: tuple[Channel, ...] = ()
        self._due = float("-inf")  # when to read again

    def current(self) -> tuple[Channel, ...]:
        with self._lock:
            now = self._monotonic()
            if now >= self._due:
                self._due = now + self._ttl  # a failed read waits out the ttl too: one attempt per ttl
                try:
                    with self._uow_factory() as uow:
                        self._channels = load_channels(uow.settings)
                except Exception as exc:  # noqa: BLE001 - the store down, a bad document: keep the last ones
                    log.warning("alert channels could not be read (%s); keeping the %d read before",
                                exc, len(self._channels))
            return self._channels

    def forget(self) -> None:
        """Read again at the next alert (the channels were just changed in this process)."""
        with self._lock:
            self._due = float("-inf")


class SecretResolvingSender:
    """A ChannelSender over another one: "fernet:" URLs are decrypted and "env:VAR" ones looked up
    in `environ` (the sending process's environment) right before the inner send; plain URLs
    pass through. The plain URL lives only for the call."""

    def __init__(self, *, sender: ChannelSender, box: SecretBox, environ: Mapping[str, str]) -> None:
        self._sender = sender
        self.box = box  # what channel_admin.add_channel seals with, and the environment it checks
        self.environ = environ

    def send(self, *, url: str, title: str, body: str, level: AlertLevel) -> None:
        self._sender.send(url=self.resolve(url), title=title, body=body, level=level)

    def check(self, url: str) -> UrlCheck:
        return self._sender.check(self.resolve(url))

    def resolve(self, url: str) -> str:
        if url.startswith(SEALED):
            return self.box.open(url[len(SEALED):])
        variable = env_reference(url)
        if variable is None:
            return url
        value = self.environ.get(variable, "").strip()
        if not value:
            raise ConfigurationError(f"{variable} is not set in this process's environment (the channel's URL "
                                     "is read from it at send time)")
        if value.startswith((ENV, SEALED)):
            raise ConfigurationError(f"{variable} holds another reference, not an Apprise URL")
        return value
