"""Logging in and out from a browser: a plain form (it works without JavaScript) in front of
Accounts.login / Accounts.logout; the token goes into the session cookie, never into the page.

Accounts' failures are generic by design ("invalid email or password", or the throttle's
"too many failed logins; try again in N s"): the page shows them as they are, and which
emails exist stays unknown. The login form is CSRF-protected too (a token set with the form),
so no other site can log a browser into an account of its choosing.
"""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template

from domain.access import MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH
from domain.errors import AuthenticationError
from entrypoints.web.dashboard.session import (
    LOGIN_PATH, DashboardSettings, LoginRequired, SettingsDep, authenticate, cleared_cookies, csrf_cookie, csrf_from,
    is_https, new_csrf_token, safe_next, session_cookies,
)
from entrypoints.web.deps import AccountsDep
from entrypoints.web.security import client_address

_THROTTLED = "too many failed logins"  # Accounts' wording for a throttled login


class LoginForm(msgspec.Struct, kw_only=True):
    email: Annotated[str, msgspec.Meta(max_length=MAX_EMAIL_LENGTH)] = ""
    password: Annotated[str, msgspec.Meta(max_length=MAX_PASSWORD_LENGTH)] = ""
    next: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    csrf_token: Annotated[str, msgspec.Meta(max_length=200)] = ""


FormBody = Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)]


def _login_page(request: Request, settings: DashboardSettings, *, next_path: str, email: str = "",
                error: str | None = None, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    csrf = csrf_from(request) or new_csrf_token()
    response = Template(template_name="login.html", status_code=status_code, headers=headers,
                        context={"csrf": csrf, "next": next_path, "email": email, "error": error})
    # The pre-login CSRF token; login replaces it with a fresh one.
    response.set_cookie(csrf_cookie(csrf, secure=is_https(request, settings)))
    return response


class LoginController(Controller):
    path = "/"

    @get("/login", sync_to_thread=True)
    def login_page(self, request: Request, dashboard: SettingsDep, accounts: AccountsDep,
                   next: Annotated[str | None, Parameter(max_length=2000)] = None) -> Response:
        try:
            authenticate(request, accounts)
            return Redirect(safe_next(next))  # logged in already
        except LoginRequired:
            return _login_page(request, dashboard, next_path=safe_next(next))

    @post("/login", status_code=303)
    async def login(self, request: Request, data: FormBody, dashboard: SettingsDep,
                    accounts: AccountsDep) -> Response:
        try:
            result = await anyio.to_thread.run_sync(lambda: accounts.login(
                email=data.email, password=data.password, address=client_address(request),
                user_agent=request.headers.get("user-agent", "")))
        except AuthenticationError as exc:
            throttled = str(exc).startswith(_THROTTLED)
            wait = getattr(exc, "retry_after_seconds", None)  # LoginThrottled's own wait
            return _login_page(request, dashboard, next_path=safe_next(data.next), email=data.email, error=str(exc),
                               status_code=429 if throttled else 401,
                               headers={"Retry-After": str(wait)} if throttled and wait else None)
        response = Redirect(safe_next(data.next), status_code=303)
        for cookie in session_cookies(result.token, csrf=new_csrf_token(), secure=is_https(request, dashboard)):
            response.set_cookie(cookie)
        return response

    @post("/logout", status_code=303)
    async def logout(self, request: Request, dashboard: SettingsDep, accounts: AccountsDep) -> Response:
        """End this session (its tokens stop working at once) and forget the cookies."""
        try:
            viewer = await anyio.to_thread.run_sync(authenticate, request, accounts)
            await anyio.to_thread.run_sync(accounts.logout, viewer.principal)
        except LoginRequired:
            pass  # nothing live to end; the cookies go all the same
        response = Redirect(LOGIN_PATH, status_code=303)
        for cookie in cleared_cookies(secure=is_https(request, dashboard)):
            response.set_cookie(cookie)
        return response

