"""What the dashboard shows, read from the store through the same functions the API uses:
the API's own bot rows (state, LIVE/STANDBY, heartbeat age, P&L), list_trades, risk_report,
the audit log and the equity records. No SQL, no figures of its own beyond sums and counts.

`live_overview` / `live_bot` are the parts the event stream re-sends; `overview` / `bot_page`
add what a page shows once (trades, risk, audit). Every function opens its own read-only
units of work and is sync: callers run it in a worker thread.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal

import attrs
import numpy as np

from application.ports import Clock
from application.records import GLOBAL_SCOPE, AuditEntry, ControlState, SessionRecord
from application.reports.dashboard_stats import bot_scope_key, recent_snapshots
from application.reports.default_account import pick_default, simulated_accounts
from application.reports.queries import TradeQuery, list_trades
from application.reports.risk_report import BotRisk, risk_report
from application.trading.bot import BotSpec
from domain.accounting.position import RoundTrip
from domain.analytics.metrics import drawdown_series
from domain.numbers import ZERO
from domain.risk.trading_state import TradingState
from entrypoints.web.controllers.bots import bot_rows as api_bot_rows  # the API's rows: both cannot disagree
from entrypoints.web.deps import Store
from entrypoints.web.dto import BotResponse, PositionResponse

RECENT_TRADES = 20
RECENT_AUDIT = 20
BOT_TRADES = 50
MAX_CHART_POINTS = 2000  # a phone draws 2,000 points fine; a long session has far more


@attrs.frozen(kw_only=True)
class Cards:
    """The overview's figures for one account. A card that later shows a 7-day sparkline
    (from stored daily snapshots) gets its series here and its drawing in _cards.html's slot."""

    equity: Decimal
    pnl: Decimal  # since each bot's initial cash
    today_pnl: Decimal | None  # this trading session's, from the risk report; None: no configured bot here
    open_positions: int
    trades: int
    bots_up: int  # running (a fresh heartbeat, not halted)
    bots_total: int
    # Per card key, the last 7 UTC days' values from the stored daily snapshots of this
    # account's bots (summed per day), oldest first; a day without a snapshot is absent.
    sparklines: Mapping[str, tuple[float, ...]] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class LiveOverview:
    account: str | None
    halt: ControlState | None  # the global switch, when it is not ACTIVE
    bots: tuple[BotResponse, ...]
    positions: tuple[PositionResponse, ...]
    cards: Cards

    @property
    def halted_bots(self) -> tuple[BotResponse, ...]:
        return tuple(b for b in self.bots if b.trading_state != TradingState.ACTIVE.value)


@attrs.frozen(kw_only=True)
class Overview:
    live: LiveOverview
    accounts: tuple[str, ...]  # the continuous ones (paper, a venue's): a chip each
    simulated: tuple[str, ...]  # accelerated sessions, newest first: one menu, however many pile up
    trades: tuple[tuple[str, RoundTrip], ...]  # newest first
    risk: tuple[BotRisk, ...]
    audit: tuple[AuditEntry, ...]  # newest first, every account's (a global halt belongs to none)


@attrs.frozen(kw_only=True)
class LiveBot:
    account: str
    halt: ControlState | None
    bot: BotResponse


@attrs.frozen(kw_only=True)
class BotPage:
    live: LiveBot
    risk: BotRisk | None
    trades: tuple[tuple[str, RoundTrip], ...]  # newest first


def global_halt(store: Store) -> ControlState | None:
    with store.unit_of_work(read_only=True) as uow:
        state = uow.control.get(GLOBAL_SCOPE)
    return state if state is not None and state.state is not TradingState.ACTIVE else None


def chosen_account(requested: str | None, *, sessions: Sequence[SessionRecord], known: Sequence[str]) -> str | None:
    """The account asked for, else the default account's (application/reports/default_account.py: the
    continuous paper account before the simulated sessions), else any with a bot."""
    if requested:
        return requested
    default = pick_default(sessions)
    return default if default in known or not known else known[0]


def live_overview(store: Store, clock: Clock, *, account: str | None, specs: Sequence[BotSpec]) -> LiveOverview:
    bots = tuple(api_bot_rows(store, clock, account=account)) if account else ()
    return _live_overview(store, clock, account=account, bots=bots, specs=specs)


