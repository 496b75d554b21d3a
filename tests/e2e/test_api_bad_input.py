"""Bad input at the admin API of a real `quantshift serve`, on SQLite and on Postgres (the
shared conftest.engine_server): control characters in bodies, paths and query values, JSON
nested too deep, tokens with absurd times, and error bodies that show nothing internal.

Seen before: on Postgres `{"reason":"x\\u0000y"}` to /api/v1/halt answered 500 and the halt
was not stored (the kill switch did not engage); 15 of 18 endpoints answered 500 to a NUL in
a path or query value; JSON 1,000 deep answered 500, on the unauthenticated login too; a
signed token with a huge `exp` answered 500; errors read `'data'`, `ParamType.QUERY` and the
CLI's `(--reason TEXT)`."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import jwt
import pytest

from tests.e2e.test_api_server import JWT_SECRET, PROBLEM, USERS

pytestmark = pytest.mark.e2e

CONTROL_CHARACTERS = ["\x00", "\x1b", "\x7f", "\x85"]
# What an error body must never show: Python reprs and types, library names, CLI flags, tracebacks.
LEAKS = re.compile(r"'data'|ParamType|Traceback|File \"|msgspec|psycopg|sqlite3|litestar|KeyError|ValueError|"
                   r"typing\.|<class|Decimal\(|--[a-z]|\(--|`|\bNone\b")


def halt_state(srv) -> str:
    """The global halt as the CLI reads it from the store (None: never halted)."""
    return (srv.cli_json("status")["halt"] or {}).get("state", "active")


def problem_of(response: httpx.Response, status: int = 400) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert not LEAKS.search(response.text), response.text
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in body["detail"]), body["detail"]
    return body


def test_a_nul_in_a_halt_reason_is_a_400_and_the_kill_switch_still_engages(engine_server):
    srv = engine_server
    for reason in ("x\u0000y", "stop\u001b[31m", "x\u0085"):
        body = problem_of(srv.as_role("admin", "POST", "/api/v1/halt", json={"reason": reason}))
        assert body["errors"] == [{"field": "reason", "source": "body", "message": body["errors"][0]["message"]}]
        assert "control character U+" in body["errors"][0]["message"]
    assert halt_state(srv) == "active"
    # Tab and line breaks are free text: a reason may span lines.
    halted = srv.as_role("admin", "POST", "/api/v1/halt", json={"reason": "feed froze\n\tsee the log"})
    assert halted.status_code == 200, halted.text
    assert halt_state(srv) == "halted"
    resumed = srv.as_role("admin", "POST", "/api/v1/resume", json={"reason": "drill over"})
    assert resumed.status_code == 200, resumed.text


def _operations(srv) -> list[tuple[str, str, list[dict]]]:
    schema = srv.call("GET", "/schema/openapi.json").json()
    return [(method.upper(), path, [p for p in definition.get("parameters", []) if p["in"] in ("path", "query")])
            for path, item in schema["paths"].items() for method, definition in item.items()
            if method in ("get", "post", "put", "delete", "patch")]


def test_control_characters_in_every_path_and_query_value_are_a_400_naming_it(engine_server):
    srv = engine_server
    tried = 0
    for method, path, parameters in _operations(srv):
        for parameter in parameters:
            for char in CONTROL_CHARACTERS:
                value = quote(f"a{char}b", safe="")
                url = re.sub(r"\{[^}]+\}", "x", path)
                if parameter["in"] == "path":
                    url = path.replace("{" + parameter["name"] + "}", value)
                    url = re.sub(r"\{[^}]+\}", "x", url)
                else:
                    url = f"{url}?{parameter['name']}={value}"
                response = srv.as_role("admin", method, url, json={"reason": "fuzz"} if method != "GET" else None)
                body = problem_of(response)
                assert body["errors"][0]["field"] == parameter["name"], (method, url, body)
                assert body["errors"][0]["source"] == parameter["in"], (method, url, body)
                tried += 1
    assert tried >= 40, tried  # the schema lost its parameters?
    assert halt_state(srv) == "active"


def test_json_nested_too_deep_is_a_400_also_on_the_unauthenticated_login(engine_server):
    srv = engine_server
    deep = b'{"email": ' + b"[" * 1000 + b"]" * 1000 + b', "password": "x"}'
    for path, token in (("/api/v1/auth/login", None), ("/api/v1/halt", srv.tokens["admin"])):
        body = problem_of(srv.call("POST", path, token=token, content=deep,
                                   headers={"content-type": "application/json"}))
        assert "nested deeper than 32" in body["detail"]
    just_deep_enough = b'{"reason": ' + b"[" * 31 + b"]" * 31 + b"}"
    body = problem_of(srv.as_role("admin", "POST", "/api/v1/halt", content=just_deep_enough,
                                  headers={"content-type": "application/json"}))
    assert body["errors"][0]["field"] == "reason"  # decoded, then refused as not a string
    assert srv.login(USERS["admin"]).status_code == 200


def test_a_correctly_signed_token_with_an_absurd_time_is_a_401(engine_server):
    srv = engine_server
    claims = jwt.decode(srv.tokens["admin"], options={"verify_signature": False})
    for changes in ({"exp": 10**20}, {"iat": 10**20}, {"nbf": -(10**20)}, {"exp": 10**400}):
        token = jwt.encode({**claims, **changes}, JWT_SECRET, algorithm="HS256")
        body = problem_of(srv.call("GET", "/api/v1/auth/me", token=token), 401)
        assert "is not a time" in body["detail"]


BAD_REQUESTS = [
    ("POST", "/api/v1/halt", None),  # no body at all
    ("POST", "/api/v1/halt", b"{}"),
    ("POST", "/api/v1/halt", b'{"reason": "   "}'),
    ("POST", "/api/v1/halt", b'{"reason": 42}'),
    ("POST", "/api/v1/halt", b'{"reason": "ok", "actor": "root"}'),
    ("POST", "/api/v1/halt", b"null"),
    ("POST", "/api/v1/halt", b"not json"),
    ("POST", "/api/v1/resume", b'{"reason": "\\t"}'),
    ("POST", "/api/v1/bots/{account}/{bot}/stop", b'{"reason": " "}'),
    ("POST", "/api/v1/bots/{account}/{bot}/halt", b'{"reason": "\\u0000"}'),
    ("POST", "/api/v1/auth/login", b'{"email": "a@example.com"}'),
    ("POST", "/api/v1/auth/login", b'{"email": "a@example.com", "password": "x", "\\u0000": 1}'),
    ("POST", "/api/v1/users", b'{"email": "x@example.com", "role": "god", "password": "correct horse battery"}'),
    ("PUT", "/api/v1/settings/notifications", b'{"email_enabled": "yes", "recipients": []}'),
    ("GET", "/api/v1/trades?limit=0", None),
    ("GET", "/api/v1/trades?limit=many", None),
    ("GET", "/api/v1/trades?since=yesterday", None),
    ("GET", "/api/v1/audit?kind=everything", None),
    ("GET", "/api/v1/audit?limit=1000000", None),
]


def test_error_bodies_name_the_field_and_show_nothing_internal(engine_server):
    srv = engine_server
    bot = srv.as_role("admin", "GET", "/api/v1/bots").json()[0]
    for method, path, content in BAD_REQUESTS:
        url = path.format(account=bot["account"], bot=bot["bot"])
        response = srv.as_role("admin", method, url, content=content,
                               headers={"content-type": "application/json"} if content is not None else {})
        body = problem_of(response)
        for error in body.get("errors") or []:
            assert error["source"] in ("body", "query", "path"), (url, body)
            assert error["message"], (url, body)
    named = problem_of(srv.as_role("admin", "POST", "/api/v1/halt", content=b"{}",
                                   headers={"content-type": "application/json"}))
    assert named["errors"] == [{"field": "reason", "source": "body", "message": "is required"}]
    blank = problem_of(srv.as_role("admin", "POST", "/api/v1/halt", json={"reason": "  "}))
    assert blank["errors"][0]["field"] == "reason" and "text" in blank["errors"][0]["message"]
    query = problem_of(srv.as_role("admin", "GET", "/api/v1/trades", params={"limit": "0"}))
    assert query["errors"][0] == {"field": "limit", "source": "query", "message": query["errors"][0]["message"]}
    assert halt_state(srv) == "active"
