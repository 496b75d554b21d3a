"""The gate's own Infrastructure items: a standby ready to take over, alerts that reach a
person, and an audit trail the store itself keeps append-only.

Each returns an ItemResult and never raises for a deployment that cannot pass (SQLite has
no standby): the detail says what to do.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

import attrs

from application.accounts.notification_settings import load as load_notification_settings
from application.alerting.channel_store import load_channels
from application.golive.checklist import ItemResult
from application.ports import UnitOfWork
from application.records import AuditKind
from application.reports.status import instance_statuses
from domain.errors import ConfigurationError

SECTION = "Infrastructure"
ALERT_MAX_AGE = timedelta(days=7)
_LIMIT = 100_000


@attrs.frozen(kw_only=True)
class AppendOnlyProof:
    """What the store showed about its audit trail: the guards it has (trigger or rule names)
    and whether an UPDATE and a DELETE of it were refused, tried inside a transaction that was
    rolled back (so nothing changed, whatever the answer)."""

    engine: str  # "sqlite" or "postgres"
    guards: tuple[str, ...]
    update_refused: bool
    delete_refused: bool
    refusal: str = ""  # the store's own words when it refused ("audit_log is append-only")


class AuditTrailGuard(Protocol):
    def prove_append_only(self) -> AppendOnlyProof:
        """Read the audit table's guards from the catalogue and try to UPDATE and DELETE its
        rows in a transaction that is always rolled back. Raises StoreUnavailable."""
        ...


def standby_item(uow: UnitOfWork, *, bot: str, engine: str, now: datetime) -> ItemResult:
    """A STANDBY instance that runs this bot and has beaten within two of its intervals now."""
    requirement = "Postgres store, and a STANDBY instance of this bot heartbeating now"
    if engine != "postgres":
        return ItemResult(section=SECTION, item="standby instance", requirement=requirement,
                          figure=f"{engine} store", passed=False,
                          detail="SQLite has no standby: use Postgres (QUANTSHIFT_DATABASE_URL=postgresql://...) and "
                                 "run a second `quantshift paper` beside the first (docs/golive.md, Infrastructure)")
    mine = [s for s in instance_statuses(uow, now=now) if bot in s.instance.bots.split(",")]
    standby = [s for s in mine if s.state == "standby"]
    live = [s for s in mine if s.state == "live"]
    live_text = f"; live: {', '.join(s.instance.instance for s in live)}" if live else "; no live instance"
    if standby:
        best = min(standby, key=lambda s: s.age_seconds)
        return ItemResult(section=SECTION, item="standby instance", requirement=requirement, passed=True,
                          figure=f"standby {best.instance.instance} beat {best.age_seconds:.1f} s ago{live_text}")
    seen = ", ".join(f"{s.instance.instance} {s.state} ({s.age_seconds:.0f} s ago)" for s in mine) or "none"
    return ItemResult(section=SECTION, item="standby instance", requirement=requirement, passed=False,
                      figure=f"no standby heartbeating; instances of {bot}: {seen}",
                      detail=f"start a second `quantshift paper` with {bot} on this Postgres store: it waits as STANDBY")


def alerting_item(uow: UnitOfWork, *, smtp_configured: bool, now: datetime,
                  max_age: timedelta = ALERT_MAX_AGE) -> ItemResult:
    """An alert channel (e-mail: SMTP and saved recipients, e-mail alerts on; or an enabled
    alert channel, application/alerting) and a test alert delivered within `max_age`
    (an ALERT_TEST entry of either: `quantshift alerts test`, `quantshift alerts channels test`)."""
    requirement = f"an alert channel configured and a test alert delivered within {max_age.days} days"
    item = "monitoring and alerting"
    try:
        saved = load_notification_settings(uow.settings)
    except ConfigurationError as exc:
        return ItemResult(section=SECTION, item=item, requirement=requirement, passed=False,
                          figure=f"notification settings unreadable: {exc}",
                          detail="save them again on the admin page (Settings, notifications)")
    try:
        channels = [c for c in load_channels(uow.settings) if c.enabled]
        unreadable = ""
    except ConfigurationError as exc:
        channels, unreadable = [], f"alert channels unreadable: {exc}"
    missing = [what for what, ok in (("no SMTP server ([mail] host / QUANTSHIFT_SMTP_HOST)", smtp_configured),
                                     ("no recipients saved", bool(saved.recipients)),
                                     ("e-mail alerts are off", saved.email_enabled)) if not ok]
    tests = [e for e in uow.audit.list(kind=AuditKind.ALERT_TEST.value, since=now - max_age, limit=_LIMIT)
             if e.data.get("delivered") and e.ts <= now]
    last = tests[-1] if tests else None
    email = f"e-mail to {', '.join(saved.recipients)}" if saved.recipients else ""
    if email and not missing:
        email += f" (min level {saved.min_level.value})"
    listed = f"alert channels {', '.join(f'{c.name} ({c.shown})' for c in channels)}" if channels else unreadable
    channel = "; ".join(part for part in (email, listed) if part) or "no channel"
    tested = (f"test alert delivered {_age(now - last.ts)} ago to {', '.join(map(str, last.data.get('sent_to', [])))}"
              if last else f"no test alert delivered in the last {max_age.days} days")
    configured = not missing or bool(channels)
    if not configured or last is None:
        todo = ("; ".join([*missing, unreadable or "or no alert channel saved (`quantshift alerts channels add`)"])
                if not configured else
                "send one: `quantshift alerts channels test` or `quantshift alerts test` (or the admin page)")
        return ItemResult(section=SECTION, item=item, requirement=requirement, passed=False,
                          figure=f"{channel}; {tested}", detail=todo)
    return ItemResult(section=SECTION, item=item, requirement=requirement, passed=True, figure=f"{channel}; {tested}")


def audit_trail_item(guard: AuditTrailGuard) -> ItemResult:
    """The store's guards present AND refusing an UPDATE and a DELETE of the audit trail."""
    requirement = "the store's triggers present and refusing UPDATE and DELETE of the audit trail"
    proof = guard.prove_append_only()
    refused = [op for op, done in (("UPDATE", proof.update_refused), ("DELETE", proof.delete_refused)) if done]
    allowed = [op for op in ("UPDATE", "DELETE") if op not in refused]
    guards = ", ".join(proof.guards) or "no guard"
    figure = (f"{proof.engine}: {guards}; " + (f"refused {' and '.join(refused)}" if refused else "refused nothing")
              + (f" ({proof.refusal})" if proof.refusal and refused else "")
              + (f"; ALLOWED {' and '.join(allowed)}" if allowed else "") + " (rolled back)")
    passed = bool(proof.guards) and not allowed
    return ItemResult(section=SECTION, item="audit trail append-only", requirement=requirement, figure=figure,
                      passed=passed,
                      detail="" if passed else "the audit trail's triggers are missing or disabled: run "
                                               "`quantshift db upgrade`, and re-enable them (ALTER TABLE audit_log "
                                               "ENABLE TRIGGER ALL on Postgres)")


def _age(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
