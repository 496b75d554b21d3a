"""The admin API as a client drives it: a real `quantshift serve` process on a SQLite file
(one per module, with a short paper session behind it), httpx as the client; then the
same smoke once more on Postgres."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import jwt
import pytest

from tests.support.processes import QUANTSHIFT, ServeProcess, free_port, run_quantshift

pytestmark = pytest.mark.e2e

JWT_SECRET = "test-jwt-secret-" + "j" * 32
INVITATION_SECRET = "test-invitation-secret-" + "i" * 32
PASSWORD = "correct horse battery"
USERS = {"viewer": "viewer@example.com", "operator": "operator@example.com", "admin": "admin@example.com"}
PROBLEM = "application/problem+json"


run = run_quantshift  # the name the API modules use


class Server(ServeProcess):
    """One `quantshift serve` process and a client per role (one login each)."""

    def __init__(self, tmp: Path, database_url: str) -> None:
        super().__init__(tmp, database_url=database_url, jwt_secret=JWT_SECRET, invitation_secret=INVITATION_SECRET)
        self.tokens: dict[str, str] = {}

    def prepare(self, roles: dict[str, str]) -> None:
        run(self.env, "paper", "--days", "3", "--json")  # bots, trades and positions to read
        for role, email in roles.items():
            run(self.env, "users", "create", "--email", email, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")

    def start(self) -> None:
        self.launch()
        self.wait_until_up(timeout=60)  # generous: a loaded 2-core CI machine starts slowly

    def login(self, email: str, password: str = PASSWORD, *, address: str = "127.0.0.1") -> httpx.Response:
        """`address`: the client's own loopback address (127.0.0.0/8), which the server sees
        as the peer: the login throttle counts per (account, address)."""
        with httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=60) as client:
            return client.post(f"{self.base}/api/v1/auth/login", json={"email": email, "password": password})

    def fail_until_throttled(self, email: str, password: str) -> httpx.Response:
        """Five wrong logins of one (account, address) pair, each 401, then the throttled answer.

        The exact waits are tested on a fixed clock (tests/unit/domain/test_access.py). On a real
        clock a loaded machine may take longer than the first 1 s wait between two attempts, so
        the 429 is looked for within the next three (the waits double: 1, 2, 4 s)."""
        answers = [self.login(email, password).status_code for _ in range(5)]
        assert answers == [401] * 5
        throttled = next((r for r in (self.login(email, password) for _ in range(3)) if r.status_code != 401), None)
        assert throttled is not None, "no 429 within three attempts after five failures"
        return throttled

    def log_in(self, roles: dict[str, str]) -> None:
        """Logs each role's user in (the password PASSWORD) and keeps its token for `as_role`."""
        for role, email in roles.items():
            response = self.login(email)
            assert response.status_code == 200, response.text
            self.tokens[role] = response.json()["token"]

    def call(self, method: str, path: str, *, token: str | None = None, **kwargs) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.request(method, self.base + path, headers=headers, timeout=30, **kwargs)

    def as_role(self, role: str, method: str, path: str, **kwargs) -> httpx.Response:
        return self.call(method, path, token=self.tokens[role], **kwargs)

    def cli_json(self, *args: str) -> object:
        return json.loads(run(self.env, *args, "--json").stdout)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    srv = Server(tmp, f"sqlite:///{tmp / 'qs.db'}")
    srv.prepare(USERS)
    srv.start()
    try:
        srv.log_in(USERS)
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def a_bot(server) -> tuple[str, str]:
    bots = server.as_role("viewer", "GET", "/api/v1/bots").json()
    assert bots, "the paper session left no bot"
    return bots[0]["account"], bots[0]["bot"]


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["status"] == status and body["title"] and "detail" in body and "type" in body
    return body


# --- authentication ------------------------------------------------------------------------


