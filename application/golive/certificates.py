"""Go-live certificates: a passed checklist, bound to a bot's exact fingerprint, signed off by an admin.

Everything lives in the append-only audit trail (kind GOLIVE): every run of `golive check`
is a "check" entry; a run where every item passed also issues a "certificate" entry (its
figures, who checked, when it expires); an admin's sign-off is an "approval" entry naming the
certificate. Nothing is ever updated, so a certificate and what it rested on cannot be
rewritten afterwards. `live` asks `current_certificate` for the bot's fingerprint of the
moment, and prints `certificate_problems` when there is none.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from application.golive.checklist import ItemResult
from application.golive.probation import demoted_since
from application.ports import UnitOfWork
from application.records import AuditEntry, AuditKind, Role
from domain.errors import RejectedError

# The issue's bound: a certificate's figures (a drill, a backup, a standby) age; a week is the
# default and a month the most any configuration may ask for.
DEFAULT_VALIDITY = timedelta(days=7)
MAX_VALIDITY = timedelta(days=30)
_LIMIT = 100_000  # "all of them": the audit list returns the newest `limit`


class ApprovalRefused(RejectedError):
    """The sign-off is not allowed as asked (no certificate, expired, not an admin, the checker)."""


@attrs.frozen(kw_only=True)
class Certificate:
    certificate_id: str
    bot: str
    fingerprint: str
    items: tuple[ItemResult, ...]
    checked_by: str
    issued_at: datetime
    valid_until: datetime
    broker: str = ""
    approved_by: str | None = None
    approved_at: datetime | None = None

    @property
    def approved(self) -> bool:
        return self.approved_by is not None

    def expired(self, now: datetime) -> bool:
        return now >= self.valid_until

    def to_json(self) -> dict[str, object]:
        return {"certificate_id": self.certificate_id, "bot": self.bot, "fingerprint": self.fingerprint,
                "items": [i.to_json() for i in self.items], "checked_by": self.checked_by,
                "issued_at": self.issued_at.isoformat(), "valid_until": self.valid_until.isoformat(),
                "broker": self.broker, "approved_by": self.approved_by,
                "approved_at": self.approved_at.isoformat() if self.approved_at else None}


def record_check(uow: UnitOfWork, *, bot: str, fingerprint: str, items: Sequence[ItemResult], actor: str,
                 broker: str, now: datetime) -> bool:
    """The "check" entry of one run of the checklist, passed or not; returns whether all passed.
    The caller commits (with the certificate, when there is one: one transaction)."""
    passed = bool(items) and all(i.passed for i in items)
    failed = [i.item for i in items if not i.passed]
    uow.audit.append(AuditEntry(
        ts=now, kind=AuditKind.GOLIVE, bot=bot, severity="info" if passed else "warning",
        message=(f"go-live check of {bot}: every item passed ({len(items)})" if passed
                 else f"go-live check of {bot}: {len(failed)} of {len(items)} items failed: {', '.join(failed)}"),
        data={"event": "check", "fingerprint": fingerprint, "items": [i.to_json() for i in items],
              "passed": passed, "actor": actor, "broker": broker},
    ))
    return passed


def issue_certificate(uow: UnitOfWork, *, bot: str, fingerprint: str, items: Sequence[ItemResult], checked_by: str,
                      broker: str, now: datetime, valid_for: timedelta = DEFAULT_VALIDITY) -> Certificate:
    """A certificate for a checklist where every item passed (anything else is refused: a
    certificate is the statement that all passed). The caller commits."""
    if not items or not all(i.passed for i in items):
        raise ValueError("a certificate needs a checklist where every item passed")
    if not timedelta(0) < valid_for <= MAX_VALIDITY:
        raise ValueError(f"a certificate is valid for 1 to {MAX_VALIDITY.days} days, not {valid_for}")
    certificate = Certificate(
        certificate_id=f"{bot}-{now:%Y%m%dT%H%M%SZ}-{fingerprint[:8]}", bot=bot, fingerprint=fingerprint,
        items=tuple(items), checked_by=checked_by, issued_at=now, valid_until=now + valid_for, broker=broker)
    uow.audit.append(AuditEntry(
        ts=now, kind=AuditKind.GOLIVE, bot=bot, severity="info",
        message=(f"go-live certificate {certificate.certificate_id} for {bot} (fingerprint {fingerprint[:12]}), "
                 f"valid until {certificate.valid_until:%Y-%m-%d %H:%M} UTC; awaiting an admin's approval"),
        data={"event": "certificate", "certificate_id": certificate.certificate_id, "fingerprint": fingerprint,
              "items": [i.to_json() for i in items], "checked_by": checked_by, "issued_at": now.isoformat(),
              "valid_until": certificate.valid_until.isoformat(), "broker": broker},
    ))
    return certificate


def certificates(uow: UnitOfWork, *, bot: str) -> list[Certificate]:
    """Every certificate of the bot, oldest first, each with its approval (the first one) if any."""
    entries = [e for e in uow.audit.list(kind=AuditKind.GOLIVE.value, limit=_LIMIT) if e.bot == bot]
    approvals: dict[str, AuditEntry] = {}
    for entry in entries:
        if entry.data.get("event") == "approval":
            approvals.setdefault(str(entry.data.get("certificate_id")), entry)
    found = []
    for entry in entries:
        if entry.data.get("event") != "certificate":
            continue
        data = entry.data
        approval = approvals.get(str(data["certificate_id"]))
        found.append(Certificate(
            certificate_id=str(data["certificate_id"]), bot=entry.bot, fingerprint=str(data["fingerprint"]),
            items=tuple(ItemResult.from_json(i) for i in data.get("items", [])),  # type: ignore[union-attr]
            checked_by=str(data.get("checked_by", "")), issued_at=datetime.fromisoformat(str(data["issued_at"])),
            valid_until=datetime.fromisoformat(str(data["valid_until"])), broker=str(data.get("broker", "")),
            approved_by=str(approval.data["approved_by"]) if approval else None,
            approved_at=approval.ts if approval else None))
    return found


def latest_certificate(uow: UnitOfWork, *, bot: str) -> Certificate | None:
    found = certificates(uow, bot=bot)
    return found[-1] if found else None


def current_certificate(uow: UnitOfWork, *, bot: str, fingerprint: str, now: datetime,
                        broker: str = "") -> Certificate | None:
    """The newest certificate of the bot for exactly this fingerprint that is approved, not
    expired, issued after the bot's last demotion from live (the demotion is the live record
    contradicting what the certificate rested on) and, given `broker`, checked for that venue
    (the checklist's credentials item is the venue's); None: the bot may not trade real money
    (certificate_problems says why)."""
    return _current(certificates(uow, bot=bot), fingerprint=fingerprint, now=now, broker=broker,
                    demoted=demoted_since(uow, bot=bot))


def _current(found: Sequence[Certificate], *, fingerprint: str, now: datetime, broker: str,
             demoted: datetime | None) -> Certificate | None:
    for certificate in reversed(found):
        if (certificate.fingerprint == fingerprint and certificate.approved and not certificate.expired(now)
                and (demoted is None or certificate.issued_at > demoted)
                and (not broker or certificate.broker == broker)):
            return certificate
    return None


def latest_check(uow: UnitOfWork, *, bot: str) -> AuditEntry | None:
    checks = [e for e in uow.audit.list(kind=AuditKind.GOLIVE.value, limit=_LIMIT)
              if e.bot == bot and e.data.get("event") == "check"]
    return checks[-1] if checks else None


def certificate_problems(uow: UnitOfWork, *, bot: str, fingerprint: str, now: datetime,
                         broker: str = "") -> list[str]:
    """Why the bot has no current certificate, for a person (empty when it has one): the state
    of its newest certificate, then the items its latest check failed."""
    # One read of each (the live session's CertificateWatch asks every few seconds per bot).
    found, demoted = certificates(uow, bot=bot), demoted_since(uow, bot=bot)
    if _current(found, fingerprint=fingerprint, now=now, broker=broker, demoted=demoted) is not None:
        return []
    problems = []
    latest = found[-1] if found else None
    if latest is None:
        problems.append(f"no certificate: run `quantshift golive check --bot {bot}` until every item passes")
    else:
        if latest.fingerprint != fingerprint:
            problems.append(f"issued for fingerprint {latest.fingerprint[:12]}..., the configuration is now "
                            f"{fingerprint[:12]}...: run `quantshift golive check --bot {bot}` again")
        if latest.expired(now):
            problems.append(f"expired on {latest.valid_until:%Y-%m-%d %H:%M} UTC (certificate "
                            f"{latest.certificate_id}): run `quantshift golive check --bot {bot}` again")
        if not latest.approved:
            problems.append(f"not approved: an admin runs `quantshift golive approve --bot {bot}` "
                            f"(certificate {latest.certificate_id})")
        if broker and latest.broker != broker:
            problems.append(f"checked for {latest.broker or 'no venue'}, not {broker} (certificate "
                            f"{latest.certificate_id}): run `quantshift golive check --bot {bot} --broker {broker}`")
        if demoted is not None and latest.issued_at <= demoted:
            problems.append(f"demoted from live on {demoted:%Y-%m-%d %H:%M} UTC, after certificate "
                            f"{latest.certificate_id} was issued: run `quantshift golive check --bot {bot}` again")
    check = latest_check(uow, bot=bot)
    if check is not None and not check.data.get("passed"):
        for item in check.data.get("items", []):  # type: ignore[union-attr]
            result = ItemResult.from_json(item)
            if not result.passed:
                problems.append(f"failed at the latest check ({check.ts:%Y-%m-%d %H:%M} UTC): {result.section} / "
                                f"{result.item}: {result.figure}" + (f" ({result.detail})" if result.detail else ""))
    return problems


def approve_certificate(uow: UnitOfWork, *, bot: str, approver: str, now: datetime,
                        fingerprint: str | None = None) -> Certificate:
    """An admin signs off the bot's newest certificate. Refused (ApprovalRefused, naming why)
    when there is none, it has expired, it is for another configuration than `fingerprint`,
    the approver is no active admin, or, where the store has two or more admins, the approver
    ran the check: four eyes where there are four. Approving an approved certificate returns it
    and records nothing. The caller commits."""
    certificate = latest_certificate(uow, bot=bot)
    if certificate is None:
        raise ApprovalRefused(f"{bot} has no certificate to approve: run `quantshift golive check --bot {bot}` "
                              "until every item passes")
    if certificate.approved:
        return certificate
    if certificate.expired(now):
        raise ApprovalRefused(f"certificate {certificate.certificate_id} expired on "
                              f"{certificate.valid_until:%Y-%m-%d %H:%M} UTC: run the check again")
    if fingerprint is not None and certificate.fingerprint != fingerprint:
        raise ApprovalRefused(f"certificate {certificate.certificate_id} is for fingerprint "
                              f"{certificate.fingerprint[:12]}..., the configuration is now {fingerprint[:12]}...: "
                              "run the check again")
    admins = [u for u in uow.users.list() if u.role is Role.ADMIN and not u.disabled]
    who = approver.strip().lower()
    if not any(u.email == who for u in admins):
        raise ApprovalRefused(f"{approver} is not an active admin of this store: only an admin approves "
                              f"(admins: {', '.join(sorted(u.email for u in admins)) or 'none'}; "
                              "`quantshift users create --role admin` makes one)")
    if len(admins) >= 2 and who == certificate.checked_by.strip().lower():
        raise ApprovalRefused(f"{approver} ran the check of certificate {certificate.certificate_id}: another "
                              "admin approves it (the store has more than one)")
    uow.audit.append(AuditEntry(
        ts=now, kind=AuditKind.GOLIVE, bot=bot, severity="info",
        message=f"go-live certificate {certificate.certificate_id} of {bot} approved by {who}",
        data={"event": "approval", "certificate_id": certificate.certificate_id, "approved_by": who},
    ))
    return attrs.evolve(certificate, approved_by=who, approved_at=now)
