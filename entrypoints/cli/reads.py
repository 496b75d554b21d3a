"""Read commands: status, trades, positions. They need only the store, never a venue."""

from __future__ import annotations

from typing import Annotated

import typer

from application.records import GLOBAL_SCOPE
from application.reports.default_account import PAPER_ACCOUNT, default_account
from application.reports.queries import TradeQuery, list_positions, list_trades
from application.reports.risk_report import risk_report
from application.reports.status import bot_statuses, instance_statuses
from entrypoints.cli.common import ConfigOption, JsonOption, checked_symbol, cli_errors, reading_container
from entrypoints.cli.output import make_output_converter, money, percent, price, print_json, print_table, quantity

AccountOption = Annotated[str | None, typer.Option("--account", help="Only this account (paper, sim-0001, ...; default: every account).")]
BotOption = Annotated[str | None, typer.Option("--bot", help="Only this bot.")]


def status(config: ConfigOption = None, json_output: JsonOption = False, account: AccountOption = None) -> None:
    """Bots with their state from the heartbeat's age (running / stale / stopped / halted), positions and P&L."""
    with cli_errors():
        container = reading_container(config)
        store = container.store()
        now = container.clock().now()
        with store.unit_of_work(read_only=True) as uow:
            statuses = bot_statuses(uow, now=now, account=account)
            instances = instance_statuses(uow, now=now, account=account)
            global_halt = uow.control.get(GLOBAL_SCOPE)
        database = str(store.path)
    if json_output:
        converter = make_output_converter()
        print_json({
            "database": database,
            "halt": converter.unstructure(global_halt) if global_halt else None,
            "bots": [
                {"account": s.account, "bot": s.bot, "state": s.liveness.value,
                 "last_heartbeat": s.heartbeat.beat_at.isoformat(),
                 "heartbeat_age_seconds": round(s.heartbeat_age_seconds, 3),
                 "heartbeat_interval_seconds": s.heartbeat.interval_seconds,
                 "pid": s.heartbeat.pid, "host": s.heartbeat.host, "mode": s.heartbeat.mode,
                 "detail": s.heartbeat.detail,
                 "trading_state": s.control.state.value if s.control else "active",
                 "halt_reason": s.control.reason if s.control and s.control.state.value != "active" else None,
                 "desired": s.desired.value,
                 "stopped_by": s.stop_request.actor if s.stop_request else None,
                 "stop_reason": s.stop_request.reason if s.stop_request else None,
                 "cash": str(s.cash), "equity": str(s.equity), "pnl": str(s.pnl),
                 "positions": [converter.unstructure(p) for p in s.positions]}
                for s in statuses
            ],
            "instances": [
                {"instance": i.instance.instance, "account": i.instance.account, "role": i.state.upper(),
                 "state": i.state, "pid": i.instance.pid, "host": i.instance.host, "bots": i.instance.bots,
                 "last_beat": i.instance.beat_at.isoformat(), "age_seconds": round(i.age_seconds, 3)}
                for i in instances
            ],
        })
        return
    print(f"database: {database}")
    if global_halt and global_halt.state.value != "active":
        print(f"ALL BOTS {global_halt.state.value.upper()}: {global_halt.reason} (by {global_halt.actor} at {global_halt.changed_at:%Y-%m-%d %H:%M:%S}Z)")
    if not statuses:
        print("no bot has run yet: try `quantshift paper --days 30`")
        return
    print_table("Bots", ["account", "bot", "state", "last heartbeat (UTC)", "age", "pid", "equity", "P&L", "positions"], [
        (s.account, s.bot, s.liveness.value + (f" ({s.stop_request.reason}, by {s.stop_request.actor})"
                                               if s.stop_request else ""), f"{s.heartbeat.beat_at:%Y-%m-%d %H:%M:%S}",
         f"{s.heartbeat_age_seconds:.1f}s", s.heartbeat.pid, money(s.equity), money(s.pnl),
         ", ".join(f"{p.symbol} {quantity(p.quantity)}" for p in s.positions) or "-")
        for s in statuses
    ])
    live = [i for i in instances if i.state in ("live", "standby", "stale")]
    if live:
        print_table("Instances", ["instance", "account", "role", "bots", "last beat age"], [
            (i.instance.instance, i.instance.account, i.state.upper(), i.instance.bots, f"{i.age_seconds:.1f}s")
            for i in live
        ])


