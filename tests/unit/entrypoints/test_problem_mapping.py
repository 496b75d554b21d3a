"""The errors the admin endpoints add, as the API answers them (errors.EXCEPTION_HANDLERS on a
real Litestar app): a throttled login 429 with Retry-After, e-mail not configured 503 naming
what to set, a mail server failure 502 with its answer."""

from __future__ import annotations

import pytest
from litestar import get
from litestar.params import FromPath
from litestar.testing import create_test_client

from application.accounts.accounts import LoginThrottled
from domain.errors import MailRejected, MailUnavailable
from entrypoints.mail_setup import SMTP_MISSING, EmailNotConfigured
from entrypoints.web.errors import EXCEPTION_HANDLERS

RAISED: dict[str, Exception] = {
    "throttled": LoginThrottled("too many failed logins; try again in 900 s", retry_after_seconds=900),
    "no-smtp": EmailNotConfigured(SMTP_MISSING),
    "down": MailUnavailable("mail: cannot reach 127.0.0.1:25 (Connection refused)"),
    "refused": MailRejected("mail: recipient refused (550 5.1.1 no such user)"),
}


@get("/raise/{name:str}", sync_to_thread=False)
def raiser(name: FromPath[str]) -> None:
    raise RAISED[name]


@pytest.mark.parametrize(("name", "status", "headers"), [
    ("throttled", 429, {"retry-after": "900"}),
    ("no-smtp", 503, {}),
    ("down", 502, {}),
    ("refused", 502, {}),
])
def test_each_error_is_its_problem(name, status, headers):
    with create_test_client([raiser], exception_handlers=EXCEPTION_HANDLERS) as client:  # type: ignore[arg-type]
        response = client.get(f"/raise/{name}")
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == str(RAISED[name])
    for header, value in headers.items():
        assert response.headers[header] == value
    if name == "no-smtp":
        assert "retry-after" not in response.headers and "www-authenticate" not in response.headers
