"""Alert channels: where an alert goes out (an Apprise URL each), from which level on, and
when to keep quiet; and `deliver`, which sends one alert to every channel that wants it.

A channel's quiet hours are a local window ("22:00-07:00" in its timezone, which may cross
midnight) during which it gets nothing below CRITICAL: a critical alert always goes out.
`deliver` never raises and sends to the channels side by side, so one dead channel costs
the others nothing (each send is bounded by the sender's own timeout).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from application.alerting.alert import Alert
from application.alerting.ports import ChannelSender
from application.ports import AlertLevel
from domain.errors import ConfigurationError, QuantShiftError

log = logging.getLogger(__name__)

NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_RANK = {AlertLevel.INFO: 0, AlertLevel.WARNING: 1, AlertLevel.CRITICAL: 2}
MAX_PARALLEL_SENDS = 8

QUIET = "quiet hours"
BELOW_MIN_LEVEL = "below min level"
DISABLED = "disabled"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ConfigurationError(f"name: {name!r} must be 1 to 40 letters, digits, '_', '.' or '-'")
    return name


def parse_level(value: AlertLevel | str) -> AlertLevel:
    try:
        return AlertLevel(value)
    except ValueError:
        raise ConfigurationError(f"min_level: {value!r} is not one of "
                                 f"{[level.value for level in AlertLevel]}") from None


def parse_quiet_hours(text: str) -> tuple[time, time]:
    """"22:00-07:00" -> (22:00, 07:00); a window may cross midnight, but not be empty."""
    match = _HOURS.match(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigurationError(f"quiet_hours: {text!r} is not like 22:00-07:00 (HH:MM-HH:MM, 24-hour)")
    hours_from, minutes_from, hours_to, minutes_to = map(int, match.groups())
    try:
        window = time(hours_from, minutes_from), time(hours_to, minutes_to)
    except ValueError:
        raise ConfigurationError(f"quiet_hours: {text!r} is not a time of day (00:00 to 23:59)") from None
    _check_window(window)
    return window


def format_quiet_hours(window: tuple[time, time] | None) -> str:
    return "" if window is None else f"{window[0]:%H:%M}-{window[1]:%H:%M}"


def _quiet_hours(value: tuple[time, time] | str | None) -> tuple[time, time] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return parse_quiet_hours(value)
    window = tuple(value)
    if len(window) != 2 or not all(isinstance(t, time) for t in window):
        raise ConfigurationError(f"quiet_hours: {value!r} is not a (start, end) pair of times")
    _check_window(window)  # type: ignore[arg-type]
    return window  # type: ignore[return-value]


def _check_window(window: tuple[time, time]) -> None:
    if window[0] == window[1]:
        raise ConfigurationError(f"quiet_hours: {format_quiet_hours(window)} is empty (start and end are equal)")


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigurationError(f"timezone: {name!r} is not an IANA time zone (e.g. UTC, Europe/Paris, "
                                 "America/New_York)") from None
    return name


def _enabled(value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"enabled: true or false, not {value!r}")
    return value


def _url(value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError("url: an Apprise URL is wanted (e.g. tgram://TOKEN/CHAT, ntfy://host/topic)")
    return value.strip()


@attrs.frozen(kw_only=True)
class Channel:
    name: str = attrs.field(converter=check_name)
    # An Apprise URL; from the store it is "fernet:<token>" (encrypted) or "env:VAR" (resolved at
    # send time, see channel_store.SecretResolvingSender). Never shown: `shown` is.
    url: str = attrs.field(converter=_url, repr=False)
    min_level: AlertLevel = attrs.field(default=AlertLevel.WARNING, converter=parse_level)
    quiet_hours: tuple[time, time] | None = attrs.field(default=None, converter=_quiet_hours)
    timezone: str = attrs.field(default="UTC", converter=check_timezone)
    enabled: bool = attrs.field(default=True, converter=_enabled)
    shown: str = ""  # the URL as it may be shown: scheme and host only, or "env:VAR"

    def quiet_at(self, now: datetime) -> bool:
        """Whether `now` (aware) falls in the quiet hours, read on the channel's local clock."""
        if self.quiet_hours is None:
            return False
        local = now.astimezone(ZoneInfo(self.timezone)).time().replace(tzinfo=None)
        start, end = self.quiet_hours
        if start < end:
            return start <= local < end
        return local >= start or local < end  # the window crosses midnight

    def skip_reason(self, level: AlertLevel, *, now: datetime) -> str:
        """Why this channel does not get an alert of `level` now; "" when it does."""
        if not self.enabled:
            return DISABLED
        if _RANK[level] < _RANK[self.min_level]:
            return BELOW_MIN_LEVEL
        if level is not AlertLevel.CRITICAL and self.quiet_at(now):
            return QUIET
        return ""


