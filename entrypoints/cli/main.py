"""The `quantshift` command."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Annotated

import typer

from entrypoints.cli.alerts_command import alerts_app
from entrypoints.cli.backtest import backtest
from entrypoints.cli.bots_command import bots_app
from entrypoints.cli.control import halt_command, resume_command
from entrypoints.cli.data_commands import data_app
from entrypoints.cli.doctor_command import doctor_command
from entrypoints.cli.drill_command import drill_app
from entrypoints.cli.golive_command import golive_app
from entrypoints.cli.health_command import health_command
from entrypoints.cli.live import live_command
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
from entrypoints.cli.validation_command import validation_app
from entrypoints.cli.watch import watch


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="quantshift",
        help="QuantShift: backtest, paper-trade and run rules-based trading bots (US equities and crypto).",
        no_args_is_help=True,
        # Typer's --install-completion / --show-completion (bash, zsh, fish, PowerShell): see the README.
        add_completion=True,
        pretty_exceptions_enable=False,
    )
    app.callback()(_main_options)
    app.command("paper")(paper)
    app.command("live")(live_command)
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
    app.command("watch")(watch)
    app.add_typer(db_app, name="db")
    app.add_typer(data_app, name="data")
    app.add_typer(users_app, name="users")
    app.add_typer(bots_app, name="bots")
    app.add_typer(snapshots_app, name="snapshots")
    app.add_typer(strategy_app, name="strategy")
    app.add_typer(drill_app, name="drill")
    app.add_typer(validation_app, name="validation")
    app.add_typer(golive_app, name="golive")
    app.add_typer(alerts_app, name="alerts")
    return app


def installed_version() -> str:
    """The version of the installed package (its metadata), so it can never disagree with pip."""
    try:
        return package_version("quantshift")
    except PackageNotFoundError:
        return "unknown (not installed as a package)"


def _show_version(value: bool) -> None:
    if value:
        print(f"quantshift {installed_version()}")
        raise typer.Exit()


def _main_options(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Print the installed version and exit.")] = False,
) -> None:
    """QuantShift: backtest, paper-trade and run rules-based trading bots (US equities and crypto)."""


def run() -> None:
    build_app()()
