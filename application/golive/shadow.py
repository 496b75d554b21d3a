"""The shadow paper bot: beside every live bot, its copy on the simulated venue, fed the same bars.

The paper record that certified a bot was earned on simulated fills; the shadow keeps earning it
while the bot trades real money, so the live record can be compared with what the simulation
says on the very same bars, continuously. The shadow is a second PaperSession in the live
process, on its own store account ("shadow-<live account>") and its own simulated venue (a
BarListener: it matches each bar before its bots see it, as in `quantshift paper`). The live
feed is wrapped (ShadowFeed): each bar the live session polls is given to the shadow first.

A shadow's failure never touches the live bot: it is alerted once (warning) and the shadow stops.
Pairing and the fidelity figures: domain/analytics/fidelity.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

import attrs

from application.ports import AlertLevel, Clock, Notifier, UnitOfWork
from application.trading.paper_session import PaperSession
from application.venues.ports import LiveMarketData
from domain.accounting.market import Bar
from domain.analytics.fidelity import Execution, Fidelity, execution, pair_executions
from domain.orders.order import Order, OrderStatus

log = logging.getLogger(__name__)

SHADOW_PREFIX = "shadow-"


def shadow_account(live_account: str) -> str:
    return f"{SHADOW_PREFIX}{live_account}"


@attrs.define(kw_only=True)
class ShadowBot:
    """The shadow session, guarded: whatever it raises stays here."""

    session: PaperSession
    notifier: Notifier
    clock: Clock
    close: Callable[[], None] = lambda: None  # its simulated venue's journal
    failed: str = ""
    bars_seen: int = 0

    @property
    def account(self) -> str:
        return self.session.account

    def start(self, *, now: datetime) -> None:
        self._guard("start", lambda: self.session.start(now=now))

    def on_bars(self, bars: Sequence[Bar]) -> None:
        for bar in bars:
            if self.failed:
                return
            self._guard("bar", lambda b=bar: self.session.process_bar(b, now=self.clock.now()))  # type: ignore[misc]
            self.bars_seen += 1

    def idle(self) -> None:
        if not self.failed:
            self._guard("idle", lambda: self.session.idle(now=self.clock.now()))

    def stop(self, *, now: datetime, detail: str = "") -> None:
        if not self.failed:
            self._guard("stop", lambda: self.session.stop(now=now, detail=detail or "live session stopped"))
        self._guard("close", self.close)

    def _guard(self, what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - the shadow must never take the live bot down
            self.failed = f"{what}: {type(exc).__name__}: {exc}"
            log.exception("shadow bot %s failed (%s); the live session goes on without it", self.account, what)
            self.notifier.notify(level=AlertLevel.WARNING, title=f"shadow bot {self.account} stopped",
                                 body=f"{self.failed}; live trading goes on, fidelity is no longer measured")


@attrs.define(kw_only=True)
class ShadowFeed:
    """The live feed, teed: the shadow gets each bar first, then the live session."""

    inner: LiveMarketData
    shadow: ShadowBot

    def poll(self, *, timeout: float) -> list[Bar]:
        bars = self.inner.poll(timeout=timeout)
        if bars:
            self.shadow.on_bars(bars)
        else:
            self.shadow.idle()  # the shadow's heartbeat and kill switch between bars too
        return bars


_ALL = 10_000_000


def executions(uow: UnitOfWork, *, account: str, bot: str | None = None,
               since: datetime | None = None) -> list[Execution]:
    """Every order the venue was sent (denied ones never were), oldest first, as executions."""
    orders: list[Order] = [o for o in uow.orders.list(account=account, bot=bot, limit=_ALL)
                           if o.status is not OrderStatus.DENIED and (since is None or o.created_at >= since)]
    orders.sort(key=lambda o: o.created_at)
    return [execution(bot=o.bot, strategy=o.strategy, symbol=o.symbol, side=o.side, signal_ts=o.signal_ts,
                      ordered=o.quantity, client_order_id=o.client_order_id,
                      fills=[(o.filled_quantity, o.average_fill_price)]
                      if o.filled_quantity > 0 and o.average_fill_price is not None else [])
            for o in orders]


def fidelity(uow: UnitOfWork, *, live_account: str, bot: str, since: datetime | None = None) -> Fidelity:
    """The bot's live orders on `live_account` paired with its shadow's (since a time: a probation)."""
    return pair_executions(executions(uow, account=live_account, bot=bot, since=since),
                           executions(uow, account=shadow_account(live_account), bot=bot, since=since))


@attrs.frozen(kw_only=True)
class BotFidelity:
    bot: str
    live_account: str
    shadow_account: str
    figures: Fidelity

    def to_json(self, *, with_pairs: bool = False) -> dict[str, object]:
        return {"bot": self.bot, "live_account": self.live_account, "shadow_account": self.shadow_account,
                **self.figures.to_json(with_pairs=with_pairs)}


def fidelity_report(uow: UnitOfWork, *, bot: str | None = None) -> list[BotFidelity]:
    """Every live bot that has a shadow (found by the shadow accounts in the store), or one bot.
    For `quantshift golive fidelity` and the admin platform's go-live page."""
    report = []
    for ledger in sorted(uow.accounts.list(), key=lambda a: (a.account, a.bot)):
        if not ledger.account.startswith(SHADOW_PREFIX) or (bot is not None and ledger.bot != bot):
            continue
        live = ledger.account[len(SHADOW_PREFIX):]
        report.append(BotFidelity(bot=ledger.bot, live_account=live, shadow_account=ledger.account,
                                  figures=fidelity(uow, live_account=live, bot=ledger.bot)))
    return report