def overview(store: Store, clock: Clock, *, account: str | None, specs: Sequence[BotSpec]) -> Overview:
    every_bot = api_bot_rows(store, clock, account=None)
    with store.unit_of_work(read_only=True) as uow:
        sessions = uow.sessions.list()
    known = sorted({b.account for b in every_bot})
    chosen = chosen_account(account, sessions=sessions, known=known)
    simulated = simulated_accounts(sessions)
    started = {s.account: s.started_at for s in sessions}
    newest_first = sorted((a for a in known if a in simulated), key=lambda a: (started[a], a), reverse=True)
    live = _live_overview(store, clock, account=chosen, bots=tuple(b for b in every_bot if b.account == chosen),
                          specs=specs)
    trades = _trades(store, account=chosen, bot=None) if chosen else []
    with store.unit_of_work(read_only=True) as uow:
        risk = risk_report(uow, account=chosen, bots=specs, now=clock.now()) if chosen else []
        audit = uow.audit.list(limit=RECENT_AUDIT)
    return Overview(live=live, accounts=tuple(a for a in known if a not in simulated), simulated=tuple(newest_first),
                    trades=tuple(reversed(trades[-RECENT_TRADES:])), risk=tuple(risk),
                    audit=tuple(reversed(audit)))


def live_bot(store: Store, clock: Clock, *, account: str, bot: str) -> LiveBot | None:
    found = [b for b in api_bot_rows(store, clock, account=account) if b.bot == bot]
    if not found:
        return None
    return LiveBot(account=account, halt=global_halt(store), bot=found[0])


def bot_page(store: Store, clock: Clock, *, account: str, bot: str, specs: Sequence[BotSpec]) -> BotPage | None:
    live = live_bot(store, clock, account=account, bot=bot)
    if live is None:
        return None
    with store.unit_of_work(read_only=True) as uow:
        rows = risk_report(uow, account=account, bots=[s for s in specs if s.name == bot], now=clock.now())
    trades = _trades(store, account=account, bot=bot)
    return BotPage(live=live, risk=rows[0] if rows else None, trades=tuple(reversed(trades[-BOT_TRADES:])))


def equity_series(store: Store, *, account: str, bot: str) -> dict[str, list[float]]:
    """The bot's equity curve and its drawdown from the running peak, for the charts: unix
    seconds and floats (drawing only; the figures on the page stay Decimal). Thinned to at
    most MAX_CHART_POINTS, the last point always kept."""
    with store.unit_of_work(read_only=True) as uow:
        points = [p for _, p in uow.equity.list(account=account, bot=bot)]
    if not points:
        return {"t": [], "equity": [], "drawdown": []}
    equity = np.array([float(p.equity) for p in points])
    drawdown = drawdown_series(equity) if np.all(equity > 0) else np.zeros_like(equity)
    keep = np.unique(np.append(np.linspace(0, len(points) - 1, num=min(len(points), MAX_CHART_POINTS)).astype(int),
                               len(points) - 1))
    return {"t": [points[i].ts.timestamp() for i in keep], "equity": [round(float(equity[i]), 2) for i in keep],
            "drawdown": [round(float(drawdown[i]) * 100, 4) for i in keep]}


def _live_overview(store: Store, clock: Clock, *, account: str | None, bots: tuple[BotResponse, ...],
                   specs: Sequence[BotSpec]) -> LiveOverview:
    positions = tuple(p for b in bots for p in b.positions)
    today: Decimal | None = None
    trades = 0
    if account:
        with store.unit_of_work(read_only=True) as uow:
            rows = risk_report(uow, account=account, bots=specs, now=clock.now())
        today = sum((r.daily_pnl for r in rows), ZERO) if rows else None
        trades = len(_trades(store, account=account, bot=None))
    cards = Cards(equity=sum((b.equity for b in bots), ZERO), pnl=sum((b.pnl for b in bots), ZERO), today_pnl=today,
                  open_positions=len(positions), trades=trades, bots_up=sum(b.state == "running" for b in bots),
                  bots_total=len(bots), sparklines=_sparklines(store, clock, bots=bots))
    return LiveOverview(account=account, halt=global_halt(store), bots=bots, positions=positions, cards=cards)


# Card key -> the snapshot figure its sparkline draws.
_SPARKLINE_FIGURES = {"equity": "equity", "today": "pnl_today", "positions": "open_positions",
                      "trades": "trades_total", "bots": "bots_up"}


def _sparklines(store: Store, clock: Clock, *, bots: Sequence[BotResponse]) -> dict[str, tuple[float, ...]]:
    """Per card, the account's daily values: each bot's snapshot figure summed per day."""
    per_day: dict[str, dict[object, float]] = {key: defaultdict(float) for key in _SPARKLINE_FIGURES}
    now = clock.now()
    with store.unit_of_work(read_only=True) as uow:
        for bot in bots:
            for snapshot in recent_snapshots(uow, scope=bot_scope_key(bot.account, bot.bot), now=now):
                for key, figure in _SPARKLINE_FIGURES.items():
                    value = snapshot.figures.get(figure)
                    if value is not None:
                        per_day[key][snapshot.day] += float(value)
    return {key: tuple(days[d] for d in sorted(days)) for key, days in per_day.items() if len(days) >= 2}


def _trades(store: Store, *, account: str, bot: str | None) -> list[tuple[str, RoundTrip]]:
    return list_trades(TradeQuery(account=account, bot=bot), uow_factory=lambda: store.unit_of_work(read_only=True))