def test_login_returns_a_bearer_token_and_me_names_the_user(server):
    response = server.login(USERS["operator"])
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900 and body["session_id"].startswith("s-")
    assert isinstance(body["revoked_sessions"], list)
    me = server.call("GET", "/api/v1/auth/me", token=body["token"]).json()
    assert me == {"user_id": me["user_id"], "email": USERS["operator"], "role": "operator",
                  "session_id": body["session_id"]}
    refreshed = server.call("POST", "/api/v1/auth/refresh", token=body["token"])
    assert refreshed.status_code == 200 and refreshed.json()["session_id"] == body["session_id"]
    # This login is done with: log it out (and its refreshed token with it).
    assert server.call("POST", "/api/v1/auth/logout", token=body["token"]).status_code == 204
    assert_problem(server.call("GET", "/api/v1/auth/me", token=body["token"]), 401)  # revoked
    assert_problem(server.call("GET", "/api/v1/auth/me", token=refreshed.json()["token"]), 401)


def test_wrong_password_and_unknown_email_get_the_same_answer(server):
    wrong = server.login(USERS["viewer"], "not the password at all")
    unknown = server.login("nobody@example.com", PASSWORD)
    assert_problem(wrong, 401)
    assert wrong.json() == unknown.json() and unknown.status_code == 401
    assert wrong.json()["detail"] == "invalid email or password"


def test_repeated_failures_are_throttled_with_retry_after(server):
    # An email of its own. Five failures of one (account, address) pair are free; the next
    # attempt of that pair waits (a second, doubling to at most a minute): slowed, not locked out.
    throttled = server.fail_until_throttled("ghost@example.com", "guess number one")
    assert_problem(throttled, 429)
    assert 0 < int(throttled.headers["retry-after"]) <= 60


# Every route x viewer / operator / admin / no token. The write routes are called with an
# empty body: once the guard lets a caller through, validation answers 400, so the table
# shows the permission without halting anything.
MATRIX = [
    # method, path,                                   body, viewer, operator, admin, none
    ("GET", "/api/v1/auth/me", None, 200, 200, 200, 401),
    ("POST", "/api/v1/auth/refresh", None, 200, 200, 200, 401),
    ("GET", "/api/v1/bots", None, 200, 200, 200, 401),
    ("GET", "/api/v1/bots/{account}/{bot}", None, 200, 200, 200, 401),
    ("POST", "/api/v1/bots/{account}/{bot}/halt", {}, 403, 400, 400, 401),
    ("POST", "/api/v1/bots/{account}/{bot}/resume", {}, 403, 400, 400, 401),
    ("POST", "/api/v1/halt", {}, 403, 400, 400, 401),
    ("POST", "/api/v1/resume", {}, 403, 400, 400, 401),
    ("GET", "/api/v1/trades", None, 200, 200, 200, 401),
    ("GET", "/api/v1/positions", None, 200, 200, 200, 401),
    ("GET", "/api/v1/risk", None, 200, 200, 200, 401),
    ("GET", "/api/v1/strategies", None, 200, 200, 200, 401),
    ("GET", "/api/v1/audit", None, 200, 200, 200, 401),
    ("GET", "/api/v1/users", None, 403, 403, 200, 401),
    ("POST", "/api/v1/users", {}, 403, 403, 400, 401),
    ("GET", "/health", None, 200, 200, 200, 200),
    ("GET", "/metrics", None, 200, 200, 200, 200),
    ("GET", "/schema", None, 200, 200, 200, 200),
]


@pytest.mark.parametrize(("method", "path", "body", "viewer", "operator", "admin", "none"), MATRIX,
                         ids=[f"{m} {p}" for m, p, *_ in MATRIX])