def trades(
    config: ConfigOption = None, json_output: JsonOption = False, account: AccountOption = None,
    bot: BotOption = None,
    symbol: Annotated[str | None, typer.Option("--symbol", help="Only this symbol.")] = None,
) -> None:
    """Closed round trips (flat to flat), oldest first."""
    with cli_errors():
        symbol = checked_symbol(symbol)
        store = reading_container(config).store()
        rows = list_trades(TradeQuery(account=account, bot=bot, symbol=symbol),
                           uow_factory=lambda: store.unit_of_work(read_only=True))
    if json_output:
        converter = make_output_converter()
        print_json([{"account": a, **converter.unstructure(t), "net_pnl": str(t.net_pnl)} for a, t in rows])
        return
    print_table(f"Round trips ({len(rows)})", ["account", "bot", "symbol", "dir", "qty", "entry", "exit", "opened", "closed", "net P&L"], [
        (a, t.bot, t.symbol, t.direction.value, quantity(t.quantity), price(t.entry_price), price(t.exit_price),
         f"{t.opened_at:%Y-%m-%d %H:%M}", f"{t.closed_at:%Y-%m-%d %H:%M}", money(t.net_pnl))
        for a, t in rows
    ])


def positions(config: ConfigOption = None, json_output: JsonOption = False, account: AccountOption = None, bot: BotOption = None) -> None:
    """Open positions with average cost, last price and P&L."""
    with cli_errors():
        store = reading_container(config).store()
        rows = list_positions(account=account, bot=bot, uow_factory=lambda: store.unit_of_work(read_only=True))
    if json_output:
        print_json([make_output_converter().unstructure(row) for row in rows])
        return
    print_table(f"Open positions ({len(rows)})", ["account", "bot", "symbol", "quantity", "avg cost", "last", "unrealized P&L"], [
        (r.account, r.bot, r.symbol, quantity(r.quantity), price(r.average_cost), price(r.last_price),
         money(r.unrealized_pnl))
        for r in rows
    ])


def risk(
    account: Annotated[str | None, typer.Option("--account", help="The account (default: the continuous paper account, else the latest simulated session's).")] = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Where each bot stands: trading state, drawdown from the peak against the breaker,
    this session's P&L against the daily loss limit, and exposures."""
    with cli_errors():
        container = reading_container(config)
        store = container.store()
        with store.unit_of_work(read_only=True) as uow:
            account = account or default_account(uow) or PAPER_ACCOUNT
            rows = risk_report(uow, account=account, bots=container.bots(), now=container.clock().now())
    if json_output:
        print_json([make_output_converter().unstructure(r) for r in rows])
        return
    if not rows:
        print(f"no bot has traded in account {account} yet")
        return
    print_table(f"Risk ({account})", ["bot", "state", "equity", "drawdown (warn/limit)", "session P&L (limit)",
                                      "heat (limit)", "gross", "net"], [
        (r.bot, r.trading_state.value + (f": {r.state_reason}" if r.state_reason else ""), money(r.equity),
         percent(r.drawdown) + (f" ({percent(r.drawdown_warning)}/{percent(r.drawdown_limit)})" if r.drawdown_limit else ""),
         f"{money(r.daily_pnl)} ({r.session})" + (f" (-{money(r.daily_loss_limit)})" if r.daily_loss_limit else ""),
         "no stops" if r.heat is None else f"{money(r.heat)} ({money(r.heat_limit)})",
         money(r.exposure.gross), money(r.exposure.net))
        for r in rows
    ])
