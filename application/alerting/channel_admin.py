"""An admin adds, lists, tests and removes alert channels (the CLI's `alerts channels`, the API
and the dashboard share these).

Adding checks the URL with the sender (the service is known and the URL parses) and saves it
encrypted, or saves the env:VAR reference as it is; each change is saved with a SESSION audit
entry naming who changed what, in one transaction, and neither ever holds the URL: only its
shown form (scheme and host). A test sends straight through the sender, whatever the channel's
level and quiet hours, and records one ALERT_TEST entry per channel (delivered or not), the
proof the go-live gate's "monitoring and alerting" item reads back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs

from application.alerting.alert import Alert
from application.alerting.channel_store import ENV, SEALED, env_reference, load_channels, save_channels
from application.alerting.channels import Channel, Delivery, check_name, format_quiet_hours, send_to
from application.alerting.ports import ChannelSender, SecretBox
from application.ports import AlertLevel, Clock, UnitOfWork, UnitOfWorkFactory
from application.records import AuditEntry, AuditKind
from domain.errors import ConfigurationError, RejectedError

TEST_KEY = "alert_test"


class UnknownChannel(RejectedError):
    """No saved channel has that name."""


class ChannelExists(RejectedError):
    """A channel of that name is saved already (remove it first)."""


@attrs.frozen(kw_only=True)
class ChannelView:
    """A channel as it may be shown: never its URL."""

    name: str
    shown: str  # "json://127.0.0.1:8123/…", "tgram://…", "env:QUANTSHIFT_TELEGRAM_URL"
    secret: str  # "encrypted" or "env:VAR"
    min_level: str
    quiet_hours: str  # "22:00-07:00" or ""
    timezone: str
    enabled: bool
    note: str = ""  # on add: what was not checked, and why


def view(channel: Channel, *, note: str = "") -> ChannelView:
    variable = env_reference(channel.url)
    return ChannelView(name=channel.name, shown=channel.shown, secret=f"{ENV}{variable}" if variable else "encrypted",
                       min_level=channel.min_level.value, quiet_hours=format_quiet_hours(channel.quiet_hours),
                       timezone=channel.timezone, enabled=channel.enabled, note=note)


@attrs.frozen(kw_only=True)
class AddChannel:
    name: str
    url: str = attrs.field(repr=False)  # an Apprise URL, or env:VAR
    min_level: str = AlertLevel.WARNING.value
    quiet_hours: str = ""  # "22:00-07:00"
    timezone: str = "UTC"
    actor: str  # who adds it, for the audit trail


def add_channel(command: AddChannel, *, uow_factory: UnitOfWorkFactory, clock: Clock, sender: ChannelSender,
                box: SecretBox, environ: Mapping[str, str]) -> ChannelView:
    """Raises ConfigurationError naming the bad field, ChannelExists for a taken name."""
    check_name(command.name)
    stored, shown, note = _secured(command.url, sender=sender, box=box, environ=environ)
    channel = Channel(name=command.name, url=stored, min_level=command.min_level,
                      quiet_hours=command.quiet_hours or None, timezone=command.timezone, shown=shown)
    now = clock.now()
    with uow_factory() as uow:
        saved = load_channels(uow.settings)
        if any(c.name == channel.name for c in saved):
            raise ChannelExists(f"an alert channel named {channel.name!r} exists already: remove it first, "
                                "or choose another name")
        save_channels(uow.settings, (*saved, channel), at=now)
        _audit(uow, now=now, actor=command.actor, channel=channel, change="added")
        uow.commit()
    return view(channel, note=note)


def _secured(url: str, *, sender: ChannelSender, box: SecretBox, environ: Mapping[str, str]) -> tuple[str, str, str]:
    """What is stored for `url`, how it is shown, and a note on what could not be checked."""
    url = url.strip() if isinstance(url, str) else ""
    if url.startswith(SEALED):
        raise ConfigurationError("url: give the channel's Apprise URL itself (it is encrypted here) or env:VAR")
    variable = env_reference(url)
    if variable is None:
        check = sender.check(url)  # ConfigurationError naming what is wrong
        return SEALED + box.seal(url), check.shown, ""
    value = environ.get(variable, "").strip()
    if not value:
        return url, url, (f"{variable} is not set here: the URL is read from it by each process that sends, "
                          "and checked then")
    try:
        sender.check(value)
    except ConfigurationError as exc:
        raise ConfigurationError(f"url: {variable} holds a URL that cannot be used: {exc}") from None
    return url, url, ""


@attrs.frozen(kw_only=True)
class RemoveChannel:
    name: str
    actor: str


def remove_channel(command: RemoveChannel, *, uow_factory: UnitOfWorkFactory, clock: Clock) -> ChannelView:
    """Raises UnknownChannel."""
    now = clock.now()
    with uow_factory() as uow:
        try:
            saved = load_channels(uow.settings)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{exc}; the saved channels cannot be changed until that is repaired") from None
        gone = _named(saved, command.name)
        save_channels(uow.settings, tuple(c for c in saved if c.name != command.name), at=now)
        _audit(uow, now=now, actor=command.actor, channel=gone, change="removed")
        uow.commit()
    return view(gone)


def list_channels(uow: UnitOfWork) -> list[ChannelView]:
    """In the order added. Raises ConfigurationError for an unreadable document (named)."""
    return [view(c) for c in load_channels(uow.settings)]


def send_channel_test(*, name: str | None, actor: str, uow_factory: UnitOfWorkFactory, clock: Clock,
                  sender: ChannelSender, link: str = "", source: str = "cli") -> tuple[Delivery, ...]:
    """Send a test alert now to channel `name` (None: every saved channel, enabled or not),
    and record each outcome as an ALERT_TEST entry. Raises UnknownChannel, or
    ConfigurationError when no channel is saved."""
    now = clock.now()
    with uow_factory() as uow:
        saved = load_channels(uow.settings)
    if name is not None:
        chosen: tuple[Channel, ...] = (_named(saved, name),)
    elif saved:
        chosen = saved
    else:
        raise ConfigurationError("no alert channels are saved: add one first "
                                 "(`quantshift alerts channels add NAME URL`)")
    alert = Alert(key=TEST_KEY, level=AlertLevel.INFO, title="test alert", source=source,
                  body=f"This is a test of QuantShift's alert channels, sent by {actor} at {now:%Y-%m-%d %H:%M:%S} UTC. "
                       "It reached you: this channel works.")
    sent = send_to(chosen, alert=alert, sender=sender, link=link)
    deliveries = tuple(sent[c.name] for c in chosen)
    with uow_factory() as uow:
        for channel, delivery in zip(chosen, deliveries, strict=True):
            uow.audit.append(_test_entry(channel, delivery, now=now, actor=actor))
        uow.commit()
    return deliveries


def _test_entry(channel: Channel, delivery: Delivery, *, now: datetime, actor: str) -> AuditEntry:
    # The data keep the shape of the e-mail test's entries (notification_admin): "channel",
    # "sent_to", "delivered", "actor", "detail" are what the go-live gate reads.
    return AuditEntry(
        ts=now, kind=AuditKind.ALERT_TEST, severity="info" if delivery.delivered else "warning",
        message=(f"test alert sent by {actor} to channel {channel.name} ({channel.shown})" if delivery.delivered
                 else f"test alert by {actor} to channel {channel.name} failed: {delivery.detail}"),
        data={"channel": channel.name, "shown": channel.shown, "sent_to": [channel.name] if delivery.delivered else [],
              "delivered": delivery.delivered, "actor": actor, **({"detail": delivery.detail} if delivery.detail else {})},
    )


def _named(saved: tuple[Channel, ...], name: str) -> Channel:
    found = next((c for c in saved if c.name == name), None)
    if found is None:
        known = ", ".join(c.name for c in saved) or "none are saved"
        raise UnknownChannel(f"no alert channel named {name!r} (the channels: {known})")
    return found


def _audit(uow: UnitOfWork, *, now: datetime, actor: str, channel: Channel, change: str) -> None:
    summary = attrs.asdict(view(channel))
    del summary["note"]
    uow.audit.append(AuditEntry(
        ts=now, kind=AuditKind.SESSION, severity="info",
        message=f"alert channel {channel.name} {change} by {actor}: {channel.shown}, {_when(channel)}",
        data={"actor": actor, "change": f"alert channel {change}", "channel": channel.name,
              ("after" if change == "added" else "before"): summary},
    ))


def _when(channel: Channel) -> str:
    quiet = (f", quiet {format_quiet_hours(channel.quiet_hours)} {channel.timezone} (critical alerts still go out)"
             if channel.quiet_hours else "")
    return f"{channel.min_level.value} and above{quiet}"
