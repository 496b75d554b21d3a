"""The dashboard over plain HTTP, as a browser's requests reach it: a real `quantshift serve`
process on a SQLite file (a short paper session behind it), httpx as the client.

DashboardServer is shared with test_dashboard_browser.py."""

from __future__ import annotations

import json
import sqlite3
import re
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from tests.support.processes import ServeProcess, run_quantshift

pytestmark = pytest.mark.e2e

JWT_SECRET = "dashboard-jwt-secret-" + "j" * 32
INVITATION_SECRET = "dashboard-invitation-secret-" + "i" * 32
PASSWORD = "correct horse battery"
OPERATOR = "operator@example.com"
VIEWER = "viewer@example.com"


class DashboardServer(ServeProcess):
    """A SQLite file, users on it, and `quantshift serve` reading it."""

    def __init__(self, tmp: Path, *, config: Path | None = None) -> None:
        super().__init__(tmp, database_url=f"sqlite:///{tmp / 'qs.db'}", jwt_secret=JWT_SECRET,
                         invitation_secret=INVITATION_SECRET, config=config)

    def cli(self, *args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        with_config = [*args, "--config", str(self.config)] if self.config and args[0] in ("paper", "status") else args
        return run_quantshift(self.env, *with_config, stdin=stdin, timeout=timeout)

    def create_users(self, users: dict[str, str]) -> None:
        """In parallel: each is a process start plus an argon2 hash."""
        def create(item: tuple[str, str]) -> None:
            self.cli("users", "create", "--email", item[1], "--role", item[0], "--password-stdin",
                     stdin=PASSWORD + "\n")
        with ThreadPoolExecutor(max_workers=len(users)) as pool:
            list(pool.map(create, users.items()))

    def start(self) -> None:
        self.launch()  # the callers prepare the store meanwhile, then wait_until_up

    def wait_until_up(self, *, timeout: float = 30) -> None:
        super().wait_until_up(timeout=timeout)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30, follow_redirects=False)

    def logged_in(self, email: str) -> httpx.Client:
        """A client holding the cookies of a dashboard login (as a browser would)."""
        client = self.client()
        client.get("/dashboard/login")
        response = client.post("/dashboard/login", data={"email": email, "password": PASSWORD,
                                                         "csrf_token": client.cookies["qs_csrf"]})
        assert response.status_code == 303, response.text
        return client

    def api_token(self, email: str) -> str:
        response = httpx.post(f"{self.base}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["token"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dashboard-http")
    srv = DashboardServer(tmp)
    srv.start()
    try:
        # All at once (each is mostly a process start): migrations serialise on the SQLite write lock.
        with ThreadPoolExecutor(max_workers=2) as pool:
            session = pool.submit(srv.cli, "paper", "--bar-seconds", "0.1", "--duration", "1")  # bots, heartbeats
            users = pool.submit(srv.create_users, {"operator": OPERATOR, "viewer": VIEWER})
            session.result()
            users.result()
        srv.wait_until_up()
        yield srv
    finally:
        srv.stop()


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """name -> the whole Set-Cookie line, lower-cased attributes and all."""
    return {line.split("=", 1)[0]: line for line in response.headers.get_list("set-cookie")}


