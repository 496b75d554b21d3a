"""/metrics figures per bot, read from the store at scrape time (the bots run in other
processes): liveness and heartbeat, trading state, equity and P&L, drawdown and heat against
the configured limits, round trips and orders by status.

The limits (drawdown warning and breaker, daily loss, heat) are the bots configured for this
`serve` (its --config), matched by name, and only for bots whose process has not ended: a
finished paper session's drawdown is history, not something to page anyone about. Orders are
a gauge per status (an order moves from submitted to filled), with every status present, 0
included, so a rule's delta() has a series to start from before the first rejection.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from application.ports import Clock, UnitOfWork
from application.records import BotRunState
from application.reports.risk_report import BotRisk, risk_report
from application.reports.status import BotLiveness, BotStatus, bot_statuses
from application.trading.bot import BotSpec
from application.trading.capital_flows import stored_watermark
from domain.orders.order import OrderStatus
from domain.risk.trading_state import TradingState
from entrypoints.web.deps import Store

log = logging.getLogger("quantshift.api")

_BOT = ["account", "bot"]
Family = GaugeMetricFamily | CounterMetricFamily


class _Families:
    """The scrape's metric families by name, declared once with their help and extra labels."""

    def __init__(self) -> None:
        self._by_name: dict[str, Family] = {}

    def gauge(self, name: str, help_text: str, *extra: str) -> None:
        self._by_name[name] = GaugeMetricFamily(name, help_text, labels=[*_BOT, *extra])

    def counter(self, name: str, help_text: str) -> None:
        self._by_name[name] = CounterMetricFamily(name, help_text, labels=_BOT)

    def add(self, name: str, status: BotStatus | BotRisk, value: float, *extra: str) -> None:
        self._by_name[name].add_metric([status.account, status.bot, *extra], value)

    def one_hot(self, name: str, status: BotStatus, current: str, values: Iterable[str]) -> None:
        for value in values:
            self.add(name, status, 1 if value == current else 0, value)

    def __iter__(self) -> Iterator[Family]:
        return iter(self._by_name.values())


def _declare() -> _Families:
    f = _Families()
    f.gauge("quantshift_bot_liveness", "1 for the bot's liveness (running, stale, stopped, halted)", "liveness")
    f.gauge("quantshift_bot_heartbeat_age_seconds", "Seconds since the bot's last heartbeat")
    f.gauge("quantshift_bot_heartbeat_interval_seconds", "The bot's heartbeat interval (stale after two)")
    f.gauge("quantshift_bot_heartbeat_timestamp_seconds", "Unix time of the bot's last heartbeat")
    f.gauge("quantshift_bot_trading_state", "1 for the bot's trading state (active, reducing, halted)", "state")
    f.gauge("quantshift_bot_equity", "Equity per bot")
    f.gauge("quantshift_bot_pnl", "Equity less the starting capital per bot (realized and unrealized)")
    f.gauge("quantshift_bot_unrealized_pnl", "Unrealized P&L of the bot's open positions")
    f.gauge("quantshift_bot_open_positions", "Open positions per bot")
    f.gauge("quantshift_bot_drawdown_ratio", "Drawdown from the equity peak per bot")
    f.counter("quantshift_bot_trades", "Round trips closed per bot")
    f.counter("quantshift_bot_winning_trades", "Round trips closed with a positive net P&L per bot")
    f.gauge("quantshift_bot_realized_pnl", "Net P&L of the bot's closed round trips (commissions deducted)")
    f.gauge("quantshift_bot_orders", "Orders per bot by their current status (denied ones included)", "status")
    f.gauge("quantshift_bot_drawdown_warning_ratio", "Configured drawdown at which the bot turns REDUCING")
    f.gauge("quantshift_bot_drawdown_limit_ratio", "Configured drawdown at which the breaker halts the bot")
    f.gauge("quantshift_bot_daily_pnl", "P&L since the start of the bot's trading session (NYSE or UTC day)")
    f.gauge("quantshift_bot_daily_loss_limit", "Configured loss for the session at which the bot halts (an amount)")
    f.gauge("quantshift_bot_heat_ratio", "Summed risk to the stops of open positions, as a fraction of equity")
    f.gauge("quantshift_bot_heat_limit_ratio", "Configured maximum heat, as a fraction of equity")
    f.gauge("quantshift_bot_gross_exposure_ratio", "Gross position value as a fraction of equity")
    return f


