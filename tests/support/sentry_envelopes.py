"""Sentry envelopes as a loopback HttpReceiver (tests/support/receivers.py) gets them: a DSN
pointing at the receiver, and the envelope format read back
(https://develop.sentry.dev/sdk/data-model/envelopes/): a JSON header line, then items, each
a JSON item header line and a payload (`length` bytes when the header gives it, else up to
the next newline). sentry-sdk POSTs them gzipped to /api/<project>/envelope/."""

from __future__ import annotations

import gzip
import json
from typing import Any

import attrs

from tests.support.receivers import HttpReceiver, HttpRequest

PUBLIC_KEY = "0123456789abcdef0123456789abcdef"


def dsn_for(receiver: HttpReceiver, *, project: int = 1) -> str:
    return f"http://{PUBLIC_KEY}@127.0.0.1:{receiver.port}/{project}"


@attrs.frozen(kw_only=True)
class Envelope:
    header: dict[str, Any]
    items: tuple[tuple[dict[str, Any], bytes], ...]
    raw: str  # the whole decompressed body: what a "no secret anywhere" check reads

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [json.loads(payload) for header, payload in self.items if header.get("type") == kind]


def parse_envelope(request: HttpRequest) -> Envelope:
    body = request.body
    if request.headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    header_line, _, rest = body.partition(b"\n")
    items = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        item = json.loads(item_line)
        if "length" in item:
            payload, rest = rest[:item["length"]], rest[item["length"]:]
            rest = rest.removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((item, payload))
    return Envelope(header=json.loads(header_line), items=tuple(items), raw=body.decode("utf-8"))


def events(receiver: HttpReceiver) -> list[dict[str, Any]]:
    """Every error event the receiver got so far, in arrival order."""
    found = []
    for request in receiver.requests:
        assert request.path.endswith("/envelope/"), request.path
        found += parse_envelope(request).of_type("event")
    return found


def raw_bodies(receiver: HttpReceiver) -> str:
    return "\n".join(parse_envelope(request).raw for request in receiver.requests)
