"""A Mailer that keeps what it was asked to send, and can be told to fail."""

from __future__ import annotations


class RecordingMailer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []  # (to, subject, text)
        self.error: Exception | None = None  # raised by every send while set

    def send(self, *, to: str, subject: str, text: str, html: str | None = None) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append((to, subject, text))
