"""Every error as RFC 9457 problem JSON, mapped once (house style 9).

Our exceptions map by what the caller must do: fix the input (400), log in (401), ask
someone with more rights (403), retry later (503). A real 500 says nothing about internals.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from application.accounts import PermissionDenied
from domain.errors import AuthenticationError, ConfigurationError, StoreUnavailable

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("quantshift.api")


def problem(status: int, detail: str, *, errors: list[dict[str, object]] | None = None,
            headers: dict[str, str] | None = None) -> Response[dict[str, object]]:
    phrase = HTTPStatus(status).phrase
    body: dict[str, object] = {
        # No documentation URL per problem yet: "about:blank" says "the title is the status' phrase".
        "type": "about:blank",
        "title": phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    if status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="quantshift"', **(headers or {})}
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _http_error(request: Request, exc: HTTPException) -> Response[dict[str, object]]:
    status = exc.status_code
    if status >= 500:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return problem(status, HTTPStatus(status).phrase)
    errors = None
    if isinstance(exc, ValidationException):
        status = 400  # invalid input is the client's to fix; 422 is not used by this API
        errors = [{"field": item.get("key"), "source": item.get("source"), "message": item.get("message")}
                  for item in (exc.extra or []) if isinstance(item, dict)] or None
    detail = exc.detail
    if errors:
        detail = f"{exc.detail}: " + "; ".join(str(e["message"]) for e in errors)
    return problem(status, detail, errors=errors, headers=exc.headers)


def _configuration(_: Request, exc: ConfigurationError) -> Response[dict[str, object]]:
    return problem(400, str(exc))


def _authentication(_: Request, exc: AuthenticationError) -> Response[dict[str, object]]:
    return problem(401, str(exc))


def _permission(_: Request, exc: PermissionDenied) -> Response[dict[str, object]]:
    return problem(403, str(exc))


def _store(request: Request, exc: StoreUnavailable) -> Response[dict[str, object]]:
    log.warning("%s %s: store unavailable: %s", request.method, request.url.path, exc)
    return problem(503, "the store is unavailable; try again shortly", headers={"Retry-After": "5"})


def _unexpected(request: Request, exc: Exception) -> Response[dict[str, object]]:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return problem(500, "internal error; the server log has the details")


EXCEPTION_HANDLERS = {
    HTTPException: _http_error,
    ConfigurationError: _configuration,
    AuthenticationError: _authentication,
    PermissionDenied: _permission,
    StoreUnavailable: _store,
    Exception: _unexpected,
}
