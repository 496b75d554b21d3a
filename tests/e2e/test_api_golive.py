"""The go-live endpoints of a real `quantshift serve` (the shared conftest.engine_server): the
evidence is written into its store beforehand through the audit trail, as the gate, the clock
and the drills write it (past timestamps: an epoch a month old, drills of yesterday), and read
back through the API; the approval goes through the gate's use case; roles and bad input.

Each test works on the configured bot the schemathesis run does not pick (bots[0] of
/api/v1/bots), so a fuzzed check or drill in the same session never becomes its latest record.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from application.golive.checklist import ItemResult
from application.records import AuditEntry, AuditKind
from entrypoints.cli.main import installed_version
from entrypoints.container import build_store
from entrypoints.golive_fingerprint import fingerprints
from entrypoints.settings import load_settings
from tests.e2e.test_api_server import PASSWORD, PROBLEM, assert_problem

pytestmark = pytest.mark.e2e

SQLITE = pytest.mark.parametrize("engine_server", ["sqlite"], indirect=True)
VIEWER, ADMIN2 = "golive-viewer@example.com", "golive-admin2@example.com"


class Deployment:
    """The server, its store opened from the test, and the bot the tests prepare."""

    def __init__(self, srv) -> None:
        self.srv = srv
        self.store = build_store(srv.env["QUANTSHIFT_DATABASE_URL"])
        settings = load_settings(config_file=None, environ=srv.env)
        self.fingerprints = fingerprints(settings, version=installed_version())
        fuzzed = srv.as_role("admin", "GET", "/api/v1/bots").json()[0]["bot"]
        self.bot = next(name for name in self.fingerprints if name != fuzzed)
        self.digest = self.fingerprints[self.bot].digest

    def append(self, *entries: AuditEntry) -> None:
        with self.store() as uow:
            for entry in entries:
                uow.audit.append(entry)
            uow.commit()

    def certificate(self, *, checked_by: str, now: datetime, fingerprint: str | None = None,
                    valid_for: timedelta = timedelta(days=7), passed_items: bool = True) -> str:
        """A passed check and its certificate, as the gate records them; returns the certificate's id."""
        items = [_item("Risk management", "kill switch drilled", "0.412 s to cancel", passed=passed_items),
                 _item("Bot validation", "paper trading days", "31 NYSE sessions", passed=True)]
        certificate_id = f"{self.bot}-{uuid.uuid4().hex[:10]}"
        digest = fingerprint or self.digest
        self.append(
            AuditEntry(ts=now, kind=AuditKind.GOLIVE, bot=self.bot, message="check",
                       data={"event": "check", "fingerprint": digest, "items": [i.to_json() for i in items],
                             "passed": passed_items, "actor": checked_by, "broker": "alpaca"}),
            AuditEntry(ts=now, kind=AuditKind.GOLIVE, bot=self.bot, message="certificate",
                       data={"event": "certificate", "certificate_id": certificate_id, "fingerprint": digest,
                             "items": [i.to_json() for i in items], "checked_by": checked_by,
                             "issued_at": now.isoformat(), "valid_until": (now + valid_for).isoformat(),
                             "broker": "alpaca"}))
        return certificate_id

    def get(self, role: str = "viewer"):
        response = self.srv.as_role(role, "GET", f"/api/v1/golive/{self.bot}")
        assert response.status_code == 200, response.text
        return response.json()


def _item(section: str, item: str, figure: str, *, passed: bool) -> ItemResult:
    return ItemResult(section=section, item=item, requirement="as the plan says", figure=figure, passed=passed,
                      detail="" if passed else "run `quantshift drill killswitch`")


@pytest.fixture
def deployment(engine_server):
    srv = engine_server
    for email, role in ((VIEWER, "viewer"), (ADMIN2, "admin")):
        # Once per server: a second module run on the same session finds them made (400).
        srv.as_role("admin", "POST", "/api/v1/users", json={"email": email, "role": role, "password": PASSWORD})
    if "admin2" not in srv.tokens:
        srv.log_in({"viewer": VIEWER, "admin2": ADMIN2, "operator": "operator@example.com"})
    found = Deployment(srv)
    try:
        yield found
    finally:
        found.store.close()


