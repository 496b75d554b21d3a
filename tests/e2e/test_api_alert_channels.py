"""The alert-channel endpoints on the real wiring (build_app, a SQLite store, Litestar's test
client): an admin adds channels, lists them without secrets, tests one into a loopback webhook
(ALERT_TEST recorded), removes one; other roles are refused; bad input is a 400 naming the
field, a taken name 409, an unknown one 404, a missing QUANTSHIFT_SECRETS_KEY 503."""

from __future__ import annotations

import contextlib
import json

import pytest
from cryptography.fernet import Fernet
from litestar.testing import TestClient

from adapters.security import Argon2PasswordHasher
from application.accounts.accounts import Accounts
from application.records import Role
from entrypoints.container import build_container
from entrypoints.settings import load_settings
from tests.e2e.test_api_server import INVITATION_SECRET, JWT_SECRET, PASSWORD
from tests.support.receivers import HttpReceiver

pytestmark = pytest.mark.e2e

BASE = "/api/v1/settings/alert-channels"
SECRET = "pa55word9x"
PEOPLE = {Role.ADMIN: "admin@example.com", Role.OPERATOR: "operator@example.com", Role.VIEWER: "viewer@example.com"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # The channel sender reads the process's environment (as `serve` does): the key and env: URLs.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QUANTSHIFT_SECRETS_KEY", Fernet.generate_key().decode())
        with serve(tmp_path_factory.mktemp("channels")) as client:
            yield client


@pytest.fixture
def api(server):
    """The module's server, with no channel saved and no cookie: each test starts clean."""
    server.cookies.clear()
    for channel in call(server, "GET", BASE).json():
        assert call(server, "DELETE", f"{BASE}/{channel['name']}").status_code == 200
    return server


@contextlib.contextmanager
def serve(tmp_path):
    from entrypoints.web.wiring import build_app

    environ = {"QUANTSHIFT_DATABASE_URL": f"sqlite:///{tmp_path / 'qs.db'}", "QUANTSHIFT_JWT_SECRET": JWT_SECRET,
               "QUANTSHIFT_INVITATION_SECRET": INVITATION_SECRET, "QUANTSHIFT_VENUE_DIR": str(tmp_path / "venue"),
               "QUANTSHIFT_PUBLIC_URL": "https://qs.example.com"}
    container = build_container(load_settings(config_file=None, environ=environ))
    accounts = Accounts(uow_factory=container.store(), clock=container.clock(), hasher=Argon2PasswordHasher(),
                        tokens=None, invitations_signer=None)  # type: ignore[arg-type] - creating users needs neither
    for role, email in PEOPLE.items():
        accounts.create_user(email=email, password=PASSWORD, role=role)
    with TestClient(build_app(environ=environ)) as client:
        client.tokens = {role: client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}
                                           ).json()["token"] for role, email in PEOPLE.items()}
        client.db = tmp_path / "qs.db"
        yield client


def call(client, method: str, path: str, *, role: Role = Role.ADMIN, body=None):
    return client.request(method, path, headers={"Authorization": f"Bearer {client.tokens[role]}"}, json=body)


def test_add_list_test_remove(api):
    with HttpReceiver() as hook:
        url = f"json://qs:{SECRET}@127.0.0.1:{hook.port}/alerts"
        added = call(api, "POST", BASE, body={"name": "hook", "url": url, "min_level": "critical",
                                              "quiet_hours": "22:00-07:00", "timezone": "Europe/Paris"})
        assert added.status_code == 201, added.text
        assert added.json() == {"name": "hook", "shown": f"json://127.0.0.1:{hook.port}/…", "secret": "encrypted",
                                "min_level": "critical", "quiet_hours": "22:00-07:00", "timezone": "Europe/Paris",
                                "enabled": True, "note": ""}
        assert call(api, "POST", BASE, body={"name": "ref", "url": "env:QS_UNSET_URL"}).json()["note"].startswith(
            "QS_UNSET_URL is not set here")
        listed = call(api, "GET", BASE)
        assert [c["name"] for c in listed.json()] == ["hook", "ref"] and SECRET not in listed.text

        tested = call(api, "POST", f"{BASE}/hook/test")
        assert tested.status_code == 200, tested.text
        assert tested.json() == {"deliveries": [{"channel": "hook", "delivered": True, "detail": ""}]}
        [request] = hook.wait_for(1)
        assert request.json()["title"] == "[QuantShift INFO] test alert"
        assert "Dashboard: https://qs.example.com/dashboard/" in request.json()["message"]
        every = call(api, "POST", f"{BASE}/test").json()["deliveries"]
        assert [(d["channel"], d["delivered"]) for d in every] == [("hook", True), ("ref", False)]
        assert "QS_UNSET_URL is not set" in every[1]["detail"]

    audit = call(api, "GET", "/api/v1/audit?kind=alert_test", role=Role.VIEWER)
    assert audit.status_code == 200 and SECRET not in audit.text
    assert [(e["data"]["channel"], e["data"]["delivered"]) for e in audit.json()][-3:] == [
        ("hook", True), ("hook", True), ("ref", False)]
    removed = call(api, "DELETE", f"{BASE}/hook")
    assert removed.status_code == 200 and removed.json()["name"] == "hook"
    assert [c["name"] for c in call(api, "GET", BASE).json()] == ["ref"]
    assert SECRET.encode() not in b"".join(p.read_bytes() for p in api.db.parent.glob("qs.db*"))


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER])
def test_only_admins_manage_channels(api, role):
    for method, path, body in (("GET", BASE, None), ("POST", BASE, {"name": "x", "url": "json://127.0.0.1/x"}),
                               ("DELETE", f"{BASE}/x", None), ("POST", f"{BASE}/x/test", None)):
        assert call(api, method, path, role=role, body=body).status_code == 403, (method, path)


