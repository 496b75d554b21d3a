"""The live gate: which bots may trade real money, and what a running live session does when
one of them loses its go-live certificate.

At start (`quantshift live`) every bot needs a current certificate for its exact fingerprint
(approved, not expired, issued for the fingerprint its configuration has now). While live,
CertificateWatch re-reads the configuration every few seconds: a bot whose fingerprint moved
away from the one it was started (and certified) with, or whose certificate expired, may no
longer open risk. It is held in the trading state REDUCING under its own scope, the mechanism
the drawdown breaker uses: the risk engine and the last look before the send (release) deny
every order that adds risk, while the strategy's exits and the protective stops go on. The
block ends only when the file describes the running configuration again and that
configuration holds a current certificate; a certificate for a new configuration needs a
restart, since the session still runs the old one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

import attrs

from application.golive.fingerprint import BotFingerprint
from application.ports import AlertLevel, Notifier, UnitOfWork, UnitOfWorkFactory
from application.records import AuditEntry, AuditKind, ControlState, bot_scope
from application.safety.halt import set_trading_state
from domain.errors import ConfigurationError, QuantShiftError
from domain.risk.trading_state import TradingState

log = logging.getLogger(__name__)

GOLIVE_ACTOR = "golive:certificate"  # the actor of the REDUCING a lost certificate sets


class CertificateProblems(Protocol):
    def __call__(self, uow: UnitOfWork, *, bot: str, fingerprint: str, now: datetime) -> list[str]:
        """Why `bot` has no current certificate for `fingerprint` at `now`; [] when it has one
        (application/golive/certificates.certificate_problems)."""
        ...


def refusals(
    uow: UnitOfWork, *, fingerprints: Mapping[str, BotFingerprint], now: datetime, problems: CertificateProblems
) -> dict[str, list[str]]:
    """The bots that may not start live, each with its failing items; {} when all may."""
    refused = {}
    for bot, fingerprint in fingerprints.items():
        found = problems(uow, bot=bot, fingerprint=fingerprint.digest, now=now)
        if found:
            refused[bot] = found
    return refused


def refusal_text(refused: Mapping[str, Sequence[str]]) -> str:
    lines = [f"  {bot}: " + "; ".join(items) for bot, items in refused.items()]
    return "no current go-live certificate for the exact configuration of:\n" + "\n".join(lines)


@attrs.define(kw_only=True)
class CertificateWatch:
    """Ticked by the session with each supervision (the VenueMonitor protocol); never raises.

    `running` are the fingerprints the session started with; `read_fingerprints` re-reads the
    configuration file (it may raise ConfigurationError: an unreadable file blocks every bot)."""

    account: str
    running: Mapping[str, BotFingerprint]
    read_fingerprints: Callable[[], Mapping[str, BotFingerprint]]
    problems: CertificateProblems
    uow_factory: UnitOfWorkFactory
    notifier: Notifier
    every_seconds: float = 5.0
    monotonic: Callable[[], float] = time.monotonic
    blocked: dict[str, str] = attrs.field(factory=dict)  # bot -> why its entries are blocked
    _checked_at: float | None = None

    def tick(self, *, now: datetime) -> None:
        try:
            if self._checked_at is None or self.monotonic() - self._checked_at >= self.every_seconds:
                self._checked_at = self.monotonic()
                self.check(now=now)
            elif self.blocked:
                self._hold(now=now)
        except QuantShiftError as exc:  # the store down: the next tick tries again
            log.warning("%s: certificate watch skipped: %s", self.account, exc)

    def check(self, *, now: datetime) -> dict[str, str]:
        """Look again at the file and the certificates; block and unblock what changed."""
        verdicts = self._verdicts(now=now)
        for bot, why in verdicts.items():
            if why and self.blocked.get(bot) != why:
                self._block(bot, why=why, now=now)
            elif not why and (bot in self.blocked or self._holds(bot)):
                self._unblock(bot, now=now)
        self._hold(now=now)
        return dict(self.blocked)

    def _verdicts(self, *, now: datetime) -> dict[str, str]:
        try:
            current = self.read_fingerprints()
        except ConfigurationError as exc:
            return {bot: f"the configuration cannot be read: {exc}" for bot in self.running}
        verdicts = {}
        with self.uow_factory() as uow:
            for bot, started in self.running.items():
                now_fp = current.get(bot)
                if now_fp is None:
                    verdicts[bot] = "the bot is no longer in the configuration file"
                elif now_fp.digest != started.digest:
                    changed = ", ".join(now_fp.changes_from(started.ingredients)) or "?"
                    verdicts[bot] = (f"configuration changed ({changed}): fingerprint {now_fp.short}, running "
                                     f"{started.short}")
                else:
                    found = self.problems(uow, bot=bot, fingerprint=started.digest, now=now)
                    verdicts[bot] = "; ".join(found)
        return verdicts

    def _holds(self, bot: str) -> bool:
        """Whether the bot's own switch is a REDUCING this watch set (left by an earlier run too)."""
        with self.uow_factory() as uow:
            state = uow.control.get(bot_scope(self.account, bot))
        return state is not None and state.state is TradingState.REDUCING and state.actor == GOLIVE_ACTOR

    def _hold(self, *, now: datetime) -> None:
        """Keep every blocked bot at least REDUCING: a resume (or a breaker's recovery) that
        lifted it is undone here; a HALTED or another actor's REDUCING is stricter or equal, left."""
        for bot, why in self.blocked.items():
            with self.uow_factory() as uow:
                state = uow.control.get(bot_scope(self.account, bot))
            if state is None or state.state is TradingState.ACTIVE:
                set_trading_state(ControlState(scope=bot_scope(self.account, bot), state=TradingState.REDUCING,
                                               reason=f"new entries blocked: {why}", actor=GOLIVE_ACTOR,
                                               changed_at=now), uow_factory=self.uow_factory)

    def _block(self, bot: str, *, why: str, now: datetime) -> None:
        self.blocked[bot] = why
        self._hold(now=now)
        self._record(bot, event="entries_blocked", why=why, now=now)
        self.notifier.notify(level=AlertLevel.CRITICAL, title=f"live bot {bot}: new entries blocked",
                             body=f"{why}. Exits and protective stops keep working. Certify the configuration "
                                  "that should run (quantshift golive check / approve) and restart `quantshift live`, "
                                  "or put the certified configuration back.")

    def _unblock(self, bot: str, *, now: datetime) -> None:
        self.blocked.pop(bot, None)
        if self._holds(bot):
            set_trading_state(ControlState(scope=bot_scope(self.account, bot), state=TradingState.ACTIVE,
                                           reason="a current certificate holds for the running configuration",
                                           actor=GOLIVE_ACTOR, changed_at=now),
                              uow_factory=self.uow_factory, kind=AuditKind.RESUME)
        why = "a current certificate holds for the running configuration"
        self._record(bot, event="entries_unblocked", why=why, now=now)
        self.notifier.notify(level=AlertLevel.WARNING, title=f"live bot {bot}: new entries allowed again", body=why)

    def _record(self, bot: str, *, event: str, why: str, now: datetime) -> None:
        with self.uow_factory() as uow:
            uow.audit.append(AuditEntry(
                ts=now, kind=AuditKind.GOLIVE, severity="critical" if event == "entries_blocked" else "warning",
                account=self.account, bot=bot, message=f"{event.replace('_', ' ')}: {why}",
                data={"event": event, "reason": why, "fingerprint": self.running[bot].digest}))
            uow.commit()

