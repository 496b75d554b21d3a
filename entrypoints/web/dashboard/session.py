"""Who is looking at the dashboard: the session cookie and the CSRF double-submit token.

The session cookie holds the same short-lived JWT the API hands out (Accounts.login); it is
HttpOnly (no script can read it), SameSite=Strict (no other site's page can make the browser
send it) and scoped to /dashboard, so the API under /api/v1 never even receives it (and
ignores cookies anyway: bearer only, hence no CSRF there). Every authenticated page re-issues
the token (Accounts.refresh) and an open page asks for that every few minutes, so a page left
open stays logged in while its session (12 h) is live, one left alone is logged out when its
token expires (15 min), and a revoked session ends at the next request.

CSRF: a random token per login in a second HttpOnly cookie; every POST under /dashboard
must echo it in the X-CSRF-Token header (htmx, from hx-headers) or the csrf_token form field
(plain forms), compared in constant time. A browser that says the POST comes from another
site (Sec-Fetch-Site) is refused before the token is even looked at.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import quote

import anyio.to_thread
import attrs
from jinja2 import Environment
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException
from litestar.di import NamedDependency
from litestar.params import SkipValidation

from application.accounts.accounts import Accounts, Principal
from domain.access import Action, allowed
from domain.errors import AuthenticationError
from entrypoints.web.security import DASHBOARD_PATH

SESSION_COOKIE = "qs_session"
CSRF_COOKIE = "qs_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
LOGIN_PATH = f"{DASHBOARD_PATH}/login"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@attrs.frozen(kw_only=True)
class DashboardSettings:
    """`secure_cookies`: always mark the cookies Secure (set it when a TLS proxy terminates
    https and does not say so); without it they are Secure when the request is https,
    directly or per X-Forwarded-Proto from a trusted proxy."""

    templates: Environment
    secure_cookies: bool = False
    trust_proxy: bool = False
    poll_seconds: float = 1.0  # how often the event stream looks at the store
    keepalive_seconds: float = 15.0  # a comment after this long without an event keeps proxies from timing out
    stream_seconds: float = 30.0  # a stream ends (the browser reconnects by itself) so a server can shut down


class LoginRequired(Exception):
    """No live session behind the request: the page answers with the login page."""


class CsrfRejected(HTTPException):
    status_code = 403


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def is_https(request: Request, settings: DashboardSettings) -> bool:
    if settings.secure_cookies or request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
    return settings.trust_proxy and forwarded == "https"


def _cookie(key: str, value: str, *, secure: bool, max_age: int | None = None) -> Cookie:
    # No max_age on a live cookie: it lasts until the browser closes; the session's own expiry bounds it anyway.
    return Cookie(key=key, value=value, path=DASHBOARD_PATH, httponly=True, samesite="strict", secure=secure,
                  max_age=max_age)


def session_cookies(token: str, *, csrf: str, secure: bool) -> list[Cookie]:
    return [_cookie(SESSION_COOKIE, token, secure=secure), csrf_cookie(csrf, secure=secure)]


def csrf_cookie(csrf: str, *, secure: bool) -> Cookie:
    return _cookie(CSRF_COOKIE, csrf, secure=secure)


def cleared_cookies(*, secure: bool) -> list[Cookie]:
    return [_cookie(SESSION_COOKIE, "", secure=secure, max_age=0), _cookie(CSRF_COOKIE, "", secure=secure, max_age=0)]


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_from(request: Request) -> str:
    """The CSRF token the browser holds (empty if none)."""
    return request.cookies.get(CSRF_COOKIE, "")


async def check_csrf(request: Request) -> None:
    """before_request of the dashboard router: every state-changing request proves it came
    from one of our own pages."""
    if request.method in _SAFE_METHODS:
        return
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise CsrfRejected(detail="cross-site request refused")
    expected = csrf_from(request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        sent = (await request.form()).get(CSRF_FIELD)
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRejected(detail="the form is stale or did not come from this dashboard; reload the page and retry")


@attrs.frozen(kw_only=True)
class Viewer:
    """The authenticated person and what the page needs to know about them."""

    principal: Principal
    token: str  # a fresh token for the same session, re-issued into the cookie
    csrf: str

    @property
    def can_control(self) -> bool:
        return allowed(self.principal.role, Action.HALT)


def authenticate(request: Request, accounts: Accounts) -> Viewer:
    """Sync (reads the store): the viewer behind the cookie, or LoginRequired."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        raise LoginRequired
    try:
        principal = accounts.authenticate(token)
    except AuthenticationError:
        raise LoginRequired from None
    return Viewer(principal=principal, token=accounts.refresh(principal), csrf=csrf_from(request) or new_csrf_token())


async def provide_viewer(request: Request) -> Viewer:
    """The dependency of every authenticated dashboard route (store read off the event loop)."""
    return await anyio.to_thread.run_sync(authenticate, request, request.app.state.accounts)


def with_session(response: Response, request: Request, viewer: Viewer, settings: DashboardSettings) -> Response:
    """The response with the refreshed session cookie (and the CSRF cookie it echoes)."""
    for cookie in session_cookies(viewer.token, csrf=viewer.csrf, secure=is_https(request, settings)):
        response.set_cookie(cookie)
    return response


def login_redirect_target(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{LOGIN_PATH}?next={quote(here, safe='')}" if request.method == "GET" else LOGIN_PATH


def safe_next(value: str | None) -> str:
    """Only a dashboard path: never an absolute URL or a scheme-relative `//host` one."""
    if value and value.startswith(DASHBOARD_PATH) and not value.startswith(LOGIN_PATH) and "\\" not in value \
            and not value.startswith("//"):
        return value
    return DASHBOARD_PATH


# Injected values skip validation: they are made by us, not sent by the client.
SettingsDep = NamedDependency[SkipValidation[DashboardSettings]]
ViewerDep = NamedDependency[SkipValidation[Viewer]]
