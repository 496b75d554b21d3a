"""`quantshift alerts channels add|list|test|remove`: where alerts go out (Apprise URLs:
e-mail, Telegram, Slack, Discord, ntfy, webhooks, ...; docs/monitoring.md, Alert channels).

A URL is saved encrypted with QUANTSHIFT_SECRETS_KEY, or given as env:VARNAME and read from
that variable by each process that sends; either way it is never printed back. A URL typed
on the command line stays in the shell's history: give "-" to read it from standard input.
"""

from __future__ import annotations

import enum
import sys
from typing import Annotated

import attrs
import typer

from application.ports import AlertLevel
from entrypoints.channel_desk import channel_desk
from entrypoints.cli.common import EXIT_ERROR, ConfigOption, JsonOption, actor, cli_errors, container_for
from entrypoints.cli.output import print_json, print_table

channels_app = typer.Typer(help="Alert channels (Apprise URLs): add, list, test, remove.", no_args_is_help=True)

Level = enum.Enum("Level", {level.name: level.value for level in AlertLevel}, type=str)  # type: ignore[misc]
AsOption = Annotated[str | None, typer.Option("--as", help="Who does it, for the audit trail (default: the OS user@host).")]


@channels_app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="A name for the channel: letters, digits, '_', '.', '-' (40 at most).")],
    url: Annotated[str, typer.Argument(help="An Apprise URL (tgram://TOKEN/CHAT, ntfys://host/topic, mailtos://..., "
                                            "json://host/path, ...), env:VARNAME to read it from that variable when "
                                            "sending, or - to read it from standard input.")],
    min_level: Annotated[Level, typer.Option("--min-level", help="The lowest level this channel gets.")] = Level.WARNING,
    quiet_hours: Annotated[str, typer.Option("--quiet-hours", help="A local window without alerts below critical, "
                                                                   "e.g. 22:00-07:00 (may cross midnight).")] = "",
    timezone: Annotated[str, typer.Option("--timezone", help="The quiet hours' time zone (IANA, e.g. Europe/Paris).")] = "UTC",
    as_email: AsOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check the URL with Apprise (the service is known, the URL parses; nothing is sent) and
    save the channel (audited). `quantshift alerts channels test NAME` then proves it works."""
    with cli_errors():
        if url == "-":
            url = sys.stdin.readline().strip()
        added = channel_desk(container_for(config, require_bots=False)).add(
            name=name, url=url, min_level=min_level.value, quiet_hours=quiet_hours, timezone=timezone,
            actor=as_email or actor())
    if json_output:
        print_json(attrs.asdict(added))
        return
    print(f"alert channel {added.name} added: {added.shown} ({added.secret}), {_levels(added.min_level)}"
          + (f", quiet {added.quiet_hours} {added.timezone}" if added.quiet_hours else ""))
    if added.note:
        print(f"note: {added.note}")


@channels_app.command("list")
def list_command(config: ConfigOption = None, json_output: JsonOption = False) -> None:
    """The saved channels, as they may be shown: scheme and host, never a token or password."""
    with cli_errors():
        channels = channel_desk(container_for(config, require_bots=False)).list()
    if json_output:
        print_json([attrs.asdict(c, filter=lambda a, _: a.name != "note") for c in channels])
        return
    if not channels:
        print("no alert channels: add one with `quantshift alerts channels add NAME URL`")
        return
    print_table("Alert channels", ["name", "url (shown)", "secret", "min level", "quiet hours", "enabled"],
                [(c.name, c.shown, c.secret, c.min_level, f"{c.quiet_hours} {c.timezone}" if c.quiet_hours else "",
                  "yes" if c.enabled else "no") for c in channels])


@channels_app.command("test")
def test_command(
    name: Annotated[str | None, typer.Argument(help="The channel to test (default: every saved channel).")] = None,
    as_email: AsOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Send a test alert now, whatever the channels' levels and quiet hours, and record each
    outcome (ALERT_TEST, which the go-live gate reads). Exits 4 when any channel failed."""
    with cli_errors():
        deliveries = channel_desk(container_for(config, require_bots=False)).test(
            name=name, actor=as_email or actor(), source="cli")
    if json_output:
        print_json([attrs.asdict(d) for d in deliveries])
    else:
        for d in deliveries:
            print(f"{d.channel}: delivered" if d.delivered else f"{d.channel}: FAILED: {d.detail}")
    if not all(d.delivered for d in deliveries):
        raise typer.Exit(EXIT_ERROR)


@channels_app.command("remove")
def remove_command(
    name: Annotated[str, typer.Argument(help="The channel to remove.")],
    as_email: AsOption = None,
    config: ConfigOption = None,
) -> None:
    """Remove a saved channel (audited); running processes stop using it within 5 s."""
    with cli_errors():
        removed = channel_desk(container_for(config, require_bots=False)).remove(name=name, actor=as_email or actor())
    print(f"alert channel {removed.name} removed ({removed.shown})")


def _levels(level: str) -> str:
    return "critical only" if level == AlertLevel.CRITICAL.value else f"{level} and above"
