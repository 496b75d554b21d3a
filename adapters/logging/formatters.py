"""The standard library's logging, formatted: a line of text for a person at a terminal, or
one JSON object per line for a log stack (Loki, Elasticsearch, Datadog, CloudWatch) to index.

A JSON line has ts (UTC, ISO 8601), level, logger, message, and the fields the code knew
where it logged: account, bot, symbol, client_order_id (given as logging's `extra=`, or set
around the code by application/log_context.py); a traceback is one string field, exc_info.
Both formats pass every line through the redactor (application/redaction.py) first.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

from application.log_context import FIELDS, current_fields
from application.redaction import Redactor

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def __init__(self, *, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, str] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self._redactor.text(record.getMessage()),
        }
        context = current_fields()  # the formatter runs in the thread that logged (StderrHandler)
        for name in FIELDS:
            value = getattr(record, name, None) or context.get(name)
            if value:
                line[name] = self._redactor.text(str(value))
        if record.exc_info:
            line["exc_info"] = self._redactor.text(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exc_info"] = self._redactor.text(record.exc_text)
        if record.stack_info:
            line["stack_info"] = self._redactor.text(self.formatStack(record.stack_info))
        # One line whatever the message holds: json.dumps escapes its newlines.
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self, *, redactor: Redactor) -> None:
        super().__init__(fmt=TEXT_FORMAT)
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self._redactor.text(super().format(record))


class StderrHandler(logging.StreamHandler):
    """A handler on whatever sys.stderr is when a line is written (as logging's last resort
    does), not the stream of the moment it was made: a test runner swapping stderr, or a
    closed replacement, never swallows the lines."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        logging.Handler.__init__(self, level)

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass
