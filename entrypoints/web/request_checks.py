"""What every request must be before a handler, a guard or the store sees any of it: text
without control characters in the path, the query and the body, and JSON nested at most
MAX_JSON_DEPTH deep.

Why at the boundary: Postgres refuses NUL in text (psycopg.DataError), so a halt reason or a
bot name holding one became a 500, and the halt was not stored; SQLite stores it and the
CLI then prints it raw. msgspec decodes JSON recursively, so a body nested 1,000 deep raised
RecursionError (a 500), also on the unauthenticated login. Both are the caller's input: 400,
naming the field.

The rule (docs/api.md): no character of Unicode category Cc (U+0000-U+001F, U+007F-U+009F)
and no lone surrogate anywhere, except that string values in a body may hold tab, line feed
and carriage return (a reason may span lines). Names, paths, query values and object keys
take no exception.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from urllib.parse import parse_qsl

import msgspec
from litestar.exceptions import ValidationException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

MAX_JSON_DEPTH = 32  # the deepest body any endpoint takes is 2 (an object holding a list)
FREE_TEXT_CONTROLS = frozenset("\t\n\r")  # allowed in body string values only
_MAX_PROBLEMS = 5  # enough to fix a request; a body of 10,000 bad strings gets no 10,000-line answer
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
# A high surrogate escape not followed by a low one, or a low one not preceded by a high one.
_LONE_SURROGATE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|"
                             rb"(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def forbidden_character(text: str, *, free_text: bool = False) -> str | None:
    """The first character `text` may not hold, or None when it is clean."""
    for char in text:
        code = ord(char)
        if code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF:
            if free_text and char in FREE_TEXT_CONTROLS:
                continue
            return char
    return None


def _problem(field: str | None, source: str, char: str) -> dict[str, str | None]:
    kind = "a lone surrogate" if 0xD800 <= ord(char) <= 0xDFFF else "the control character"
    return {"key": field, "source": source,
            "message": f"contains {kind} U+{ord(char):04X}; only printable text is accepted"}


def json_depth(body: bytes) -> int:
    """How deep the brackets of a JSON text nest (strings skipped), without decoding it."""
    brackets = _JSON_STRING.sub(b"", body).translate(None, delete=_NOT_A_BRACKET)
    return max(itertools.accumulate(_STEP[b] for b in brackets), default=0)


def _strings(value: object, path: str) -> Iterator[tuple[str, str, bool]]:
    """(field path, text, is a value) for every key and string value of decoded JSON; a key
    is reported under the object holding it (it is the unprintable part, not to be echoed)."""
    if isinstance(value, str):
        yield path, value, True
    elif isinstance(value, dict):
        for key, item in value.items():
            yield path, str(key), False
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _body_problems(body: bytes, media_type: str) -> list[dict[str, str | None]]:
    if media_type == "application/x-www-form-urlencoded":
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        found = ((name, forbidden_character(name) or forbidden_character(value, free_text=True))
                 for name, value in pairs)
        return [_problem(name, "body", code) for name, code in found if code][:_MAX_PROBLEMS]
    if media_type != "application/json" or not body.strip():
        return []  # other media types are refused later (415) or carry no text of ours
    if json_depth(body) > MAX_JSON_DEPTH:
        return [{"key": None, "source": "body",
                 "message": f"JSON nested deeper than {MAX_JSON_DEPTH} levels; no request needs more than a few"}]
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        if _LONE_SURROGATE.search(body):  # msgspec calls it "Input data was truncated"
            return [{"key": None, "source": "body",
                     "message": "a string holds a lone surrogate (\\uD800-\\uDFFF without its pair); "
                                "only printable text is accepted"}]
        return [{"key": None, "source": "body", "message": f"the body is not valid JSON ({exc})"}]
    problems = []
    for field, text, is_value in _strings(decoded, ""):
        code = forbidden_character(text, free_text=is_value)
        if code:
            problems.append(_problem(field or None, "body", code))
            if len(problems) == _MAX_PROBLEMS:
                break
    return problems


def _url_problems(scope: Scope) -> list[dict[str, str | None]]:
    problems = [_problem(name, "path", code) for name, value in (scope.get("path_params") or {}).items()
                if isinstance(value, str) and (code := forbidden_character(value))]
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True, encoding="utf-8", errors="replace"):
        code = forbidden_character(name) or forbidden_character(value)
        if code:
            problems.append(_problem(name, "query", code))
    return problems[:_MAX_PROBLEMS]


def _refuse(scope: Scope, problems: list[dict[str, str | None]]) -> ValidationException:
    # The detail names the method and route, never the offending text (it is what is unprintable).
    route = scope.get("path_template") or "this route"
    return ValidationException(detail=f"Invalid request to {scope.get('method', '')} {route}", extra=problems)


def check_request_text(app: ASGIApp, *, max_body_bytes: int) -> ASGIApp:
    """A route middleware (it runs after routing, so path parameters are known, and before
    guards and handlers). A body larger than `max_body_bytes` is passed on unread: the app's
    body cap answers 413 for it."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        problems = _url_problems(scope)
        if problems:
            raise _refuse(scope, problems)
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            await app(scope, receive, send)
            return
        read: list[Message] = []
        size, complete = 0, False
        while size <= max_body_bytes:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                complete = True
                break
        if complete and size <= max_body_bytes:
            headers = dict(scope.get("headers", []))
            media_type = headers.get(b"content-type", b"").decode("latin-1").split(";", 1)[0].strip().lower()
            problems = _body_problems(b"".join(m.get("body", b"") for m in read), media_type)
            if problems:
                raise _refuse(scope, problems)
        pending = iter(read)

        async def replay() -> Message:
            return next(pending, None) or await receive()

        await app(scope, replay, send)

    return middleware