def test_role_matrix(server, a_bot, method, path, body, viewer, operator, admin, none):
    url = path.format(account=a_bot[0], bot=a_bot[1])
    kwargs = {"json": body} if body is not None else {}
    for role, expected in (("viewer", viewer), ("operator", operator), ("admin", admin), (None, none)):
        response = server.call(method, url, token=server.tokens[role] if role else None, **kwargs)
        assert response.status_code == expected, f"{role} {method} {url}: {response.status_code} {response.text}"
        if expected >= 400:
            assert response.headers["content-type"].startswith(PROBLEM)
        if expected == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_forged_expired_alg_none_and_garbage_tokens_are_refused(server):
    claims = _claims(server.tokens["admin"])  # a live session's claims
    forged = jwt.encode(claims, "another-secret-of-thirty-two-bytes-or-more", algorithm="HS256")
    past = int(time.time()) - 3600
    expired = jwt.encode({**claims, "iat": past - 900, "nbf": past - 900, "exp": past}, JWT_SECRET, algorithm="HS256")
    alg_none = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    other_audience = jwt.encode({**claims, "aud": "someone-else"}, JWT_SECRET, algorithm="HS256")
    for token in (forged, expired, alg_none, other_audience, "garbage", "a.b.c"):
        assert_problem(server.call("GET", "/api/v1/auth/me", token=token), 401)
    assert_problem(server.call("GET", "/api/v1/auth/me", headers={"Authorization": "Basic YTpi"}), 401)
    assert server.call("GET", "/api/v1/auth/me", token=server.tokens["admin"]).status_code == 200


def test_concurrent_logins_leave_exactly_three_live_sessions(server):
    created = server.as_role("admin", "POST", "/api/v1/users",
                             json={"email": "crowd@example.com", "role": "viewer", "password": PASSWORD})
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "viewer" and "password" not in created.text
    with ThreadPoolExecutor(max_workers=8) as pool:
        # From 8 addresses: 8 attempts of one pair in flight at once would be slowed (each
        # counts as failed until its password is verified).
        answers = list(pool.map(lambda n: server.login("crowd@example.com", address=f"127.0.0.{10 + n}"), range(8)))
    # A login whose session racing logins revoked before it answered says so (409), rather
    # than handing out a dead token (test_api_login_concurrency.py has the race itself).
    assert {r.status_code for r in answers} <= {200, 409}, [r.text for r in answers]
    responses = [r for r in answers if r.status_code == 200]
    assert len(responses) >= 1
    live = [server.call("GET", "/api/v1/auth/me", token=r.json()["token"]).status_code for r in responses]
    assert live.count(200) == min(3, len(responses)), live
    # And everywhere-logout ends the three at once.
    survivor = responses[live.index(200)].json()["token"]
    assert server.call("POST", "/api/v1/auth/logout-all", token=survivor).json() == {"revoked_sessions": 3}
    assert all(server.call("GET", "/api/v1/auth/me", token=r.json()["token"]).status_code == 401 for r in responses)


# --- strict input ----------------------------------------------------------------------------


def test_unknown_fields_wrong_types_and_oversize_bodies_are_refused(server):
    body = assert_problem(server.call("POST", "/api/v1/auth/login",
                                      json={"email": USERS["viewer"], "password": PASSWORD, "admin": True}), 400)
    assert "admin" in body["detail"] and body["errors"]
    body = assert_problem(server.as_role("operator", "POST", "/api/v1/halt", json={"reason": 42}), 400)
    assert body["errors"][0]["field"] == "reason"
    assert_problem(server.as_role("operator", "POST", "/api/v1/halt", json={"reason": "x" * 501}), 400)
    assert_problem(server.call("POST", "/api/v1/auth/login", content=b'{"email": "' + b"a" * 70_000 + b'"}',
                               headers={"content-type": "application/json"}), 413)
    assert_problem(server.call("POST", "/api/v1/auth/login", content=b"email=a&password=b",
                               headers={"content-type": "application/x-www-form-urlencoded"}), 415)
    for limit in ("0", "10000", "-1", "many"):
        body = assert_problem(server.as_role("viewer", "GET", "/api/v1/trades", params={"limit": limit}), 400)
        assert body["errors"][0]["field"] == "limit"


