"""`quantshift alerts test`: mail a test alert to the saved recipients now, and record it.

The admin page's button does the same (POST /api/v1/settings/notifications/test); both
write an ALERT_TEST entry to the audit trail, which the go-live gate's "monitoring and
alerting" item reads back (a delivered test alert within 7 days).
"""

from __future__ import annotations

from typing import Annotated

import typer

from application.accounts.notification_admin import send_recorded_test_alert
from application.alerting.lifecycle import AlertState, acknowledge, alert_states, alert_view, open_alerts
from entrypoints.cli.alert_channels_command import channels_app
from entrypoints.cli.common import ConfigOption, JsonOption, actor, cli_errors, container_for
from entrypoints.cli.output import print_json, print_table
from entrypoints.container import build_store
from entrypoints.mail_setup import EmailFeatures

alerts_app = typer.Typer(help="Alerts: the channels they go out on, and a test e-mail.", no_args_is_help=True)
alerts_app.add_typer(channels_app, name="channels")  # alert_channels_command.py


@alerts_app.command("test")
def test_command(
    as_email: Annotated[str | None, typer.Option("--as", help="Who sends it, for the audit trail (default: the OS user@host).")] = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Mail a test alert to the recipients saved in the notification settings (even while
    e-mail alerts are off); the SMTP error is shown if it fails. Recorded either way."""
    with cli_errors():
        container = container_for(config, require_bots=False)
        mailer = EmailFeatures(mailer=container.mailer()).require_mailer()
        result = send_recorded_test_alert(uow_factory=container.store(), mailer=mailer, actor=as_email or actor(),
                                          clock=container.clock())
    if json_output:
        print_json({"sent_to": list(result.sent_to)})
    else:
        print(f"test alert delivered to {', '.join(result.sent_to)}")


# --- the alerts themselves: which are open, and acknowledging one (application/alerting/lifecycle.py) ---


@alerts_app.command("list")
def list_command(
    every: Annotated[bool, typer.Option("--all", help="Also the resolved alerts and the notices (alerts without a condition key).")] = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """The open alerts, oldest first: key, level, since when, how many occurrences, and who
    acknowledged it (an acknowledged critical alert no longer repeats, and stays open until
    its condition clears)."""
    with cli_errors():
        container = container_for(config, require_bots=False)
        store = build_store(container.settings().database_url, create=False)
        with store.unit_of_work(read_only=True) as uow:
            states = sorted(alert_states(uow).values(), key=lambda s: s.since) if every else open_alerts(uow)
    if json_output:
        print_json([alert_view(s) for s in states])
        return
    if not states:
        print("no open alerts" if not every else "no alerts recorded")
        return
    print_table("Alerts" if every else "Open alerts", ["key", "level", "since", "count", "acked", "state", "title"],
                [(s.key, s.level.value, f"{s.since:%Y-%m-%d %H:%M:%S}", s.count,
                  f"{s.acked_by} {s.acked_at:%H:%M:%S}" if s.acked_at else "", _state(s), s.title) for s in states])


@alerts_app.command("ack")
def ack_command(
    key: Annotated[str, typer.Argument(help="The alert's key, as `quantshift alerts list` shows it (e.g. drawdown_breaker:paper/eq).")],
    as_email: Annotated[str | None, typer.Option("--as", help="Who acknowledges it, for the audit trail (default: the OS user@host).")] = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Acknowledge an open alert: someone is on it, so its repeats stop. It stays open until its
    condition clears. An unknown or resolved key is refused, naming it."""
    with cli_errors():
        container = container_for(config, require_bots=False)
        store = build_store(container.settings().database_url, create=False)
        state, newly = acknowledge(key=key, by=as_email or actor(), uow_factory=store, now=container.clock().now())
    if json_output:
        print_json({**alert_view(state), "newly_acked": newly})
    elif newly:
        print(f"acknowledged {state.key} ({state.level.value}, open since {state.since:%Y-%m-%d %H:%M:%S} UTC, "
              f"{state.count} occurrence(s)): no more repeats; it stays open until it clears")
    else:
        print(f"{state.key} was already acknowledged by {state.acked_by} at {state.acked_at:%Y-%m-%d %H:%M:%S} UTC")


def _state(state: AlertState) -> str:
    if not state.open:
        return "notice" if state.resolved_at is None else "resolved"
    return "open, acknowledged" if state.acked else "open"
