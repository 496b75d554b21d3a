"""Every error as RFC 9457 problem JSON, mapped once (house style 9).

Our exceptions map by what the caller must do: fix the input (400), log in (401), ask
someone with more rights (403), retry later (503). A real 500 says nothing about internals.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from application.accounts.accounts import LoginRaced, LoginThrottled, PermissionDenied
from domain.errors import AuthenticationError, ConfigurationError, MailRejected, MailUnavailable, StoreUnavailable
from entrypoints.mail_setup import EmailNotConfigured
from entrypoints.web.dto import FieldProblem, ProblemResponse

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("quantshift.api")

# What each problem status means on this API, for the OpenAPI document.
_WHEN = {
    400: "Invalid input (body, query or path); `errors` names the fields",
    401: "No live session: the bearer token is missing, invalid, expired or revoked (at login: wrong credentials)",
    403: "The caller's role may not do this",
    404: "No such resource (a bot in that account, a strategy, an invitation)",
    409: ("The resource is not in a state that allows this (e.g. an invitation accepted or revoked already; "
          "at login: concurrent logins of the same user took all its sessions, log in again)"),
    413: "The request body is larger than the API accepts",
    415: "The request body is not application/json",
    429: "Too many failed logins from this address for this account; Retry-After says when to try again",
    502: "The mail server did not take the message; `detail` has its answer",
    503: ("The store is unavailable (Retry-After says when to try again), or e-mail is not configured "
          "(`detail` says what to set)"),
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The problem answers a route really gives, for its `responses=`. Litestar documents
    only the success and its own 400 body (application/json, not the problem JSON sent), so
    without this a client (or schemathesis) sees undocumented codes and a wrong 400 schema.
    Routes, controllers and routers can not share `responses` in Litestar 2: each route names its own."""
    return {status: ResponseSpec(data_container=ProblemResponse, media_type=PROBLEM_JSON, description=_WHEN[status],
                                 generate_examples=False)
            for status in statuses}


def problem(status: int, detail: str, *, errors: list[FieldProblem] | None = None,
            headers: dict[str, str] | None = None) -> Response[ProblemResponse]:
    # No documentation URL per problem yet: "about:blank" says "the title is the status' phrase".
    body = ProblemResponse(type="about:blank", title=HTTPStatus(status).phrase, status=status, detail=detail,
                           errors=errors or None)
    if status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="quantshift"', **(headers or {})}
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _http_error(request: Request, exc: HTTPException) -> Response[ProblemResponse]:
    status = exc.status_code
    if status >= 500:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        if status == 500:  # Litestar's own internal error; a deliberate 503 is no defect
            _report(request, exc)
        return problem(status, HTTPStatus(status).phrase)
    errors = None
    if isinstance(exc, ValidationException):
        status = 400  # invalid input is the client's to fix; 422 is not used by this API
        errors = [_field_problem(item) for item in (exc.extra or []) if isinstance(item, dict)] or None
    detail = exc.detail
    if errors:
        detail = f"{exc.detail}: " + "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in errors)
    return problem(status, detail, errors=errors, headers=exc.headers)


# msgspec's words for a body-level problem, as Litestar passes them on under the handler's
# argument name ("data"): said of the field they name, in words without msgspec's markup.
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]*)`")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<field>[^`]*)`")
_NAMED = re.compile(r"(?P<field>[a-z_]+): (?P<message>.+)")
_BODY_ARGUMENT = "data"  # Litestar's name for the request body in a handler's signature


def _field_problem(item: dict) -> FieldProblem:
    """One entry of a 400's `errors`, in the API's terms: the field as the client names it, the
    source as a plain word (Litestar hands over its ParamType enum), no Python repr. A body
    that is missing altogether reaches here as Litestar's KeyError text "'data'"."""
    field = None if item.get("key") is None else str(item["key"])
    source = item.get("source")
    source = None if source is None else str(getattr(source, "value", source))
    message = str(item.get("message", ""))
    if field == _BODY_ARGUMENT and source == "body":
        field = None  # the body as a whole
        if message == repr(_BODY_ARGUMENT):
            message = "a JSON body is required"
        elif found := _MISSING.fullmatch(message):
            field, message = found["field"], "is required"
        elif found := _UNKNOWN.fullmatch(message):
            field, message = found["field"], "is not a field of this request (unknown fields are refused)"
        elif message.startswith("Expected `object`"):
            message = "the body must be a JSON object"
        elif found := _NAMED.fullmatch(message):  # a request type's own check (dto.ReasonRequest)
            field, message = found["field"], found["message"]
    return FieldProblem(field=field, source=source, message=message.replace("`", ""))


def _configuration(_: Request, exc: ConfigurationError) -> Response[ProblemResponse]:
    return problem(400, str(exc))


def _authentication(_: Request, exc: AuthenticationError) -> Response[ProblemResponse]:
    return problem(401, str(exc))


def _permission(_: Request, exc: PermissionDenied) -> Response[ProblemResponse]:
    return problem(403, str(exc))


def _raced(_: Request, exc: LoginRaced) -> Response[ProblemResponse]:
    return problem(409, str(exc))


def _throttled(_: Request, exc: LoginThrottled) -> Response[ProblemResponse]:
    return problem(429, str(exc), headers={"Retry-After": str(exc.retry_after_seconds)})


def _email_not_configured(_: Request, exc: EmailNotConfigured) -> Response[ProblemResponse]:
    # Not the caller's input (400) and not transient: an operator must configure SMTP; no Retry-After.
    return problem(503, str(exc))


def _mail(request: Request, exc: MailUnavailable | MailRejected) -> Response[ProblemResponse]:
    log.warning("%s %s: mail not sent: %s", request.method, request.url.path, exc)
    return problem(502, str(exc))


def _store(request: Request, exc: StoreUnavailable) -> Response[ProblemResponse]:
    log.warning("%s %s: store unavailable: %s", request.method, request.url.path, exc)
    return problem(503, "the store is unavailable; try again shortly", headers={"Retry-After": "5"})


def _unexpected(request: Request, exc: Exception) -> Response[ProblemResponse]:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    _report(request, exc)
    return problem(500, "internal error; the server log has the details")


def _report(request: Request, exc: BaseException) -> None:
    """A 500 is a defect: to the error tracker (create_app's `errors`), with the route, never the
    query string or body (they may hold what a client should not have sent)."""
    reporter = request.app.state.get("error_reporter")
    if reporter is not None:
        params = request.scope.get("path_params") or {}  # none when it failed before routing
        reporter.capture(exc, account=str(params.get("account", "")), bot=str(params.get("bot", "")),
                         extra={"request": f"{request.method} {request.url.path}"})


EXCEPTION_HANDLERS = {
    HTTPException: _http_error,
    ConfigurationError: _configuration,
    AuthenticationError: _authentication,
    PermissionDenied: _permission,
    LoginThrottled: _throttled,
    LoginRaced: _raced,
    EmailNotConfigured: _email_not_configured,
    MailUnavailable: _mail,
    MailRejected: _mail,
    StoreUnavailable: _store,
    Exception: _unexpected,
}