BAD_REQUESTS = [
    ("POST", "/api/v1/auth/login", b"not json"),
    ("POST", "/api/v1/auth/login", b"[]"),
    ("POST", "/api/v1/auth/login", b'{"email": null, "password": null}'),
    ("POST", "/api/v1/auth/login", b'{"email": "' + "\u00e9".encode() * 300 + b'", "password": "x"}'),
    ("POST", "/api/v1/auth/login", b'{"email": "no-at-sign", "password": "x"}'),
    ("POST", "/api/v1/auth/login", b"\xff\xfe"),
    ("POST", "/api/v1/halt", b'{"reason": ""}'),
    ("POST", "/api/v1/users", b'{"email": "x@example.com", "role": "god", "password": "correct horse battery"}'),
    ("POST", "/api/v1/users", b'{"email": "bad", "role": "viewer", "password": "correct horse battery"}'),
    ("GET", "/api/v1/trades?since=yesterday", None),
    ("GET", "/api/v1/trades?offset=-5", None),
    ("GET", "/api/v1/audit?kind=everything", None),
    ("GET", "/api/v1/audit?limit=1000000", None),
    ("GET", "/api/v1/bots/nope/nothing", None),
    ("DELETE", "/api/v1/trades", None),
    ("GET", "/api/v1/../../etc/passwd", None),
]


def test_bad_input_is_a_problem_never_a_500(server):
    for method, path, content in BAD_REQUESTS:
        response = server.as_role("admin", method, path, content=content,
                                  headers={"content-type": "application/json"} if content is not None else {})
        assert 400 <= response.status_code < 500, f"{method} {path}: {response.status_code} {response.text}"
        assert response.headers["content-type"].startswith(PROBLEM), f"{method} {path}"


# --- the kill switch, records, reports ---------------------------------------------------------


def _bot_row(server, account: str, bot: str) -> dict:
    return next(b for b in server.cli_json("status")["bots"] if (b["account"], b["bot"]) == (account, bot))


def test_halt_and_resume_through_the_api_are_what_the_cli_sees(server, a_bot):
    account, bot = a_bot
    halted = server.as_role("operator", "POST", f"/api/v1/bots/{account}/{bot}/halt", json={"reason": "api drill"})
    assert halted.status_code == 200 and halted.json()["actor"] == USERS["operator"]
    row = _bot_row(server, account, bot)
    assert row["trading_state"] == "halted" and row["halt_reason"] == "api drill"
    assert server.as_role("viewer", "GET", f"/api/v1/bots/{account}/{bot}").json()["trading_state"] == "halted"
    resumed = server.as_role("operator", "POST", f"/api/v1/bots/{account}/{bot}/resume", json={"reason": "drill over"})
    assert resumed.status_code == 200
    assert _bot_row(server, account, bot)["trading_state"] == "active"

    assert server.as_role("admin", "POST", "/api/v1/halt", json={"reason": "everything stops"}).status_code == 200
    assert server.cli_json("status")["halt"]["state"] == "halted"
    assert server.as_role("admin", "POST", "/api/v1/resume", json={"reason": "all clear"}).status_code == 200
    status = server.cli_json("status")
    assert status["halt"]["state"] == "active" and {b["trading_state"] for b in status["bots"]} == {"active"}
    audit = server.as_role("viewer", "GET", "/api/v1/audit", params={"kind": "halt", "limit": 10}).json()
    assert {e["data"]["actor"] for e in audit} == {USERS["operator"], USERS["admin"]}