@attrs.frozen(kw_only=True)
class Delivery:
    channel: str
    delivered: bool
    detail: str  # "" on success; the error, "quiet hours", "below min level", "disabled"


class ChannelSource(Protocol):
    def current(self) -> tuple[Channel, ...]:
        """The saved channels (a cached read, see channel_store.StoredChannels). Never raises."""
        ...


def message(alert: Alert, *, link: str = "") -> tuple[str, str]:
    """The title and body a channel gets: the level in the title; the body, the figures, where
    it happened and the dashboard link in the body."""
    title = f"[QuantShift {alert.level.value.upper()}] {alert.title}"
    parts = [alert.body.strip()] if alert.body.strip() else []
    if alert.figures:
        parts.append("\n".join(f"{name}: {value}" for name, value in alert.figures.items()))
    where = ", ".join(f"{what} {value}" for what, value in (("account", alert.account), ("bot", alert.bot)) if value)
    if where:
        parts.append(where)
    if link:
        parts.append(f"Dashboard: {link}")
    return title, "\n\n".join(parts) or alert.title


def deliver(alert: Alert, *, channels: Sequence[Channel], sender: ChannelSender, now: datetime,
            link: str = "") -> tuple[Delivery, ...]:
    """Send to every channel that wants it; never raises; one channel failing does not stop the rest.
    One Delivery per channel, in the channels' order (the skipped ones say why)."""
    skipped = {c.name: c.skip_reason(alert.level, now=now) for c in channels}
    sent = send_to([c for c in channels if not skipped[c.name]], alert=alert, sender=sender, link=link)
    return tuple(sent.get(c.name) or Delivery(channel=c.name, delivered=False, detail=skipped[c.name])
                 for c in channels)


def send_to(channels: Iterable[Channel], *, alert: Alert, sender: ChannelSender, link: str = "") -> dict[str, Delivery]:
    """Send `alert` to each of `channels` whatever their level and quiet hours (a test alert),
    side by side; never raises. The Delivery of each, by channel name."""
    channels = list(channels)
    if not channels:
        return {}
    title, body = message(alert, link=link)
    if len(channels) == 1:  # no thread for the common case
        return {channels[0].name: _send_one(channels[0], sender=sender, title=title, body=body, level=alert.level)}
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_SENDS, len(channels)),
                            thread_name_prefix="alert-channel") as pool:
        futures = {c.name: pool.submit(_send_one, c, sender=sender, title=title, body=body, level=alert.level)
                   for c in channels}
        return {name: future.result() for name, future in futures.items()}


def _send_one(channel: Channel, *, sender: ChannelSender, title: str, body: str, level: AlertLevel) -> Delivery:
    try:
        sender.send(url=channel.url, title=title, body=body, level=level)
    except QuantShiftError as exc:  # our errors never carry a URL: DeliveryFailed names the service
        return Delivery(channel=channel.name, delivered=False, detail=str(exc) or type(exc).__name__)
    except Exception as exc:  # noqa: BLE001 - never raises; a stranger's message might hold the URL
        log.warning("alert channel %s: the sender failed unexpectedly (%s)", channel.name, type(exc).__name__)
        return Delivery(channel=channel.name, delivered=False, detail=f"unexpected {type(exc).__name__}")
    return Delivery(channel=channel.name, delivered=True, detail="")
