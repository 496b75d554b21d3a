"""The Notifier port by email: alerts at or above a level go to a list of people.

A Notifier must never raise (a failed alert must not stop a halt or a trade decision), so
every mail failure is caught and the alert goes to the fallback notifier (the log) with
the reason the mail failed: the alert itself is never lost. Alerts below `min_level` are
not mailed and not forwarded: wire a LoggingNotifier beside this one to log everything.

The send is synchronous and bounded by the mailer's timeout; once the server is found
unavailable, the remaining recipients are not tried, so a dead server costs one timeout
per alert, not one per recipient.
"""

from __future__ import annotations

from collections.abc import Iterable

from application.accounts.ports import Mailer
from application.ports import AlertLevel, Notifier
from domain.errors import TransientError

_RANK = {AlertLevel.INFO: 0, AlertLevel.WARNING: 1, AlertLevel.CRITICAL: 2}
_MAX_SUBJECT = 200


class EmailNotifier:
    def __init__(self, *, mailer: Mailer, recipients: Iterable[str], min_level: AlertLevel,
                 fallback: Notifier) -> None:
        self._mailer = mailer
        self._recipients = tuple(recipients)
        self._min_level = AlertLevel(min_level)
        self._fallback = fallback

    def notify(self, *, level: AlertLevel, title: str, body: str) -> None:
        failures = self.send(level=level, title=title, body=body)
        if failures:
            self._fall_back(level=level, title=title, body=body, failures=failures)

    def send(self, *, level: AlertLevel, title: str, body: str) -> list[str]:
        """Mail it (at or above min_level) without the fallback: what failed, one line each. Never raises."""
        try:
            if _RANK[level] < _RANK[self._min_level] or not self._recipients:
                return []
            return self._mail(level=level, title=title, body=body)
        except Exception as exc:  # noqa: BLE001 - never raise, whatever went wrong
            return [f"{type(exc).__name__}: {exc}"]

    def _mail(self, *, level: AlertLevel, title: str, body: str) -> list[str]:
        # A title is free text from anywhere in the bot: flatten it rather than lose the alert.
        subject = " ".join(f"[QuantShift {level.value.upper()}] {title}".split())[:_MAX_SUBJECT]
        failures = []
        for recipient in self._recipients:
            try:
                self._mailer.send(to=recipient, subject=subject, text=body)
            except TransientError as exc:
                failures.append(f"{recipient}: {exc}")
                break  # the server is down for everybody; do not wait out its timeout again
            except Exception as exc:  # noqa: BLE001 - a refused recipient must not stop the others
                failures.append(f"{recipient}: {exc}")
        return failures

    def _fall_back(self, *, level: AlertLevel, title: str, body: str, failures: list[str]) -> None:
        try:
            self._fallback.notify(level=level, title=title,
                                  body=f"{body}\n[the alert email failed: {'; '.join(failures)}]")
        except Exception:  # noqa: BLE001 - the fallback must not raise either; nothing is left to tell
            pass