def test_the_api_resume_lifts_the_global_halt_and_re_arms_a_bot_only_when_named(server, a_bot):
    """Issue 13, point 12: the same use case as `quantshift resume`."""
    account, bot = a_bot
    assert server.as_role("operator", "POST", f"/api/v1/bots/{account}/{bot}/halt",
                          json={"reason": "breaker drill"}).status_code == 200
    assert server.as_role("admin", "POST", "/api/v1/halt", json={"reason": "everything stops"}).status_code == 200
    lifted = server.as_role("operator", "POST", "/api/v1/resume", json={"reason": "market ok"})
    assert lifted.status_code == 200 and [s["scope"] for s in lifted.json()] == ["*"]
    assert _bot_row(server, account, bot)["trading_state"] == "halted"  # its own halt holds
    assert_problem(server.as_role("operator", "POST", "/api/v1/resume",
                                  json={"reason": "x", "account": account, "all": True}), 400)
    again = server.as_role("operator", "POST", "/api/v1/resume", json={"reason": "drill over", "account": account})
    assert again.status_code == 200 and [s["scope"] for s in again.json()] == [f"{account}/{bot}"]
    assert _bot_row(server, account, bot)["trading_state"] == "active"


def test_trades_are_paged_and_filtered(server, a_bot):
    everything = server.as_role("viewer", "GET", "/api/v1/trades", params={"limit": 500}).json()
    total = everything["total"]
    assert total == len(everything["items"]) >= 2, "the paper session made too few trades to page"
    first = server.as_role("viewer", "GET", "/api/v1/trades", params={"limit": 1, "offset": 0}).json()
    second = server.as_role("viewer", "GET", "/api/v1/trades", params={"limit": 1, "offset": 1}).json()
    assert (first["total"], first["limit"], first["offset"]) == (total, 1, 0)
    assert first["items"] == everything["items"][:1] and second["items"] == everything["items"][1:2]
    beyond = server.as_role("viewer", "GET", "/api/v1/trades", params={"offset": total}).json()
    assert beyond["items"] == [] and beyond["total"] == total
    one_bot = server.as_role("viewer", "GET", "/api/v1/trades", params={"bot": a_bot[1], "limit": 500}).json()
    assert {t["bot"] for t in one_bot["items"]} <= {a_bot[1]}
    assert one_bot["total"] == sum(t["bot"] == a_bot[1] for t in everything["items"])
    late = everything["items"][-1]["closed_at"]
    since = server.as_role("viewer", "GET", "/api/v1/trades", params={"since": late, "limit": 500}).json()
    assert since["items"] and all(t["closed_at"] >= late for t in since["items"])
    assert server.as_role("viewer", "GET", "/api/v1/trades", params={"strategy": "no-such"}).json()["total"] == 0
    strategy = everything["items"][0]["strategy"]
    by_strategy = server.as_role("viewer", "GET", "/api/v1/trades", params={"strategy": strategy, "limit": 1}).json()
    assert by_strategy["total"] == sum(t["strategy"] == strategy for t in everything["items"]) >= 1
    assert by_strategy["items"] == [t for t in everything["items"] if t["strategy"] == strategy][:1]


def test_positions_risk_strategies_and_bots_return_data(server):
    positions = server.as_role("viewer", "GET", "/api/v1/positions").json()
    assert positions and all({"symbol", "quantity", "average_cost", "unrealized_pnl"} <= p.keys() for p in positions)
    risk = server.as_role("viewer", "GET", "/api/v1/risk").json()
    assert risk["account"] and risk["bots"] and {"drawdown", "equity", "trading_state"} <= risk["bots"][0].keys()
    strategies = server.as_role("viewer", "GET", "/api/v1/strategies").json()
    assert strategies["strategies"]
    bots = server.as_role("viewer", "GET", "/api/v1/bots").json()
    assert {b["state"] for b in bots} == {"stopped"} and all(b["last_heartbeat"] for b in bots)
    users = server.as_role("admin", "GET", "/api/v1/users").json()
    assert set(USERS.values()) <= {u["email"] for u in users} and "argon2" not in json.dumps(users)


def test_audit_kinds_signal_and_risk_find_the_intents_that_carry_them(server):
    signals = server.as_role("viewer", "GET", "/api/v1/audit", params={"kind": "signal", "limit": 1000}).json()
    assert signals and all("signal" in e["data"] for e in signals)
    risk = server.as_role("viewer", "GET", "/api/v1/audit", params={"kind": "risk", "limit": 1000}).json()
    assert risk and all(e["kind"] == "risk" or "checks" in e["data"] for e in risk)


