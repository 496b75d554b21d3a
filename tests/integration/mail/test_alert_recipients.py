"""The e-mail recipients saved in the notification settings still get alerts through the
dispatcher the container builds: mailed by the real SMTP adapter to aiosmtpd, from their level
on, and recorded in the alert's deliveries (failures too)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from application.accounts.notification_settings import NotificationSettings, save
from application.alerting.alert import Alert
from application.ports import AlertLevel
from entrypoints.container import build_container
from entrypoints.settings import load_settings
from tests.support.processes import free_port
from tests.support.receivers import SmtpReceiver

BREAKER = Alert(key="drawdown_breaker:paper/eq", level=AlertLevel.CRITICAL, title="bot eq halted",
                body="drawdown 12.00%", account="paper", bot="eq", figures={"drawdown": "12.00%"})


def container_for(tmp_path: Path, *, port: int):
    settings = load_settings(config_file=None, environ={
        "QUANTSHIFT_DATABASE_URL": f"sqlite:///{tmp_path / 'qs.db'}", "QUANTSHIFT_SMTP_HOST": "127.0.0.1",
        "QUANTSHIFT_SMTP_PORT": str(port), "QUANTSHIFT_SMTP_SECURITY": "none", "QUANTSHIFT_SMTP_TIMEOUT": "2",
        "QUANTSHIFT_SMTP_FROM": "QuantShift <alerts@example.com>", "QUANTSHIFT_PUBLIC_URL": "https://qs.example.com"})
    container = build_container(settings)
    with container.store()() as uow:
        save(uow.settings, NotificationSettings(email_enabled=True, recipients=("ops@example.com", "cto@example.com"),
                                                min_level=AlertLevel.WARNING), at=datetime.now(timezone.utc))
        uow.commit()
    return container


def deliveries(container) -> dict[str, list[dict]]:
    with container.store()() as uow:
        return {str(e.data["key"]): list(e.data["deliveries"]) for e in uow.audit.list(kind="alert")}  # type: ignore[arg-type]


def test_the_saved_recipients_get_alerts_from_their_level_on(tmp_path: Path) -> None:
    with SmtpReceiver() as smtp:
        container = container_for(tmp_path, port=smtp.port)
        alerts = container.notifier()
        alerts.fire(BREAKER)
        alerts.notify(level=AlertLevel.INFO, title="bot eq started", body="by ops")  # below their level
        alerts.close()
        mails = smtp.messages
    assert sorted(r for m in mails for r in m.recipients) == ["cto@example.com", "ops@example.com"]
    message = mails[0].message
    assert message["Subject"] == "[QuantShift CRITICAL] bot eq halted"
    text = message.get_content()
    assert "drawdown: 12.00%" in text and "Dashboard: https://qs.example.com/dashboard/bots/paper/eq" in text
    recorded = deliveries(container)
    assert recorded[BREAKER.key] == [{"channel": "email", "delivered": True, "detail": ""}]
    assert recorded["notice:bot eq started"] == []  # no channel saved, and below the recipients' level


def test_a_mail_server_that_is_down_is_recorded_as_not_delivered(tmp_path: Path) -> None:
    container = container_for(tmp_path, port=free_port())  # nothing listens there
    alerts = container.notifier()
    alerts.fire(BREAKER)
    alerts.close()
    (email,) = deliveries(container)[BREAKER.key]
    assert email["channel"] == "email" and not email["delivered"] and "ops@example.com" in email["detail"]
    assert json.dumps(email).count("cto@example.com") == 0  # the server is down for everybody: tried once