@pytest.mark.parametrize("body, field, words", [
    ({"name": "x", "url": "foo://bar"}, "url", "Apprise knows no service foo://"),
    ({"name": "x", "url": "json://127.0.0.1/x", "quiet_hours": "late"}, "quiet_hours", "is not like 22:00-07:00"),
    ({"name": "x", "url": "json://127.0.0.1/x", "timezone": "Mars/Base"}, "timezone", "is not an IANA time zone"),
    ({"name": "x y", "url": "json://127.0.0.1/x"}, "name", ""),
    ({"name": "x", "url": "json://127.0.0.1/x", "min_level": "loud"}, "min_level", ""),
    ({"name": "x", "url": "json://127.0.0.1/x", "password": "p"}, "password", "unknown fields are refused"),
])
def test_bad_input_is_a_400_naming_the_field(api, body, field, words):
    response = call(api, "POST", BASE, body=body)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == [field] and words in json.dumps(problem)


def test_a_taken_name_and_an_unknown_name(api):
    assert call(api, "POST", BASE, body={"name": "x", "url": "json://127.0.0.1/x"}).status_code == 201
    taken = call(api, "POST", BASE, body={"name": "x", "url": "json://127.0.0.1/y"})
    assert taken.status_code == 409 and "exists already" in taken.json()["detail"]
    for method, path in (("DELETE", f"{BASE}/nope"), ("POST", f"{BASE}/nope/test")):
        unknown = call(api, method, path)
        assert unknown.status_code == 404 and "no alert channel named 'nope'" in unknown.json()["detail"]


def test_without_the_secrets_key_adding_a_url_is_a_503_saying_what_to_set(tmp_path, monkeypatch):
    monkeypatch.delenv("QUANTSHIFT_SECRETS_KEY", raising=False)
    with serve(tmp_path) as client:
        response = call(client, "POST", BASE, body={"name": "x", "url": "json://127.0.0.1/x"})
        assert response.status_code == 503
        assert response.json()["detail"].startswith("QUANTSHIFT_SECRETS_KEY is not set")
        assert call(client, "POST", BASE, body={"name": "ref", "url": "env:QS_HOOK"}).status_code == 201


def dashboard_login(client, email: str) -> str:
    client.cookies.clear()
    client.get("/dashboard/login")
    response = client.post("/dashboard/login", data={"email": email, "password": PASSWORD,
                                                     "csrf_token": client.cookies["qs_csrf"]}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client.cookies["qs_csrf"]


PAGE = "/dashboard/settings/notifications"


def test_the_dashboard_page_adds_tests_and_removes_channels(api):
    csrf = dashboard_login(api, PEOPLE[Role.ADMIN])
    assert 'href="/dashboard/settings/notifications"' in api.get("/dashboard").text  # the admin's nav link
    with HttpReceiver() as hook:
        url = f"json://qs:{SECRET}@127.0.0.1:{hook.port}/alerts"
        added = api.post(f"{PAGE}/channels", data={"name": "hook", "url": url, "min_level": "info",
                                                   "quiet_hours": "", "timezone": "UTC", "csrf_token": csrf},
                         follow_redirects=False)
        assert added.status_code == 303 and added.headers["location"] == PAGE
        shown = api.get(PAGE)
        assert shown.status_code == 200 and 'data-channel="hook"' in shown.text
        assert f"json://127.0.0.1:{hook.port}/…" in shown.text and SECRET not in shown.text

        tested = api.post(f"{PAGE}/channels/hook/test", data={"csrf_token": csrf}, follow_redirects=False)
        assert tested.status_code == 303
        assert hook.wait_for(1)[0].json()["title"] == "[QuantShift INFO] test alert"
        assert 'data-test="hook"' in api.get(PAGE).text and "delivered" in api.get(PAGE).text

    refused = api.post(f"{PAGE}/channels", data={"name": "bad", "url": f"foo://{SECRET}", "timezone": "UTC",
                                                 "csrf_token": csrf})
    assert refused.status_code == 400 and "Apprise knows no service foo://" in refused.text
    assert SECRET not in refused.text and 'value="bad"' in refused.text  # the form kept, but for the URL
    taken = api.post(f"{PAGE}/channels", data={"name": "hook", "url": "json://127.0.0.1/x", "csrf_token": csrf})
    assert taken.status_code == 400 and "exists already" in taken.text
    removed = api.post(f"{PAGE}/channels/hook/remove", data={"csrf_token": csrf}, follow_redirects=False)
    assert removed.status_code == 303 and "data-empty" in api.get(PAGE).text
    stale = api.post(f"{PAGE}/channels/test", data={"csrf_token": "forged"})
    assert stale.status_code == 403


def test_the_dashboard_page_is_for_admins_only(api):
    csrf = dashboard_login(api, PEOPLE[Role.OPERATOR])
    assert api.get(PAGE).status_code == 403
    assert api.post(f"{PAGE}/channels", data={"name": "x", "url": "json://127.0.0.1/x", "csrf_token": csrf}
                    ).status_code == 403
    assert "/dashboard/settings/notifications" not in api.get("/dashboard").text
