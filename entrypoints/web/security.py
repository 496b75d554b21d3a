"""Who is asking and may they: the bearer guard, the client address, the response headers.

Every route under /api/v1 is guarded unless its handler says `opt={"public": True}` (the
login only). The guard authenticates the token against its live session (Accounts) and
checks the handler's `opt["action"]` (READ unless said otherwise) against the role.
"""

from __future__ import annotations

import anyio.to_thread
from litestar.connection import ASGIConnection, Request
from litestar.exceptions import ClientException, NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Message, Scope

from application.accounts.accounts import Accounts, Principal
from domain.access import Action

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    # A JSON API loads nothing and is framed by nobody.
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
)
BEARER_SCHEME = "BearerToken"  # the OpenAPI security scheme's name
DASHBOARD_PATH = "/dashboard"
# The dashboard's pages load their own scripts, styles and event stream and nothing else; no
# inline script or style anywhere (htmx's indicator styles are switched off in its meta config).
DASHBOARD_CSP = (b"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
                 b"form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


async def require_principal(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """The guard of every /api/v1 route: 401 without a live session, 403 without the right."""
    if handler.opt.get("public"):
        return
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise NotAuthorizedException("a bearer token is required (Authorization: Bearer <token>)")
    accounts: Accounts = connection.app.state.accounts
    # authenticate reads the store: off the event loop, like every store call here.
    principal = await anyio.to_thread.run_sync(accounts.authenticate, token)
    principal.require(handler.opt.get("action", Action.READ))
    connection.state.principal = principal


def provide_principal(request: Request) -> Principal:
    """The authenticated caller, for handlers that need to know who (set by the guard)."""
    return request.state.principal


def client_address(request: Request) -> str:
    """The peer address from the ASGI scope. X-Forwarded-For counts only when the app is
    told it sits behind a trusted proxy; then the last hop (what that proxy saw) is used,
    since everything left of it was written by the client and proves nothing."""
    peer = request.client.host if request.client else ""
    if request.app.state.trust_proxy:
        forwarded = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
        if forwarded:
            return forwarded[-1]
    return peer


async def add_security_headers(message: Message, scope: Scope) -> None:
    """before_send hook: runs for every response, routing errors (404, 405) included."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers", []))
    present = {name.lower() for name, _ in headers}
    path = scope.get("path", "")
    dashboard = path == DASHBOARD_PATH or path.startswith(DASHBOARD_PATH + "/")
    for name, value in SECURITY_HEADERS:
        if name not in present:
            headers.append((name, DASHBOARD_CSP if dashboard and name == b"content-security-policy" else value))
    # Authenticated answers (everything under /api/v1 and the dashboard) must not sit in a shared cache.
    if b"cache-control" not in present and (path.startswith("/api/") or dashboard
                                            or any(k == b"authorization" for k, _ in scope.get("headers", []))):
        headers.append((b"cache-control", b"no-store"))
    message["headers"] = headers


async def require_json(request: Request) -> None:
    """A body, if any, must be JSON (415 otherwise): nothing is guessed from the bytes."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    has_body = request.headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in request.headers
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if has_body and media_type != "application/json":
        raise ClientException(status_code=415, detail="request bodies must be application/json")
    return None