class BotCollector(Collector):
    def __init__(self, *, store: Store, clock: Clock, bots: Sequence[BotSpec]) -> None:
        self._store = store
        self._clock = clock
        self._specs = {spec.name: spec for spec in bots}

    def collect(self) -> Iterator[Family]:
        try:
            with self._store.unit_of_work(read_only=True) as uow:
                families = self._read(uow, now=self._clock.now())
        except Exception:  # noqa: BLE001 - the store collector says quantshift_store_up 0; stay quiet here
            log.warning("metrics: bot figures not read", exc_info=True)
            return
        yield from families

    def _read(self, uow: UnitOfWork, *, now: datetime) -> _Families:
        f = _declare()
        statuses = bot_statuses(uow, now=now)
        risk = self._risk(uow, statuses, now=now)
        orders = {account: uow.orders.count_by_status(account=account) for account in {s.account for s in statuses}}
        for s in statuses:
            f.one_hot("quantshift_bot_liveness", s, s.liveness.value, (state.value for state in BotLiveness))
            f.add("quantshift_bot_heartbeat_age_seconds", s, s.heartbeat_age_seconds)
            f.add("quantshift_bot_heartbeat_interval_seconds", s, s.heartbeat.interval_seconds)
            f.add("quantshift_bot_heartbeat_timestamp_seconds", s, s.heartbeat.beat_at.timestamp())
            state = s.control.state if s.control else TradingState.ACTIVE
            f.one_hot("quantshift_bot_trading_state", s, state.value, (t.value for t in TradingState))
            f.add("quantshift_bot_equity", s, float(s.equity))
            f.add("quantshift_bot_pnl", s, float(s.pnl))
            f.add("quantshift_bot_unrealized_pnl", s, float(sum(p.unrealized_pnl for p in s.positions)))
            f.add("quantshift_bot_open_positions", s, len(s.positions))
            row = risk.get((s.account, s.bot))
            drawdown = float(row.drawdown) if row else self._drawdown(uow, s)
            if drawdown is not None:
                f.add("quantshift_bot_drawdown_ratio", s, drawdown)
            trips = [trip for _, trip in uow.trades.list(account=s.account, bot=s.bot)]
            f.add("quantshift_bot_trades", s, len(trips))
            f.add("quantshift_bot_winning_trades", s, sum(1 for trip in trips if trip.is_win))
            f.add("quantshift_bot_realized_pnl", s, float(sum(trip.net_pnl for trip in trips)))
            for status in OrderStatus:
                f.add("quantshift_bot_orders", s, orders[s.account].get((s.bot, status), 0), status.value)
            if row:
                _limits(f, row)
        return f

    def _risk(self, uow: UnitOfWork, statuses: Sequence[BotStatus], *, now: datetime) -> dict[tuple[str, str], BotRisk]:
        """The risk report's rows of the configured bots whose process has not ended."""
        watched: dict[str, list[BotSpec]] = defaultdict(list)
        for s in statuses:
            if s.bot in self._specs and s.heartbeat.run_state is not BotRunState.STOPPED:
                watched[s.account].append(self._specs[s.bot])
        return {(row.account, row.bot): row for account, specs in watched.items()
                for row in risk_report(uow, account=account, bots=specs, now=now)}

    @staticmethod
    def _drawdown(uow: UnitOfWork, s: BotStatus) -> float | None:
        """From the flow-adjusted equity peak, as the breakers measure it (None: no ledger)."""
        stored = uow.accounts.get(account=s.account, bot=s.bot)
        if stored is None:
            return None
        peak = stored_watermark(uow, account=s.account, bot=s.bot, initial_cash=stored.initial_cash,
                                equity_now=s.equity).peak
        return float((peak - s.equity) / peak) if peak > 0 else 0.0


def _limits(f: _Families, row: BotRisk) -> None:
    if row.drawdown_warning is not None and row.drawdown_limit is not None:
        f.add("quantshift_bot_drawdown_warning_ratio", row, float(row.drawdown_warning))
        f.add("quantshift_bot_drawdown_limit_ratio", row, float(row.drawdown_limit))
    f.add("quantshift_bot_daily_pnl", row, float(row.daily_pnl))
    if row.daily_loss_limit is not None:
        f.add("quantshift_bot_daily_loss_limit", row, float(row.daily_loss_limit))
    if row.equity > 0:
        f.add("quantshift_bot_gross_exposure_ratio", row, float(row.exposure.gross / row.equity))
        if row.heat is not None:
            f.add("quantshift_bot_heat_ratio", row, float(row.heat / row.equity))
        if row.heat_limit is not None:
            f.add("quantshift_bot_heat_limit_ratio", row, float(row.heat_limit / row.equity))
