"""`quantshift alerts test`: mail a test alert to the saved recipients now, and record it.

The admin page's button does the same (POST /api/v1/settings/notifications/test); both
write an ALERT_TEST entry to the audit trail, which the go-live gate's "monitoring and
alerting" item reads back (a delivered test alert within 7 days).
"""

from __future__ import annotations

from typing import Annotated

import typer

from application.accounts.notification_admin import send_recorded_test_alert
from entrypoints.cli.alert_channels_command import channels_app
from entrypoints.cli.common import ConfigOption, JsonOption, actor, cli_errors, container_for
from entrypoints.cli.output import print_json
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
