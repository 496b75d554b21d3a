"""What the go-live endpoints and page need beyond the store: the configured bots (their asset
class and their fingerprint now), the [golive] criteria and the NYSE calendar of the validation
clock, and the use cases that act on the deployment (the kill-switch drill, the checklist),
bound to this deployment's settings. Built by wiring.py (the composition root) and injected
like the store.

Fingerprints are computed on each request, not once at start: an edited strategy file must
show as "configuration changed" on the page without a restart of `serve`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import attrs

from application.golive.certificates import certificate_problems, current_certificate
from application.golive.fingerprint import BotFingerprint
from application.golive.overview import BotGoLive, bot_overview, evidence
from application.golive.ports import TradingCalendar
from application.golive.validation_clock import ValidationStatus, validation_status
from application.ports import UnitOfWork
from application.records import AuditEntry
from domain.analytics.golive import GoLiveCriteria
from domain.errors import ConfigurationError
from entrypoints.golive_calendar import NyseCalendar
from entrypoints.golive_fingerprint import bot_fingerprint
from entrypoints.settings import BotSettings, Settings

# (bot or None, venue, actor) -> the drill's record; raises DrillRefused when nothing was drilled.
KillSwitchRunner = Callable[[str | None, str, str], AuditEntry]


# (bot, broker or None, actor) -> whether every item passed; the run records the check itself.
CheckRunner = Callable[[str, str | None, str], bool]
# A check replays the crash regime through the backtest engine and stops and starts the paper
# bot through the API: seconds of work with side effects. One at a time per bot and server,
# and not again within this long (a double click, an impatient reload) of the last start.
CHECK_COOLDOWN_SECONDS = 15.0
CHECK_TIMEOUT_SECONDS = 600.0


def _unavailable(*_: object) -> AuditEntry:
    raise ConfigurationError("this server runs no drills (it was built without a container)")


def _no_checks(*_: object) -> bool:
    raise ConfigurationError("this server runs no checks (it was built without a container)")


class CheckBusy(Exception):
    """A check of the bot is under way, or started less than the cooldown ago."""


class CheckGate:
    """Per bot: one check at a time, and a pause between two (process memory: a restart forgets)."""

    def __init__(self, *, cooldown_seconds: float = CHECK_COOLDOWN_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._started: dict[str, float] = {}
        self._cooldown = cooldown_seconds
        self._monotonic = monotonic

    def run(self, bot: str, work: Callable[[], bool]) -> bool:
        with self._lock:
            if bot in self._running:
                raise CheckBusy(f"a check of bot {bot} is under way; its result shows when it ends")
            since = self._monotonic() - self._started.get(bot, float("-inf"))
            if since < self._cooldown:
                raise CheckBusy(f"a check of bot {bot} started {since:.0f} s ago: wait "
                                f"{self._cooldown - since:.0f} s before the next one")
            self._running.add(bot)
            self._started[bot] = self._monotonic()
        try:
            return work()
        finally:
            with self._lock:
                self._running.discard(bot)


def cli_check_runner(*, config: Path | None, environ: Mapping[str, str]) -> CheckRunner:
    """`quantshift golive check --json` in a process of its own: the very checklist of the CLI
    (pytest-bdd over features/golive), kept out of the server's process, whose threads would
    share pytest's redirected output, warning filters and hooks; a crash there costs no worker."""
    executable = Path(sys.executable).with_name("quantshift")
    program = str(executable) if executable.exists() else (shutil.which("quantshift") or "quantshift")

    def run(bot: str, broker: str | None, actor: str) -> bool:
        args = [program, "golive", "check", "--bot", bot, "--as", actor, "--json"]
        if broker:
            args += ["--broker", broker]
        if config is not None:
            args += ["--config", str(config)]
        done = subprocess.run(args, env=dict(environ), capture_output=True, text=True, timeout=CHECK_TIMEOUT_SECONDS)
        if done.returncode == 2:  # the CLI's "bad input": its one-line error, said to the caller
            lines = [line.removeprefix("error: ") for line in done.stderr.strip().splitlines() if line.strip()]
            raise ConfigurationError(lines[-1] if lines else f"golive check of {bot} refused its input")
        if done.returncode not in (0, 1):
            raise RuntimeError(f"golive check of {bot} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
        return bool(json.loads(done.stdout)["passed"])

    return run


@attrs.frozen(kw_only=True)
class BotPicture:
    """One bot as the page shows it: its evidence, the clock's figures, why it holds no certificate."""

    view: BotGoLive
    status: ValidationStatus | None  # None: the bot could not be fingerprinted, or its clock not read
    certified: bool  # it holds a current certificate (approved, not expired, for its fingerprint now)
    problems: tuple[str, ...]  # certificate_problems: empty when certified


@attrs.frozen(kw_only=True)
class GoLiveDesk:
    settings: Settings
    version: str  # QuantShift's, as entrypoints.cli.main.installed_version() says it (part of the fingerprint)
    calendar: TradingCalendar = attrs.field(factory=NyseCalendar)
    killswitch: KillSwitchRunner = _unavailable
    check: CheckRunner = _no_checks
    check_gate: CheckGate = attrs.field(factory=CheckGate)

    def bot_names(self) -> list[str]:
        return [b.name for b in self.settings.bots]

    def bot(self, name: str) -> BotSettings | None:
        return next((b for b in self.settings.bots if b.name == name), None)

    def criteria(self) -> GoLiveCriteria:
        g = self.settings.golive
        return GoLiveCriteria(min_trading_days=g.min_trading_days, min_trades=g.min_trades,
                              min_win_rate=g.min_win_rate, max_drawdown=g.max_drawdown)

    def fingerprint(self, name: str) -> BotFingerprint | None:
        """None when the bot is not configured, or its strategy file cannot be read now."""
        bot = self.bot(name)
        if bot is None:
            return None
        try:
            return bot_fingerprint(self.settings, bot, version=self.version)
        except ConfigurationError:
            return None

    def pictures(self, uow: UnitOfWork, *, names: Sequence[str], now: datetime) -> list[BotPicture]:
        entries = evidence(uow)
        return [self._picture(uow, entries, name=name, now=now) for name in names]

    def _picture(self, uow: UnitOfWork, entries: Sequence[AuditEntry], *, name: str, now: datetime) -> BotPicture:
        found = self.fingerprint(name)
        digest = found.digest if found else None
        view = bot_overview(entries, bot=name, fingerprint=digest, now=now)
        bot = self.bot(name)
        status = None
        if bot is not None:
            try:
                status = validation_status(uow, bot=name, asset_class=bot.asset_class, now=now,
                                           criteria=self.criteria(), calendar=self.calendar)
            except ConfigurationError:  # the calendar cannot say (a date beyond its range): figures unknown
                status = None
        if digest is None:
            return BotPicture(view=view, status=status, certified=False,
                              problems=("the configuration cannot be fingerprinted now (its strategy file cannot be "
                                        "read): fix it, then run the check",))
        certified = current_certificate(uow, bot=name, fingerprint=digest, now=now) is not None
        problems = () if certified else tuple(certificate_problems(uow, bot=name, fingerprint=digest, now=now))
        return BotPicture(view=view, status=status, certified=certified, problems=problems)