def csp(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


# --- logging in ---------------------------------------------------------------------------------


def test_login_page_renders_with_a_csrf_cookie_and_a_strict_csp(server):
    response = server.client().get("/dashboard/login")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert 'action="/dashboard/login"' in response.text and 'name="csrf_token"' in response.text
    cookie = set_cookies(response)["qs_csrf"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/dashboard" in cookie
    policy = csp(response)
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert "unsafe-eval" not in response.headers["content-security-policy"]
    assert policy["script-src"] == "script-src 'self'" and policy["style-src"] == "style-src 'self'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'" and policy["default-src"] == "default-src 'none'"
    assert response.headers["x-frame-options"] == "DENY" and response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert " style=" not in response.text and "<style" not in response.text


def test_a_bad_password_gets_the_generic_error_and_no_session_cookie(server):
    client = server.client()
    client.get("/dashboard/login")
    answers = []
    for email, password in ((OPERATOR, "not the password at all"), ("nobody@example.com", PASSWORD)):
        response = client.post("/dashboard/login", data={"email": email, "password": password,
                                                         "csrf_token": client.cookies["qs_csrf"]})
        assert response.status_code == 401
        assert "invalid email or password" in response.text and "qs_session" not in set_cookies(response)
        answers.append(re.sub(r'value="[^"]*"', "", response.text))  # the echoed email and token aside
    assert answers[0] == answers[1], "wrong password and unknown email must look the same"
    # Without the form's token the login is refused before any password is checked.
    refused = server.client().post("/dashboard/login", data={"email": OPERATOR, "password": PASSWORD})
    assert refused.status_code == 403 and "qs_session" not in set_cookies(refused)


def test_a_good_login_sets_an_httponly_samesite_strict_cookie(server):
    client = server.client()
    client.get("/dashboard/login")
    before_login = client.cookies["qs_csrf"]
    response = client.post("/dashboard/login", data={"email": OPERATOR, "password": PASSWORD, "next": "/dashboard",
                                                     "csrf_token": before_login})
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    cookies = set_cookies(response)
    session = cookies["qs_session"].lower()
    assert "httponly" in session and "samesite=strict" in session and "path=/dashboard" in session
    assert "secure" not in session  # plain http on loopback; https (or --secure-cookies) adds it
    assert cookies["qs_csrf"].split(";")[0] != f"qs_csrf={before_login}"  # a fresh CSRF token per login
    page = client.get("/dashboard")
    assert page.status_code == 200 and "EMERGENCY HALT" in page.text and OPERATOR in page.text
    assert 'sse-connect="/dashboard/events' in page.text and "data-bot=" in page.text
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert " style=" not in page.text and "<style" not in page.text and "<script>" not in page.text
    # An offsite `next` is never followed.
    other = server.logged_in(OPERATOR)
    again = other.post("/dashboard/login", data={"email": OPERATOR, "password": PASSWORD, "next": "//evil.example/x",
                                                 "csrf_token": other.cookies["qs_csrf"]})
    assert again.headers["location"] == "/dashboard"


def test_pages_redirect_to_the_login_without_a_live_session(server):
    anonymous = server.client()
    for path in ("/dashboard", "/dashboard/bots/paper/equity", "/dashboard/halt"):
        response = anonymous.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/dashboard/login?next=%2Fdashboard"), path
    forged = server.client()
    forged.cookies.set("qs_session", "not.a.token", domain="127.0.0.1", path="/dashboard")
    assert forged.get("/dashboard").status_code == 303
    htmx = anonymous.get("/dashboard/session", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["hx-redirect"] == "/dashboard/login"
    assert anonymous.get("/dashboard/events").status_code == 401


# --- the kill switch ------------------------------------------------------------------------------


def test_halt_needs_the_csrf_token_and_an_operator(server):
    operator = server.logged_in(OPERATOR)
    token = operator.cookies["qs_csrf"]
    htmx = {"HX-Request": "true"}
    refused = operator.post("/dashboard/halt", data={"reason": "no token"}, headers=htmx)
    assert refused.status_code == 403
    wrong = operator.post("/dashboard/halt", data={"reason": "wrong token"}, headers={**htmx, "X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    cross_site = operator.post("/dashboard/halt", data={"reason": "from elsewhere"},
                               headers={**htmx, "X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403
    assert 'data-banner="halted"' not in operator.get("/dashboard").text, "a refused halt halted"

    confirm = operator.get("/dashboard/halt", headers=htmx)
    assert confirm.status_code == 200 and 'name="reason"' in confirm.text and "<html" not in confirm.text
    blank = operator.post("/dashboard/halt", data={"reason": "  "}, headers={**htmx, "X-CSRF-Token": token})
    assert blank.status_code == 400 and "reason" in blank.text

    done = operator.post("/dashboard/halt", data={"reason": "http drill"}, headers={**htmx, "X-CSRF-Token": token})
    assert done.status_code == 200 and "http drill" in done.text
    page = operator.get("/dashboard").text
    assert 'data-banner="halted"' in page and "http drill" in page and OPERATOR in page
    api = httpx.get(f"{server.base}/api/v1/audit", params={"kind": "halt", "limit": 5}, timeout=30,
                    headers={"Authorization": f"Bearer {server.api_token(OPERATOR)}"}).json()
    assert any(e["data"]["reason"] == "http drill" and e["data"]["actor"] == OPERATOR for e in api)

    # A plain form (no htmx): the token comes as a field, the answer is a redirect back.
    resumed = operator.post("/dashboard/resume", data={"reason": "drill over", "csrf_token": token})
    assert resumed.status_code == 303 and resumed.headers["location"] == "/dashboard"
    assert 'data-banner="halted"' not in operator.get("/dashboard").text


def test_a_viewer_sees_no_buttons_and_may_not_halt(server):
    viewer = server.logged_in(VIEWER)
    token = viewer.cookies["qs_csrf"]
    page = viewer.get("/dashboard")
    assert page.status_code == 200 and "EMERGENCY HALT" not in page.text and "Halt…" not in page.text
    assert viewer.get("/dashboard/halt").status_code == 403
    for path in ("/dashboard/halt", "/dashboard/resume", "/dashboard/bots/paper/crypto/halt"):
        response = viewer.post(path, data={"reason": "viewer try"},
                               headers={"HX-Request": "true", "X-CSRF-Token": token})
        assert response.status_code == 403, path
    assert 'data-banner="halted"' not in viewer.get("/dashboard").text


# --- the API is bearer-only ---------------------------------------------------------------------


def test_the_api_ignores_the_dashboard_cookie(server):
    client = server.logged_in(OPERATOR)
    token = client.cookies["qs_session"]
    with_cookie = httpx.get(f"{server.base}/api/v1/bots", headers={"Cookie": f"qs_session={token}"}, timeout=30)
    assert with_cookie.status_code == 401 and with_cookie.headers["www-authenticate"].startswith("Bearer")
    assert with_cookie.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    bearer = httpx.get(f"{server.base}/api/v1/bots", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert bearer.status_code == 200  # the same token, sent the API's way
    schema = httpx.get(f"{server.base}/schema", timeout=30).json()
    assert not [p for p in schema["paths"] if p.startswith("/dashboard") or p.startswith("/static")]


# --- static files, the event stream, the session -------------------------------------------------


def test_static_vendor_files_are_served_with_long_caching(server):
    page = server.logged_in(OPERATOR).get("/dashboard/bots/paper/equity").text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert {"htmx.min.js", "htmx-ext-sse.min.js", "uPlot.iife.min.js", "uPlot.min.css", "dashboard.js",
            "dashboard.css"} <= {a.split("/")[-1].split("?")[0] for a in assets}
    for asset in assets:
        response = httpx.get(server.base + asset, timeout=30)
        assert response.status_code == 200, asset
        assert response.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript",
                                                                  "text/css", "image/svg+xml"), asset
        cache = response.headers["cache-control"]
        assert "max-age=31536000" in cache and "immutable" in cache, asset
    assert httpx.get(f"{server.base}/static/../pyproject.toml", timeout=30).status_code == 404


def test_the_event_stream_pushes_fragments_and_ends_when_the_session_is_revoked(server):
    client = server.logged_in(OPERATOR)
    events: list[str] = []
    with client.stream("GET", "/dashboard/events", params={"account": "paper"}, timeout=15) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        while not {"banner", "cards", "bots", "positions"} <= set(events):
            line = next(lines)
            if line.startswith("event: "):
                events.append(line.removeprefix("event: "))
        # Log out from another request of the same browser: the stream says so and ends.
        logout = server.client()
        logout.cookies = client.cookies
        csrf = client.cookies["qs_csrf"]
        threading.Timer(0.2, lambda: logout.post("/dashboard/logout", data={"csrf_token": csrf})).start()
        started = time.monotonic()
        rest = list(lines)
    assert "event: session-ended" in rest and time.monotonic() - started < 5
    assert client.get("/dashboard").status_code == 303  # the session is gone for pages too


def test_an_open_page_renews_its_cookie(server):
    client = server.logged_in(OPERATOR)
    before = client.cookies["qs_session"]
    time.sleep(1.1)  # tokens carry whole-second times
    response = client.get("/dashboard/session", headers={"HX-Request": "true"})
    assert response.status_code == 204
    renewed = set_cookies(response)["qs_session"]
    assert "httponly" in renewed.lower() and renewed.split(";")[0] != f"qs_session={before}"
    assert client.get("/dashboard").status_code == 200


def test_cards_draw_7_day_sparklines_from_the_stored_daily_snapshots(server):
    """Two earlier days' snapshots of the bots (as the serve job stores them) give each card a
    sparkline; the values are the bots' figures summed per day, drawn as plain SVG."""
    database = server.tmp / "qs.db"
    connection = sqlite3.connect(database, timeout=10)
    try:
        bots = connection.execute("SELECT account, bot FROM accounts").fetchall()
        assert bots, "the paper session left no bot"
        today = datetime.now(timezone.utc).date()
        with connection:
            for days_ago, equity in ((2, "1000"), (1, "1500")):
                day = (today - timedelta(days=days_ago)).isoformat()
                for account, bot in bots:
                    connection.execute(
                        "INSERT OR REPLACE INTO daily_snapshots (day, scope, taken_at, figures) VALUES (?, ?, ?, ?)",
                        (day, f"bot:{account}/{bot}", f"{day}T23:00:00.000000+00:00",
                         json.dumps({"equity": equity, "trades_total": days_ago, "open_positions": 1})))
    finally:
        connection.close()
    page = server.logged_in(OPERATOR).get("/dashboard/")
    assert page.status_code == 200, page.text
    # serve's snapshot job may add today's point too (taken at start), so read the first two.
    equity, trades, positions = (_spark_ys(page.text, card) for card in ("equity", "trades", "positions"))
    assert equity[0] > equity[1]  # rising equity: from lower in the box (y grows downward) to higher
    assert trades[0] < trades[1]  # falling
    assert positions[0] == positions[1]  # the same two days running
    assert " style=" not in page.text


def _spark_ys(page: str, card: str) -> list[float]:
    """The y of each point of a card's sparkline, oldest day first."""
    block = re.search(rf'data-card="{card}".*?</article>', page, re.S).group(0)
    points = re.search(r'<svg class="sparkline".*?<polyline points="([^"]+)"', block, re.S)
    assert points, f"the {card} card has no sparkline"
    ys = [float(pair.split(",")[1]) for pair in points.group(1).split()]
    assert 2 <= len(ys) <= 3, ys
    return ys


# --- the go-live page -------------------------------------------------------------------------------


def test_the_go_live_page_shows_the_evidence_and_only_an_admin_approves(server):
    """A check and its certificate recorded as the gate records them; the page shows every item
    with its figure, the drill, the certificate; the buttons by role; the approval by form."""
    from application.golive.checklist import ItemResult
    from application.records import AuditEntry, AuditKind
    from entrypoints.cli.main import installed_version
    from entrypoints.container import build_store
    from entrypoints.golive_fingerprint import fingerprints
    from entrypoints.settings import load_settings

    admin = "golive-admin@example.com"
    server.create_users({"admin": admin})
    digest = fingerprints(load_settings(config_file=None, environ=server.env), version=installed_version())["crypto"].digest
    now = datetime.now(timezone.utc)
    items = [ItemResult(section="Risk management", item="kill switch drilled", requirement="within 7 days",
                        figure="0.412 s to cancel 3 orders", passed=True),
             ItemResult(section="Infrastructure", item="hot standby", requirement="a STANDBY heartbeating",
                        figure="SQLite: no standby", passed=False, detail="move the store to Postgres")]
    store = build_store(server.env["QUANTSHIFT_DATABASE_URL"])
    try:
        with store() as uow:
            for data in ({"event": "check", "fingerprint": digest, "items": [i.to_json() for i in items],
                          "passed": False, "actor": OPERATOR, "broker": "coinbase"},
                         {"event": "certificate", "certificate_id": "crypto-cert-1", "fingerprint": digest,
                          "items": [], "checked_by": OPERATOR, "issued_at": now.isoformat(),
                          "valid_until": (now + timedelta(days=7)).isoformat(), "broker": "coinbase"}):
                uow.audit.append(AuditEntry(ts=now, kind=AuditKind.GOLIVE, bot="crypto", message="golive", data=data))
            uow.audit.append(AuditEntry(ts=now - timedelta(days=1), kind=AuditKind.DRILL, account="paper", bot="crypto",
                                        message="drill", data={"drill": "killswitch", "venue": "simulated",
                                                               "cancel_seconds": 0.412, "passed": True, "detail": "ok"}))
            uow.commit()
    finally:
        store.close()

    operator = server.logged_in(OPERATOR)
    assert "/dashboard/golive/crypto" in operator.get("/dashboard").text  # linked from the bots list
    page = operator.get("/dashboard/golive/crypto")
    assert page.status_code == 200, page.text
    text = page.text
    assert "0.412 s to cancel 3 orders" in text and "SQLite: no standby" in text and "move the store to Postgres" in text
    assert text.count('data-cell="status">PASS') == 1 and text.count('data-cell="status">FAIL') == 1
    assert "awaiting approval" in text and "cancel_seconds" in text and "Validation clock" in text
    assert 'data-action="drill"' in text and 'data-action="check"' in text and 'data-action="approve"' not in text
    assert " style=" not in text and "<script>" not in text
    panel = operator.get("/dashboard/golive/crypto/panel", headers={"HX-Request": "true"})
    assert panel.status_code == 200 and "<html" not in panel.text and "SQLite: no standby" in panel.text
    # No continuous session runs now: the drill is refused with the reason, nothing recorded.
    drill = operator.post("/dashboard/golive/crypto/drill", data={"csrf_token": operator.cookies["qs_csrf"]})
    assert drill.status_code == 409 and "no running session" in drill.text
    assert operator.get("/dashboard/golive/nobody").status_code == 404
    refused = operator.post("/dashboard/golive/crypto/approve",
                            data={"certificate_id": "crypto-cert-1", "csrf_token": operator.cookies["qs_csrf"]})
    assert refused.status_code == 403

    viewer = server.logged_in(VIEWER)
    seen = viewer.get("/dashboard/golive/crypto").text
    assert "0.412 s to cancel 3 orders" in seen and "data-action=" not in seen
    for action in ("check", "drill", "approve"):
        refused = viewer.post(f"/dashboard/golive/crypto/{action}",
                              data={"certificate_id": "crypto-cert-1", "csrf_token": viewer.cookies["qs_csrf"]})
        assert refused.status_code == 403, action

    boss = server.logged_in(admin)
    assert 'data-action="approve"' in boss.get("/dashboard/golive/crypto").text
    no_token = boss.post("/dashboard/golive/crypto/approve", data={"certificate_id": "crypto-cert-1"})
    assert no_token.status_code == 403
    approved = boss.post("/dashboard/golive/crypto/approve",
                         data={"certificate_id": "crypto-cert-1", "csrf_token": boss.cookies["qs_csrf"]})
    assert approved.status_code == 303 and approved.headers["location"] == "/dashboard/golive/crypto"
    after = boss.get("/dashboard/golive/crypto").text
    assert 'data-cell="certificate-state">valid' in after and admin in after and 'data-action="approve"' not in after
