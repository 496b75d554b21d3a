"""The log formatters (adapters/logging/formatters.py): one JSON object per line with the
fields a log stack indexes, or a line of text; secrets cut out of both."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from application.log_context import log_context
from application.redaction import Redactor
from adapters.logging import JsonFormatter, TextFormatter

REDACTOR = Redactor(secrets=("s3cr3t-value",))


def record(message: str, *args: object, level: int = logging.INFO, exc: BaseException | None = None,
           **extra: str) -> logging.LogRecord:
    return logging.getLogger("quantshift.test").makeRecord(
        "quantshift.test", level, __file__, 1, message, args,
        (type(exc), exc, exc.__traceback__) if exc else None, extra=extra or None)


def test_a_json_line_has_the_fields_and_what_the_code_knew():
    line = json.loads(JsonFormatter(redactor=REDACTOR).format(
        record("order %s filled", "qs-1", account="paper", bot="eq", symbol="SPY", client_order_id="qs-1")))
    assert set(line) == {"ts", "level", "logger", "message", "account", "bot", "symbol", "client_order_id"}
    assert (line["level"], line["logger"], line["message"]) == ("info", "quantshift.test", "order qs-1 filled")
    assert line["ts"].endswith("Z")
    assert datetime.fromisoformat(line["ts"].replace("Z", "+00:00")).utcoffset().total_seconds() == 0
    assert (line["account"], line["bot"], line["symbol"], line["client_order_id"]) == ("paper", "eq", "SPY", "qs-1")


def test_the_log_context_fills_the_fields_extra_wins_and_unknown_ones_are_left_out():
    formatter = JsonFormatter(redactor=REDACTOR)
    with log_context(account="paper", bot="eq"):
        inside = json.loads(formatter.format(record("x", bot="other")))
    outside = json.loads(formatter.format(record("x")))
    assert (inside["account"], inside["bot"]) == ("paper", "other")
    assert "symbol" not in inside and "client_order_id" not in inside
    assert set(outside) == {"ts", "level", "logger", "message"}


def test_a_traceback_is_one_string_field_and_the_line_stays_one_line():
    try:
        raise RuntimeError("failed with s3cr3t-value\nand a second line")
    except RuntimeError as exc:
        text = JsonFormatter(redactor=REDACTOR).format(record("boom", level=logging.ERROR, exc=exc))
    assert "\n" not in text
    line = json.loads(text)
    assert line["exc_info"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: failed with [Filtered]" in line["exc_info"]
    assert "s3cr3t-value" not in text


def test_secrets_are_cut_out_of_messages_and_fields_in_both_formats():
    made = record("sent to %s with %s", "tgram://123:ABC/456", "s3cr3t-value", level=logging.WARNING)
    text = TextFormatter(redactor=REDACTOR).format(made)
    assert text.endswith("WARNING quantshift.test: sent to tgram://[Filtered] with [Filtered]")
    assert json.loads(JsonFormatter(redactor=REDACTOR).format(made))["message"] == \
        "sent to tgram://[Filtered] with [Filtered]"


def test_the_text_formatter_redacts_tracebacks_too():
    try:
        raise ValueError("password=hunter2")
    except ValueError as exc:
        text = TextFormatter(redactor=REDACTOR).format(record("boom", level=logging.ERROR, exc=exc))
    assert "hunter2" not in text and "ValueError: password=[Filtered]" in text
