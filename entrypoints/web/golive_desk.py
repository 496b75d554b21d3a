"""What the go-live endpoints and page need beyond the store: the configured bots (their asset
class and their fingerprint now), the [golive] criteria and the NYSE calendar of the validation
clock, and the use cases that act on the deployment (the kill-switch drill, the checklist),
bound to this deployment's settings. Built by wiring.py (the composition root) and injected
like the store.

Fingerprints are computed on each request, not once at start: an edited strategy file must
show as "configuration changed" on the page without a restart of `serve`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

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


def _unavailable(*_: object) -> AuditEntry:
    raise ConfigurationError("this server runs no drills (it was built without a container)")


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
