"""How a process logs: `--log-format text|json` (or QUANTSHIFT_LOG_FORMAT), to stderr, redacted.

text: one line per record for a person ("2025-01-02 15:30:00,123 WARNING quantshift...: ...");
WARNING and above unless --verbose. json: one JSON object per line for a log stack
(adapters/logging/formatters.py has the fields), from INFO: a log stack indexes every order
and fill, which is what it is for. Both cut secrets out (application/redaction.py).

In a JSON process everything on stderr is a JSON line: the CLI's own messages (`say`, the
error of `fail`) go through the log too, and `quantshift serve` hands uvicorn a logging
configuration that sends its lines to the same formatter (in every worker).
"""

from __future__ import annotations

import enum
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

from adapters.logging import JsonFormatter, StderrHandler, TextFormatter
from application.redaction import redactor_from_environment
from domain.errors import ConfigurationError

LOG_FORMAT_VARIABLE = "QUANTSHIFT_LOG_FORMAT"
_CLI_LOG = "quantshift.cli"


class LogFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"


def log_format_from_environment(environ: Mapping[str, str]) -> LogFormat:
    """QUANTSHIFT_LOG_FORMAT (text when unset), for the processes that have no option to read
    (the web workers); a bad value names the variable and the choices."""
    value = environ.get(LOG_FORMAT_VARIABLE, "").strip().lower() or LogFormat.TEXT.value
    try:
        return LogFormat(value)
    except ValueError:
        raise ConfigurationError(f"{LOG_FORMAT_VARIABLE}={environ[LOG_FORMAT_VARIABLE]!r}: use "
                                 f"{' or '.join(f.value for f in LogFormat)}") from None


def configure_logging(*, log_format: LogFormat, verbose: bool = False, environ: Mapping[str, str] | None = None,
                      replace_root: bool = False) -> None:
    """The root logger's one stderr handler, in `log_format`. Called again, it replaces its
    own handler. As logging.basicConfig, it leaves a root logger that someone else set up
    alone (a test runner running the CLI in its process); `replace_root` takes it over anyway
    (the web worker's, where Litestar put its handler)."""
    root = logging.getLogger()
    if not replace_root and any(not isinstance(h, StderrHandler) for h in root.handlers):
        return
    redactor = redactor_from_environment(os.environ if environ is None else environ)
    formatter: logging.Formatter = (JsonFormatter(redactor=redactor) if log_format is LogFormat.JSON
                                    else TextFormatter(redactor=redactor))
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose or log_format is LogFormat.JSON else logging.WARNING)


def json_logging() -> bool:
    """Whether this process logs JSON lines (so its messages must be log records too)."""
    return any(isinstance(h, StderrHandler) and isinstance(h.formatter, JsonFormatter)
               for h in logging.getLogger().handlers)


def say(message: str, *, level: int = logging.INFO, logger: str = _CLI_LOG) -> None:
    """A message for the person running the command: a line on stderr, or a JSON log record."""
    if json_logging():
        logging.getLogger(logger).log(level, message)
    else:
        print(message, file=sys.stderr, flush=True)


class LogLines:
    """A text stream whose lines become log records (for code that prints its progress to a
    stream: `paper --days -v` in a JSON process)."""

    def __init__(self, *, logger: str = _CLI_LOG, level: int = logging.INFO) -> None:
        self._log = logging.getLogger(logger)
        self._level = level
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if line:
                self._log.log(self._level, line)
        return len(text)

    def flush(self) -> None:
        return None


def json_formatter() -> JsonFormatter:
    """The formatter of uvicorn_log_config (a logging dictConfig factory)."""
    return JsonFormatter(redactor=redactor_from_environment(os.environ))


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's logging in a JSON process: its loggers into the root's JSON handler. uvicorn
    applies it in each worker process it starts, before the app is built."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.json_formatter"}},
        "handlers": {"stderr": {"class": f"{StderrHandler.__module__}.StderrHandler", "formatter": "json"}},
        "loggers": {name: {"level": "INFO", "handlers": [], "propagate": True}
                    for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
        "root": {"level": "INFO", "handlers": ["stderr"]},
    }
