"""Invitations and alert e-mails end to end: a real `quantshift serve` process configured with
an SMTP server on loopback (aiosmtpd), httpx as the browser and the API client.

An admin invites an address, the real e-mail arrives, the link in it opens an HTML page, the
person sets a password (form and JSON), then logs in; a used or expired link fails. Saved
notification settings make a halt e-mail the saved recipients. Only admins manage either.
"""

from __future__ import annotations

import email
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aiosmtpd.controller import Controller
from litestar.testing import TestClient

from adapters.security import Argon2PasswordHasher
from application.accounts.accounts import Accounts
from application.records import Role
from entrypoints.container import build_container
from entrypoints.settings import load_settings
from tests.e2e.conftest import QUANTSHIFT, fresh_postgres_database
from tests.e2e.test_api_server import INVITATION_SECRET, JWT_SECRET, PASSWORD, Server, assert_problem, run
from tests.support.processes import free_port

pytestmark = pytest.mark.e2e

ADMIN = "admin@example.com"
NEW_PASSWORD = "a brand new pass phrase"
INVALID_LINK = "this invitation link is not valid: it is unknown, expired, revoked or used already"


class Mailbox:
    """An aiosmtpd handler keeping every accepted message; recipients in `refuse` get a 550."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.refuse: set[str] = set()
        self._arrived = threading.Condition()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if address in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self._arrived:
            self.messages.append((list(envelope.rcpt_tos),
                                  email.message_from_bytes(envelope.content, policy=default_policy)))
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def to(self, address: str, *, subject: str = "", count: int = 1, timeout: float = 10) -> list[EmailMessage]:
        """The messages to `address` whose subject contains `subject`, once `count` have arrived.
        (The server sends before it answers, so they are normally here already.)"""
        deadline = time.monotonic() + timeout
        address = address.lower()  # as the server normalises it
        with self._arrived:
            while True:
                found = [m for rcpt, m in self.messages if address in rcpt and subject in str(m["Subject"])]
                if len(found) >= count or time.monotonic() > deadline:
                    return found
                self._arrived.wait(0.1)


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(), server_hostname="smtp.test", ready_timeout=5)
    controller.start()
    box.port = controller.port  # type: ignore[attr-defined]
    yield box
    controller.stop()


def mail_server(tmp: Path, database_url: str, box: Mailbox) -> Server:
    srv = Server(tmp, database_url)
    port = box.port  # type: ignore[attr-defined]
    srv.env.update({"QUANTSHIFT_SMTP_HOST": "127.0.0.1", "QUANTSHIFT_SMTP_PORT": str(port),
                    "QUANTSHIFT_SMTP_FROM": "QuantShift <alerts@quantshift.test>", "QUANTSHIFT_SMTP_SECURITY": "none",
                    "QUANTSHIFT_SMTP_TIMEOUT": "5", "QUANTSHIFT_PUBLIC_URL": srv.base})
    run(srv.env, "users", "create", "--email", ADMIN, "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    srv.start()
    srv.log_in({"admin": ADMIN})
    return srv


@pytest.fixture(scope="module")
def server(tmp_path_factory, mailbox) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("invitations")
    srv = mail_server(tmp, f"sqlite:///{tmp / 'qs.db'}", mailbox)
    try:
        for role in ("viewer", "operator"):
            made = srv.as_role("admin", "POST", "/api/v1/users",
                               json={"email": f"{role}@example.com", "role": role, "password": PASSWORD})
            assert made.status_code == 201, made.text
            srv.tokens[role] = srv.login(f"{role}@example.com").json()["token"]
        yield srv
    finally:
        srv.stop()


def invite(srv: Server, box: Mailbox, address: str, role: str = "operator") -> tuple[dict, str]:
    """Invite `address` as the admin; the invitation and the link from the e-mail it got."""
    response = srv.as_role("admin", "POST", "/api/v1/invitations", json={"email": address, "role": role})
    assert response.status_code == 201, response.text
    [message] = box.to(address, subject="invited")
    text = message.get_body(("plain",)).get_content()
    [link] = re.findall(r"http://\S+", text)
    return response.json(), link


def accept_json(srv: Server, link: str) -> httpx.Response:
    return srv.call("POST", "/api/v1/invitations/accept", json={"token": token_of(link), "password": NEW_PASSWORD})


def token_of(link: str) -> str:
    [token] = parse_qs(urlsplit(link).query, strict_parsing=True)["token"]
    return token


# --- invitations -------------------------------------------------------------------------------


def test_an_invitation_is_mailed_and_accepted_from_the_page_in_a_browser(server, mailbox):
    invitation, link = invite(server, mailbox, "New.Person@Example.com")
    assert set(invitation) == {"invitation_id", "email", "role", "status", "invited_by", "created_at", "expires_at",
                               "accepted_at"}
    assert (invitation["email"], invitation["role"], invitation["status"]) == ("new.person@example.com", "operator",
                                                                               "pending")
    assert link.startswith(f"{server.base}/invitations/accept?token=")
    assert token_of(link) not in str(invitation)

    page = httpx.get(link, timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), page.text
    assert '<form method="post" action="/invitations/accept">' in page.text and "new.person@example.com" in page.text
    assert "<script" not in page.text and page.headers["cache-control"] == "no-store"
    assert "form-action 'self'" in page.headers["content-security-policy"]

    form = {"token": token_of(link), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "typo"}
    differ = httpx.post(f"{server.base}/invitations/accept", data=form, timeout=10)
    assert differ.status_code == 400 and "The two passwords differ." in differ.text
    weak = httpx.post(f"{server.base}/invitations/accept", data={**form, "password": "short", "confirm": "short"},
                      timeout=10)
    assert weak.status_code == 400 and "at least 12 characters" in weak.text and "<form" in weak.text
    accepted = httpx.post(f"{server.base}/invitations/accept", data={**form, "confirm": NEW_PASSWORD}, timeout=10)
    assert accepted.status_code == 200 and "new.person@example.com (operator) is ready" in accepted.text

    login = server.login("new.person@example.com", NEW_PASSWORD)
    assert login.status_code == 200, login.text
    me = server.call("GET", "/api/v1/auth/me", token=login.json()["token"]).json()
    assert (me["email"], me["role"]) == ("new.person@example.com", "operator")

    # The link worked once: the page, the form and the JSON endpoint all refuse it now.
    again = httpx.get(link, timeout=10)
    assert again.status_code == 400 and "not valid" in again.text and "<form" not in again.text
    assert httpx.post(f"{server.base}/invitations/accept", data={**form, "confirm": NEW_PASSWORD},
                      timeout=10).status_code == 400
    reused = assert_problem(accept_json(server, link), 400)
    assert reused["detail"] == INVALID_LINK
    listed = server.as_role("admin", "GET", "/api/v1/invitations").json()
    [row] = [i for i in listed if i["invitation_id"] == invitation["invitation_id"]]
    assert row["status"] == "accepted" and row["accepted_at"]


def test_an_invitation_is_accepted_through_the_json_endpoint_without_a_bearer_token(server, mailbox):
    _, link = invite(server, mailbox, "json.person@example.com", role="viewer")
    accepted = accept_json(server, link)
    assert accepted.status_code == 201, accepted.text
    user = accepted.json()
    assert (user["email"], user["role"], user["verified"]) == ("json.person@example.com", "viewer", True)
    assert server.login("json.person@example.com", NEW_PASSWORD).status_code == 200
    reused = accept_json(server, link)
    forged = server.call("POST", "/api/v1/invitations/accept", json={"token": token_of(link)[:-3] + "AAA",
                                                                      "password": NEW_PASSWORD})
    garbage = server.call("POST", "/api/v1/invitations/accept", json={"token": "garbage", "password": NEW_PASSWORD})
    assert assert_problem(reused, 400) == assert_problem(forged, 400) == assert_problem(garbage, 400)
    assert_problem(server.call("POST", "/api/v1/invitations/accept", json={"token": "x"}), 400)  # no password


def test_a_revoked_invitation_link_stops_working_at_once(server, mailbox):
    invitation, link = invite(server, mailbox, "withdrawn.person@example.com", role="operator")
    path = f"/api/v1/invitations/{invitation['invitation_id']}/revoke"
    revoked = server.as_role("admin", "POST", path)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert assert_problem(accept_json(server, link), 400)["detail"] == INVALID_LINK
    assert httpx.get(link, timeout=10).status_code == 400  # the page says so too
    assert server.login("withdrawn.person@example.com", NEW_PASSWORD).status_code == 401
    assert_problem(server.as_role("admin", "POST", path), 409)  # nothing left to withdraw
    assert_problem(server.as_role("admin", "POST", "/api/v1/invitations/i-unknown/revoke"), 404)
    listed = server.as_role("admin", "GET", "/api/v1/invitations").json()
    assert [i["status"] for i in listed if i["invitation_id"] == invitation["invitation_id"]] == ["revoked"]


def test_the_cli_invites_with_the_same_mailer_and_link(server, mailbox):
    result = run(server.env, "users", "invite", "--email", "shell.person@example.com", "--role", "viewer", "--json")
    assert '"email": "shell.person@example.com"' in result.stdout
    [message] = mailbox.to("shell.person@example.com", subject="invited")
    [link] = re.findall(r"http://\S+", message.get_body(("plain",)).get_content())
    assert httpx.get(link, timeout=10).status_code == 200
    accepted = accept_json(server, link)
    assert accepted.status_code == 201, accepted.text


def test_a_refused_invitation_mail_is_a_502_naming_the_smtp_error(server, mailbox):
    mailbox.refuse.add("bounce@example.com")
    try:
        refused = assert_problem(server.as_role("admin", "POST", "/api/v1/invitations",
                                                json={"email": "bounce@example.com", "role": "viewer"}), 502)
    finally:
        mailbox.refuse.discard("bounce@example.com")
    assert "550" in refused["detail"] and "saved but not e-mailed" in refused["detail"]
    assert_problem(server.as_role("admin", "POST", "/api/v1/invitations",
                                  json={"email": "not-an-address", "role": "viewer"}), 400)
    assert_problem(server.as_role("admin", "POST", "/api/v1/invitations",
                                  json={"email": "x@example.com", "role": "root"}), 400)


# --- notification settings and alert e-mails -----------------------------------------------------


def test_saved_notification_settings_make_a_halt_mail_the_recipients(server, mailbox):
    bad = assert_problem(server.as_role("admin", "PUT", "/api/v1/settings/notifications",
                                        json={"email_enabled": True, "recipients": ["ops@example.com", "nobody"]}), 400)
    assert bad["errors"][0]["field"] == "recipients" and "nobody" in bad["detail"]
    assert_problem(server.as_role("admin", "PUT", "/api/v1/settings/notifications",
                                  json={"email_enabled": True, "recipients": []}), 400)
    assert server.as_role("admin", "GET", "/api/v1/settings/notifications").json() == {
        "email_enabled": False, "recipients": [], "min_level": "warning", "smtp_configured": True}

    wanted = {"email_enabled": True, "recipients": ["ops@example.com", "CTO@example.com"], "min_level": "critical"}
    saved = server.as_role("admin", "PUT", "/api/v1/settings/notifications", json=wanted)
    assert saved.status_code == 200, saved.text
    expected = {**wanted, "recipients": ["ops@example.com", "cto@example.com"], "smtp_configured": True}
    assert saved.json() == expected == server.as_role("admin", "GET", "/api/v1/settings/notifications").json()
    audit = server.as_role("admin", "GET", "/api/v1/audit", params={"kind": "session", "limit": 50}).json()
    [change] = [e for e in audit if e["message"].startswith("notification settings changed")]
    assert change["data"]["actor"] == ADMIN and change["data"]["after"]["recipients"] == expected["recipients"]

    tested = server.as_role("admin", "POST", "/api/v1/settings/notifications/test")
    assert tested.status_code == 200 and tested.json() == {"sent_to": ["ops@example.com", "cto@example.com"]}
    assert mailbox.to("cto@example.com", subject="test alert")

    assert server.as_role("operator", "POST", "/api/v1/halt", json={"reason": "mail drill"}).status_code == 200
    for recipient in expected["recipients"]:
        [alert] = mailbox.to(recipient, subject="HALT (all bots)")
        assert alert["Subject"] == "[QuantShift CRITICAL] HALT (all bots)"
        assert "mail drill (by operator@example.com)" in alert.get_content()
    # A resume is a WARNING: below the saved level, so logged but not mailed.
    assert server.as_role("operator", "POST", "/api/v1/resume", json={"reason": "drill over"}).status_code == 200
    assert mailbox.to("ops@example.com", subject="RESUME", timeout=0.5) == []


def test_a_failing_test_alert_reports_the_smtp_error(server, mailbox):
    settings = {"email_enabled": False, "recipients": ["gone@example.com", "ops2@example.com"]}
    assert server.as_role("admin", "PUT", "/api/v1/settings/notifications", json=settings).status_code == 200
    mailbox.refuse.add("gone@example.com")
    try:
        failed = assert_problem(server.as_role("admin", "POST", "/api/v1/settings/notifications/test"), 502)
    finally:
        mailbox.refuse.discard("gone@example.com")
    assert "gone@example.com" in failed["detail"] and "550" in failed["detail"]
    assert "delivered to ops2@example.com" in failed["detail"]


ADMIN_ONLY = [
    ("GET", "/api/v1/settings/notifications", None),
    ("PUT", "/api/v1/settings/notifications", {"email_enabled": False, "recipients": []}),
    ("POST", "/api/v1/settings/notifications/test", None),
    ("GET", "/api/v1/invitations", None),
    ("POST", "/api/v1/invitations", {"email": "sneaky@example.com", "role": "admin"}),
    ("POST", "/api/v1/invitations/i-000000000000000000000000/revoke", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY, ids=[f"{m} {p}" for m, p, _ in ADMIN_ONLY])
def test_viewers_and_operators_get_403_and_strangers_401(server, method, path, body):
    kwargs = {"json": body} if body is not None else {}
    for role in ("viewer", "operator"):
        assert_problem(server.as_role(role, method, path, **kwargs), 403)
    assert_problem(server.call(method, path, **kwargs), 401)


def test_a_throttled_login_is_429_with_retry_after(server):
    # An email of its own. Per (account, address): the sixth attempt of the pair waits (1 s,
    # doubling to at most 60 s), the same account from another address does not.
    throttled = server.fail_until_throttled("ghost@example.com", "guess number one")
    assert re.fullmatch(r"too many failed logins; try again in \d+ s", assert_problem(throttled, 429)["detail"])
    assert 1 <= int(throttled.headers["retry-after"]) <= 60
    assert_problem(server.login("ghost@example.com", "guess number one", address="127.0.0.2"), 401)


# --- expiry, no SMTP, Postgres ------------------------------------------------------------------


def test_an_expired_link_fails(server, mailbox, tmp_path):
    # The lifetime is configuration ([web] invitation_lifetime); the CLI signs with the server's
    # invitation secret, so a 1-second invitation made there expires on the server too.
    config = tmp_path / "short.toml"
    config.write_text('[web]\ninvitation_lifetime = "1s"\n')
    made = run(server.env, "users", "invite", "--email", "late.person@example.com", "--config", str(config), "--json")
    [message] = mailbox.to("late.person@example.com", subject="invited")
    [link] = re.findall(r"http://\S+", message.get_body(("plain",)).get_content())
    time.sleep(1.1)
    assert httpx.get(link, timeout=10).status_code == 400
    expired = assert_problem(accept_json(server, link), 400)
    assert expired["detail"] == INVALID_LINK
    listed = server.as_role("admin", "GET", "/api/v1/invitations").json()
    [row] = [i for i in listed if i["email"] == "late.person@example.com"]
    assert row["status"] == "expired" and row["invitation_id"] in made.stdout


def test_without_smtp_the_email_features_say_what_to_set(tmp_path):
    """In process (the real wiring and store, Litestar's test client): no second server for a 503."""
    from entrypoints.web.wiring import build_app

    environ = {"QUANTSHIFT_DATABASE_URL": f"sqlite:///{tmp_path / 'qs.db'}", "QUANTSHIFT_JWT_SECRET": JWT_SECRET,
               "QUANTSHIFT_INVITATION_SECRET": INVITATION_SECRET, "QUANTSHIFT_VENUE_DIR": str(tmp_path / "venue")}
    container = build_container(load_settings(config_file=None, environ=environ))
    accounts = Accounts(uow_factory=container.store(), clock=container.clock(), hasher=Argon2PasswordHasher(),
                        tokens=None, invitations_signer=None)  # type: ignore[arg-type] - creating a user needs neither
    accounts.create_user(email=ADMIN, password=PASSWORD, role=Role.ADMIN)
    with TestClient(build_app(environ=environ)) as client:
        token = client.post("/api/v1/auth/login", json={"email": ADMIN, "password": PASSWORD}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        for method, path, body in (("POST", "/api/v1/invitations", {"email": "a@example.com", "role": "viewer"}),
                                   ("POST", "/api/v1/settings/notifications/test", None)):
            response = client.request(method, path, headers=auth, json=body)
            assert response.status_code == 503 and response.headers["content-type"].startswith("application/problem")
            assert response.json()["detail"].startswith("SMTP is not configured: set QUANTSHIFT_SMTP_HOST")
        assert client.get("/api/v1/settings/notifications", headers=auth).json()["smtp_configured"] is False
    refused = subprocess.run([QUANTSHIFT, "users", "invite", "--email", "a@example.com"], env={**os.environ, **environ},
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "SMTP is not configured" in refused.stderr


def test_invite_accept_and_alert_mail_on_postgres(tmp_path, mailbox):
    with fresh_postgres_database("qs_invite") as url:
        srv = mail_server(tmp_path, url, mailbox)
        try:
            _, link = invite(srv, mailbox, "pg.person@example.com")
            accepted = accept_json(srv, link)
            assert accepted.status_code == 201, accepted.text
            assert srv.login("pg.person@example.com", NEW_PASSWORD).status_code == 200
            settings = {"email_enabled": True, "recipients": ["pg.ops@example.com"], "min_level": "warning"}
            assert srv.as_role("admin", "PUT", "/api/v1/settings/notifications", json=settings).status_code == 200
            assert srv.as_role("admin", "POST", "/api/v1/halt", json={"reason": "pg mail drill"}).status_code == 200
            assert mailbox.to("pg.ops@example.com", subject="HALT (all bots)")
            assert srv.as_role("admin", "POST", "/api/v1/resume", json={"reason": "ok"}).status_code == 200
        finally:
            srv.stop()
