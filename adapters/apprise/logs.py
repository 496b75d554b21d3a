"""Apprise's logger, kept away from ours: Apprise logs what it sends to, and at DEBUG/TRACE the
URLs it parsed (tokens, passwords, topics). A filter on its "apprise" logger takes every record
to the send that caused them (which keeps the reason, scrubbed of every part of the URL but its
scheme and host, for the DeliveryFailed it raises) and drops it there: a dropped record never
reaches any handler, not ours, not a test's, and not Sentry's logging integration, which hooks
Logger.callHandlers and so would see a record whatever `propagate` says.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import threading
from collections.abc import Iterator
from urllib.parse import unquote

LOGGER = "apprise"
_captured: contextvars.ContextVar[list[logging.LogRecord] | None] = contextvars.ContextVar(
    "quantshift_apprise_records", default=None)
_installed = threading.Lock()
_done = False
_SEPARATORS = re.compile(r"[/:@?&=#,;+\s]+")
_MIN_SECRET = 3  # shorter pieces ("to", "1") are no secret and would blot out every word


class _ToCurrentSend(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        records = _captured.get()
        if records is not None:
            records.append(record)
        return False  # never handled


def isolate_apprise_logger() -> None:
    """Once per process (idempotent): Apprise's records go to the current send only."""
    global _done
    with _installed:
        if _done:
            return
        logger = logging.getLogger(LOGGER)
        logger.propagate = False
        logger.setLevel(logging.DEBUG)  # DEBUG carries the socket errors; TRACE (the parsed URLs) stays off
        logger.addFilter(_ToCurrentSend())
        _done = True


@contextlib.contextmanager
def captured() -> Iterator[list[logging.LogRecord]]:
    """The records Apprise logs in this thread (this context) inside the block."""
    records: list[logging.LogRecord] = []
    token = _captured.set(records)
    try:
        yield records
    finally:
        _captured.reset(token)


def secrets_of(url: str, *, shown: str) -> list[str]:
    """Every piece of `url` that is not in `shown`, longest first: what a message must not show."""
    visible = set(_SEPARATORS.split(shown))
    pieces = {piece for raw in (url, unquote(url)) for piece in _SEPARATORS.split(raw)}
    return sorted((p for p in pieces if len(p) >= _MIN_SECRET and p not in visible), key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def reason(records: list[logging.LogRecord], *, secrets: list[str]) -> str:
    """Why a send failed, from what Apprise logged: its warnings and errors, and the socket
    error's kind (refused, timed out) from its DEBUG lines; scrubbed."""
    said = [r.getMessage() for r in records if r.levelno >= logging.WARNING]
    socket = " ".join(r.getMessage() for r in records if r.levelno < logging.WARNING and "xception" in r.getMessage())
    for words, short in (("Connection refused", "connection refused"), ("timed out", "timed out"),
                         ("Name or service not known", "unknown host"), ("certificate verify failed", "TLS certificate refused")):
        if words in socket:
            said.append(short)
            break
    unique = list(dict.fromkeys(line.strip() for line in said if line.strip()))
    return scrub("; ".join(unique[-3:]), secrets)