@pytest.mark.parametrize("engine_server", ["sqlite", "postgres"], indirect=True)
def test_the_evidence_reads_back_and_a_second_admin_approves(deployment):
    d = deployment
    now = datetime.now(UTC)
    month_ago = now - timedelta(days=31)
    d.append(
        AuditEntry(ts=month_ago, kind=AuditKind.VALIDATION, account="paper", bot=d.bot, message="epoch",
                   data={"event": "epoch_started", "epoch": 7, "fingerprint": d.digest, "ingredients": {},
                         "changed": ["params.fast"], "reason": "configuration changed", "actor": "session"}),
        AuditEntry(ts=now - timedelta(days=1), kind=AuditKind.DRILL, account="paper", bot=d.bot, message="drill",
                   data={"drill": "killswitch", "venue": "simulated", "orders_open": 3, "orders_cancelled": 3,
                         "cancel_seconds": 0.412, "last_submission_seconds": None, "submissions_after_1s": 0,
                         "resumed": True, "passed": True, "detail": "every open order (3) cancelled"}),
        AuditEntry(ts=now - timedelta(hours=2), kind=AuditKind.BACKUP, message="verified",
                   data={"event": "verified", "path": "/backups/qs-1.db", "engine": "sqlite",
                         "tables": {"orders": 12}, "sha256": "ab" * 32, "passed": True, "detail": "row by row"}),
    )
    certificate_id = d.certificate(checked_by="admin@example.com", now=now)

    summary = next(b for b in d.srv.as_role("viewer", "GET", "/api/v1/golive").json() if b["bot"] == d.bot)
    assert summary["certificate"]["state"] == "awaiting approval" and summary["certified"] is False
    assert summary["killswitch"]["figures"]["cancel_seconds"] == 0.412 and summary["last_check_passed"] is True
    body = d.get()
    assert body["validation"]["epoch"] == 7 and body["validation"]["current"] is True
    assert body["validation"]["started_at"].startswith(month_ago.isoformat()[:19])
    assert body["validation"]["min_trading_days"] == 30 and body["validation"]["trading_days"] == 0
    assert [i["item"] for i in body["check"]["items"]] == ["kill switch drilled", "paper trading days"]
    assert body["check"]["checked_by"] == "admin@example.com" and body["check"]["items"][0]["figure"] == "0.412 s to cancel"
    assert body["backup_verified"]["passed"] is True and body["backup_verified"]["tables"] == {"orders": 12}
    assert any("not approved" in p for p in body["problems"])

    # Four eyes: the checker may not approve where there are two admins; operators and viewers never.
    url = f"/api/v1/golive/{d.bot}/approve"
    assert_problem(d.srv.as_role("viewer", "POST", url, json={"certificate_id": certificate_id}), 403)
    assert_problem(d.srv.as_role("operator", "POST", url, json={"certificate_id": certificate_id}), 403)
    own = assert_problem(d.srv.as_role("admin", "POST", url, json={"certificate_id": certificate_id}), 409)
    assert "another admin" in own["detail"]
    stale = assert_problem(d.srv.as_role("admin2", "POST", url, json={"certificate_id": "not-the-latest"}), 409)
    assert certificate_id in stale["detail"]
    approved = d.srv.as_role("admin2", "POST", url, json={"certificate_id": certificate_id})
    assert approved.status_code == 200, approved.text
    assert approved.json()["approved_by"] == ADMIN2 and approved.json()["changed"] is True
    again = d.srv.as_role("admin2", "POST", url, json={"certificate_id": certificate_id}).json()
    assert again["changed"] is False

    body = d.get()
    assert body["certified"] is True and body["problems"] == []
    assert body["certificate"]["state"] == "valid" and body["certificate"]["approved_by"] == ADMIN2
    audit = d.srv.as_role("admin", "GET", "/api/v1/audit", params={"kind": "golive", "limit": 1000}).json()
    assert [e["data"]["approved_by"] for e in audit
            if e["data"].get("event") == "approval" and e["data"]["certificate_id"] == certificate_id] == [ADMIN2]


