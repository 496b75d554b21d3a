"""Log lines for people (text) and for log stacks (one JSON object per line), both redacted."""

from adapters.logging.formatters import JsonFormatter, StderrHandler, TextFormatter

__all__ = ["JsonFormatter", "StderrHandler", "TextFormatter"]
