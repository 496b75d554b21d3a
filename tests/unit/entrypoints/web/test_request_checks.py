"""The request text checks (entrypoints/web/request_checks.py) on a real Litestar app: what is
refused where, what free text may hold, and that a body passes on intact when it is fine
or too large to check (the app's body cap answers that one)."""

from __future__ import annotations

from functools import partial

import pytest
from litestar import post
from litestar.params import FromPath, JSONBody
from litestar.testing import create_test_client

from entrypoints.web.dto import ReasonRequest
from entrypoints.web.errors import EXCEPTION_HANDLERS
from entrypoints.web.request_checks import MAX_JSON_DEPTH, check_request_text, forbidden_character, json_depth


@post("/echo/{name:str}", sync_to_thread=False, status_code=200)
def echo(data: JSONBody[ReasonRequest], name: FromPath[str]) -> dict[str, str]:
    return {"name": name, "reason": data.reason}


def client(max_body_bytes: int = 1024):
    return create_test_client([echo], exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
                              middleware=[partial(check_request_text, max_body_bytes=max_body_bytes)])


@pytest.mark.parametrize(("text", "free_text", "found"), [
    ("plain text, é and €", False, None),
    ("a\x00b", True, "\x00"),
    ("line one\nline two\ttab\r", True, None),
    ("line one\nline two", False, "\n"),
    ("\x7f", True, "\x7f"),
    ("\x85", True, "\x85"),
    ("\ud800", True, "\ud800"),
])
def test_forbidden_character(text, free_text, found):
    assert forbidden_character(text, free_text=free_text) == found


def test_json_depth_skips_brackets_inside_strings():
    assert json_depth(b'{"a": [[1]], "b": "[[[[[[[["}') == 3
    assert json_depth(b'"\\"[[["') == 0
    assert json_depth(b"[" * 1000 + b"]" * 1000) == 1000


def test_a_clean_body_passes_on_intact_and_free_text_keeps_its_line_breaks():
    with client() as c:
        response = c.post("/echo/bot-1", json={"reason": "first line\n\tsecond"})
    assert response.status_code == 200 and response.json() == {"name": "bot-1", "reason": "first line\n\tsecond"}


@pytest.mark.parametrize(("url", "body", "field", "source"), [
    ("/echo/a%00b", {"reason": "x"}, "name", "path"),
    ("/echo/a?x=%1b", {"reason": "x"}, "x", "query"),
    ("/echo/a", {"reason": "x\u0000y"}, "reason", "body"),
    ("/echo/a", {"reason": "x", "\u0007": 1}, None, "body"),  # a key is reported, not echoed
])
def test_control_characters_are_a_400_naming_the_field(url, body, field, source):
    with client() as c:
        response = c.post(url, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == field
    assert response.json()["errors"][0]["source"] == source


def test_form_bodies_are_checked_too():
    with client() as c:
        response = c.post("/echo/a", content=b"reason=a%00b", headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "reason"


def test_nesting_beyond_the_cap_is_refused_before_decoding():
    deep = b'{"reason": ' + b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1) + b"}"
    with client(max_body_bytes=65536) as c:
        response = c.post("/echo/a", content=deep, headers={"content-type": "application/json"})
    assert response.status_code == 400 and "nested deeper" in response.json()["detail"]


def test_a_body_over_the_limit_is_passed_on_unchecked():
    with client(max_body_bytes=16) as c:
        response = c.post("/echo/a", json={"reason": "long enough to pass the 16 bytes"})
    assert response.status_code == 200, response.text


def test_a_lone_surrogate_escape_is_named_as_such_and_a_pair_is_fine():
    with client() as c:
        lone = c.post("/echo/a", content=b'{"reason": "x\\ud800"}', headers={"content-type": "application/json"})
        pair = c.post("/echo/a", content=b'{"reason": "\\ud83d\\ude00"}', headers={"content-type": "application/json"})
    assert lone.status_code == 400 and "lone surrogate" in lone.json()["detail"], lone.text
    assert pair.status_code == 200 and pair.json()["reason"] == "\U0001f600"
