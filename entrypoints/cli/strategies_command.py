"""`quantshift strategies`: each strategy's capital, weight and performance in an account."""

from __future__ import annotations

from typing import Annotated

import typer

from application.reports.default_account import default_account
from application.reports.strategy_report import strategy_report
from entrypoints.cli.common import ConfigOption, JsonOption, cli_errors, reading_container
from entrypoints.cli.output import money, percent, print_json, print_table, ratio


def strategies(
    account: Annotated[str | None, typer.Option("--account", help="The account (default: the continuous paper account, else the latest simulated session's).")] = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Per strategy: weight, equity, P&L, win rate, profit factor, Sharpe, drawdown (capital
    moved by the allocator taken out), the correlation of strategy returns, switched-off strategies."""
    with cli_errors():
        container = reading_container(config)
        store = container.store()
        names = {spec.name: spec.strategy.name for spec in container.bots()}
        with store.unit_of_work(read_only=True) as uow:
            chosen = account or default_account(uow)
            report = strategy_report(uow, account=chosen, strategy_names=names) if chosen else None
    if report is None or not report.sleeves:
        if json_output:
            print_json({"account": account, "strategies": []})
        else:
            print("no strategy has run yet" + (f" in account {account}" if account else ""))
        return
    if json_output:
        print_json(report.to_json())
        return
    print_table(f"Strategies ({report.account})",
                ["bot", "strategy", "weight", "equity", "net P&L", "trades", "win rate", "profit factor", "Sharpe",
                 "max DD"], [
        (s.bot, s.strategy, percent(s.weight), money(s.equity), money(s.net_pnl), s.trades, percent(s.win_rate),
         ratio(s.profit_factor, missing="-"), ratio(s.sharpe), percent(s.max_drawdown))
        for s in report.sleeves
    ])
    for a, b, c in report.correlations:
        print(f"return correlation {a} / {b}: {c:+.2f}")
    for line in report.disabled:
        print(f"DISABLED {line}")
    if report.last_rebalance:
        print(f"last rebalance: {report.last_rebalance}")
