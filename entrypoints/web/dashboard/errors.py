"""Errors on dashboard routes are pages, not problem JSON: a login redirect when there is no
live session, otherwise the status with a sentence. Under htmx the answer is a fragment for
the dialog (htmx swaps 4xx there, see base.html's htmx-config), and a lost session sends
HX-Redirect so the whole page goes to the login."""

from __future__ import annotations

import logging
from http import HTTPStatus

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect, Template

from application.accounts.accounts import PermissionDenied
from domain.errors import AuthenticationError, ConfigurationError, StoreUnavailable
from entrypoints.web.dashboard.session import LOGIN_PATH, LoginRequired, is_htmx, login_redirect_target

log = logging.getLogger("quantshift.dashboard")


def _page(request: Request, status: int, message: str, *, headers: dict[str, str] | None = None) -> Response:
    return Template(template_name="_error.html" if is_htmx(request) else "error.html", status_code=status,
                    headers=headers, context={"status": status, "title": f"{status} {HTTPStatus(status).phrase}",
                                              "message": message})


def _login_required(request: Request, _: LoginRequired | AuthenticationError) -> Response:
    if is_htmx(request):
        return Response(content=None, status_code=401, headers={"HX-Redirect": LOGIN_PATH})
    return Redirect(login_redirect_target(request), status_code=303)


def _forbidden(request: Request, exc: PermissionDenied) -> Response:
    return _page(request, 403, f"Your role may not do this ({exc}). Operators and admins may halt and resume.")


def _http(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if status >= 500:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _page(request, status, "The server failed; its log has the details.")
    if isinstance(exc, ValidationException):
        messages = [str(item.get("message")) for item in (exc.extra or []) if isinstance(item, dict)]
        return _page(request, 400, "The request was not understood: " + ("; ".join(messages) or str(exc.detail)))
    return _page(request, status, str(exc.detail), headers=exc.headers)


def _configuration(request: Request, exc: ConfigurationError) -> Response:
    return _page(request, 400, str(exc))


def _store(request: Request, exc: StoreUnavailable) -> Response:
    log.warning("%s %s: store unavailable: %s", request.method, request.url.path, exc)
    return _page(request, 503, "The store is unavailable; try again shortly.", headers={"Retry-After": "5"})


def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return _page(request, 500, "Internal error; the server log has the details.")


DASHBOARD_ERRORS = {
    LoginRequired: _login_required,
    AuthenticationError: _login_required,  # PermissionDenied, its subclass, has its own entry
    PermissionDenied: _forbidden,
    HTTPException: _http,
    ConfigurationError: _configuration,
    StoreUnavailable: _store,
    Exception: _unexpected,
}
