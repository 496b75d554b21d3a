"""The wire types of /api/v1/alerts (the alert lifecycle's states, application/alerting/lifecycle.py)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from application.alerting.lifecycle import AlertState


class AlertResponse(msgspec.Struct, kw_only=True):
    key: str  # the condition, e.g. "drawdown_breaker:paper/eq": what POST .../{key}/ack names
    level: str  # info | warning | critical
    title: str
    body: str
    account: str
    bot: str
    figures: dict[str, str]
    source: str  # bot | watchdog | api | cli | operator
    since: datetime  # when this alert fired
    last_notice: datetime  # when people were last sent it (fired or repeated)
    count: int  # occurrences grouped into it so far
    repeats: int
    open: bool  # false: resolved, or a notice (never open)
    acked: bool
    acked_by: str
    acked_at: datetime | None
    resolved_at: datetime | None


class AckResponse(AlertResponse, kw_only=True):
    newly_acked: bool  # false: it already was acknowledged (acked_by says by whom)


def alert_response(state: AlertState) -> AlertResponse:
    return AlertResponse(**_fields(state))


def ack_response(state: AlertState, *, newly: bool) -> AckResponse:
    return AckResponse(**_fields(state), newly_acked=newly)


def _fields(s: AlertState) -> dict[str, object]:
    return {"key": s.key, "level": s.level.value, "title": s.title, "body": s.body, "account": s.account,
            "bot": s.bot, "figures": dict(s.figures), "source": s.source, "since": s.since,
            "last_notice": s.last_notice, "count": s.count, "repeats": s.repeats, "open": s.open,
            "acked": s.acked, "acked_by": s.acked_by, "acked_at": s.acked_at, "resolved_at": s.resolved_at}