# --- the edges ----------------------------------------------------------------------------------

HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer",
           "content-security-policy": "default-src 'none'; frame-ancestors 'none'"}


def test_security_headers_on_every_response_and_no_cors(server):
    responses = [server.as_role("viewer", "GET", "/api/v1/bots"), server.call("GET", "/api/v1/bots"),
                 server.call("GET", "/no/such/page"), server.call("GET", "/health"),
                 server.login("nobody@example.com", "wrong password here")]
    for response in responses:
        for name, value in HEADERS.items():
            assert response.headers.get(name) == value, (response.request.url, name)
    assert responses[0].headers["cache-control"] == "no-store"
    preflight = server.call("OPTIONS", "/api/v1/bots", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in preflight.headers
    cross = server.as_role("viewer", "GET", "/api/v1/bots", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in cross.headers


def test_schema_is_openapi_json_with_bearer_security(server):
    schema = server.call("GET", "/schema").json()
    assert {"/api/v1/auth/login", "/api/v1/trades", "/api/v1/bots/{account}/{bot}/halt", "/health"} <= schema["paths"].keys()
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    assert schema["paths"]["/api/v1/trades"]["get"]["security"] == [{"BearerToken": []}]


def test_metrics_show_http_traffic_and_bots(server):
    server.as_role("viewer", "GET", "/api/v1/trades")
    text = server.call("GET", "/metrics").text
    assert 'quantshift_http_requests_total{method="GET",route="/api/v1/trades",status="200"}' in text
    assert 'quantshift_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/v1/trades"}' in text
    assert 'quantshift_bots{liveness="stopped"} 2.0' in text
    for name in ("quantshift_bot_equity{", "quantshift_bot_drawdown_ratio{", "quantshift_orders_total{",
                 "quantshift_fills_total{", "quantshift_risk_denials_total{", "quantshift_store_up 1.0"):
        assert name in text, name


def test_serve_refuses_to_start_without_strong_secrets(tmp_path):
    env = {**os.environ, "QUANTSHIFT_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    env.pop("QUANTSHIFT_JWT_SECRET", None)
    env.pop("QUANTSHIFT_INVITATION_SECRET", None)
    for extra, named in (({}, "QUANTSHIFT_JWT_SECRET"),
                         ({"QUANTSHIFT_JWT_SECRET": JWT_SECRET, "QUANTSHIFT_INVITATION_SECRET": "short"},
                          "QUANTSHIFT_INVITATION_SECRET")):
        result = subprocess.run([QUANTSHIFT, "serve", "--port", str(free_port())], env={**env, **extra},
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 2 and named in result.stderr, result.stderr
        assert JWT_SECRET not in result.stderr


# --- Postgres -----------------------------------------------------------------------------------


# The shared Postgres server of conftest.engine_server (its operator is there for this smoke).
@pytest.mark.parametrize("engine_server", ["postgres"], indirect=True)
def test_the_api_smoke_on_postgres(engine_server):
    pg_server = engine_server
    login = pg_server.login(USERS["operator"])
    assert login.status_code == 200, login.text
    pg_server.tokens["operator"] = login.json()["token"]
    assert pg_server.as_role("operator", "GET", "/api/v1/trades").json()["total"] >= 1
    assert pg_server.as_role("operator", "POST", "/api/v1/halt", json={"reason": "pg drill"}).status_code == 200
    assert pg_server.cli_json("status")["halt"]["state"] == "halted"
    assert pg_server.as_role("operator", "POST", "/api/v1/resume", json={"reason": "pg ok"}).status_code == 200
    assert pg_server.cli_json("status")["halt"]["state"] == "active"
    assert_problem(pg_server.login(USERS["operator"], "wrong password!!"), 401)
