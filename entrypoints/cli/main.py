"""The `quantshift` command."""

from __future__ import annotations

import typer

from entrypoints.cli.backtest import backtest
from entrypoints.cli.bots_command import bots_app
from entrypoints.cli.control import halt_command, resume_command
from entrypoints.cli.data_commands import data_app
from entrypoints.cli.doctor_command import doctor_command
from entrypoints.cli.health_command import health_command
from entrypoints.cli.paper import paper
from entrypoints.cli.reads import positions, risk, status, trades
from entrypoints.cli.reconcile_command import reconcile_command
from entrypoints.cli.serve import serve
from entrypoints.cli.snapshots_command import snapshots_app
from entrypoints.cli.research import montecarlo, optimize, walkforward
from entrypoints.cli.store_commands import audit, db_app
from entrypoints.cli.strategy_commands import strategy_app
from entrypoints.cli.strategies_command import strategies
from entrypoints.cli.users_command import users_app


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="quantshift",
        help="QuantShift: backtest, paper-trade and run rules-based trading bots (US equities and crypto).",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.command("paper")(paper)
    app.command("backtest")(backtest)
    app.command("status")(status)
    app.command("trades")(trades)
    app.command("positions")(positions)
    app.command("risk")(risk)
    app.command("strategies")(strategies)
    app.command("halt")(halt_command)
    app.command("resume")(resume_command)
    app.command("audit")(audit)
    app.command("reconcile")(reconcile_command)
    app.command("health")(health_command)
    app.command("doctor")(doctor_command)
    app.command("optimize")(optimize)
    app.command("walkforward")(walkforward)
    app.command("montecarlo")(montecarlo)
    app.command("serve")(serve)
    app.add_typer(db_app, name="db")
    app.add_typer(data_app, name="data")
    app.add_typer(users_app, name="users")
    app.add_typer(bots_app, name="bots")
    app.add_typer(snapshots_app, name="snapshots")
    app.add_typer(strategy_app, name="strategy")
    return app


def run() -> None:
    build_app()()