@SQLITE
def test_a_certificate_for_another_configuration_or_expired_is_not_approved(deployment):
    d = deployment
    now = datetime.now(UTC)
    other = d.certificate(checked_by="operator@example.com", now=now, fingerprint="f" * 64)
    body = d.get()
    # (The bot may still hold an earlier approved certificate for its configuration: `certified`
    # is about that, `state` about the latest one.)
    assert body["certificate"]["state"] == "configuration changed" and body["certificate"]["fingerprint"] == "f" * 64
    refused = assert_problem(d.srv.as_role("admin", "POST", f"/api/v1/golive/{d.bot}/approve",
                                           json={"certificate_id": other}), 409)
    assert "configuration" in refused["detail"]
    # Issued eight days ago, valid for seven: the latest, and expired.
    newest = d.certificate(checked_by="operator@example.com", now=now + timedelta(seconds=1) - timedelta(days=8))
    assert d.get()["certificate"]["state"] == "configuration changed"  # `other` is still the latest by time
    newest = d.certificate(checked_by="operator@example.com", now=now + timedelta(seconds=1),
                           valid_for=timedelta(seconds=-10))
    assert d.get()["certificate"]["state"] == "expired"
    body = assert_problem(d.srv.as_role("admin", "POST", f"/api/v1/golive/{d.bot}/approve",
                                        json={"certificate_id": newest}), 409)
    assert "expired" in body["detail"]


@SQLITE
def test_roles_and_bad_input_are_4xx_problems(deployment):
    d = deployment
    srv = d.srv
    assert srv.call("GET", "/api/v1/golive").status_code == 401
    for method, path, body, status in (
        ("GET", "/api/v1/golive/no-such-bot", None, 404),
        ("POST", "/api/v1/golive/no-such-bot/approve", {"certificate_id": "x"}, 404),
        ("POST", f"/api/v1/golive/{d.bot}/approve", {}, 400),
        ("POST", f"/api/v1/golive/{d.bot}/approve", {"certificate_id": ""}, 400),
        ("POST", f"/api/v1/golive/{d.bot}/approve", {"certificate_id": "x", "force": True}, 400),
        ("POST", "/api/v1/drills/killswitch", {"bot": "no-such-bot"}, 404),
        ("POST", "/api/v1/drills/killswitch", {"broker": "nasdaq"}, 400),
    ):
        response = srv.as_role("admin", method, path, json=body) if body is not None else srv.as_role("admin", method, path)
        found = assert_problem(response, status)
        if status == 404:
            assert d.bot in found["detail"]  # names what is configured
    broken = srv.as_role("admin", "POST", f"/api/v1/golive/{d.bot}/approve", content=b"{not json",
                         headers={"content-type": "application/json"})
    assert_problem(broken, 400)
    assert_problem(srv.as_role("viewer", "POST", "/api/v1/drills/killswitch", json={}), 403)
    # No continuous paper session runs behind this server: the drill refuses, records nothing.
    refused = assert_problem(srv.as_role("operator", "POST", "/api/v1/drills/killswitch", json={"bot": d.bot}), 409)
    assert "no running session" in refused["detail"]
    assert srv.call("GET", "/api/v1/golive", token=srv.tokens["viewer"]).headers["content-type"] != PROBLEM


@SQLITE
def test_an_operator_runs_the_check_as_golive_check_does_and_it_is_recorded(deployment):
    """The real checklist (features/golive through `quantshift golive check`), against a server
    that cannot pass it (SQLite: no standby; no 30 days): every item comes back with its figure,
    recorded with the operator as the checker; no certificate."""
    d = deployment
    url = f"/api/v1/golive/{d.bot}/check"
    assert_problem(d.srv.as_role("viewer", "POST", url, json={}), 403)
    other = "alpaca" if d.srv.as_role("admin", "GET", f"/api/v1/golive/{d.bot}").json()["asset_class"] == "crypto" \
        else "coinbase"
    wrong = assert_problem(d.srv.as_role("operator", "POST", url, json={"broker": other}), 400)
    assert other in wrong["detail"]
    response = d.srv.as_role("operator", "POST", url, json={})
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["passed"] is False and run["certificate"] is None and run["seconds"] > 0
    items = run["check"]["items"]
    assert {i["section"] for i in items} == {"Bot validation", "Risk management", "Infrastructure", "Platform"}
    assert run["check"]["checked_by"] == "operator@example.com"
    standby = next(i for i in items if i["section"] == "Infrastructure" and not i["passed"])
    assert standby["figure"] and standby["detail"]
    busy = assert_problem(d.srv.as_role("operator", "POST", url, json={}), 409)
    assert "wait" in busy["detail"]
    body = d.get()
    assert body["check"] == run["check"]  # the page's "as last checked" is this run
