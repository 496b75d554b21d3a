"""`quantshift paper`: paper trading on the simulated venue with synthetic data."""

from __future__ import annotations

import itertools
import os
import signal
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import attrs
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from adapters.marketdata import CsvBarFeed, SyntheticBarFeed
from adapters.marketdata.merge import merge_bars
from application.records import SessionRecord
from application.reports.risk_report import denial_line
from application.reports.validation_report import ValidationReport, build_validation_report
from application.trading.paper_session import PaperSession, SessionSettings
from application.trading.session_end import OnStop
from application.venues.venue_health import MeasuredBroker
from domain.accounting.market import Bar
from domain.analytics.golive import GoLiveCriteria
from domain.errors import ConfigurationError
from entrypoints.cli.common import (
    ConfigOption,
    JsonOption,
    LogFormatOption,
    cli_errors,
    container_for,
    fail,
    process_info,
    setup_logging,
)
from entrypoints.cli.output import money, percent, print_json, print_table, ratio
from entrypoints.cli.paper_progress import DayProgress
from entrypoints.cli.paper_realtime import run_realtime
from entrypoints.container import SIMULATED_VENUE, Container
from entrypoints.faults import faults_from_environment
from entrypoints.logging_setup import LogFormat, LogLines, json_logging
from entrypoints.venues import REAL_VENUES



def paper(
    days: Annotated[int | None, typer.Option("--days", help="Run an accelerated session of N trading days and print the validation report.", min=1, max=2000)] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the synthetic market data (default from the config).")] = None,
    start: Annotated[str | None, typer.Option("--start", help="First day of an accelerated session, YYYY-MM-DD.")] = None,
    bar_seconds: Annotated[float | None, typer.Option("--bar-seconds", help="Real-time mode: seconds per bar (default: the configured timeframe).", min=0.05)] = None,
    duration: Annotated[float | None, typer.Option("--duration", help="Real-time mode: stop cleanly after this many seconds.", min=0.1)] = None,
    data: Annotated[list[str] | None, typer.Option("--data", help="Replay bars from CSV instead of synthetic data: SYMBOL=PATH (timestamp,open,high,low,close,volume), once per configured symbol.")] = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log alerts and decisions to stderr; with --days or --data, also one line per trading day (orders sent and denied, each bot's equity and trading state).")] = False,
    broker: Annotated[str, typer.Option("--broker", help="simulated (built in, no keys), alpaca (its paper account: equity bots) or coinbase (with --sandbox: crypto bots). Real venues stream bars and order updates; keys from the environment.")] = SIMULATED_VENUE,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Coinbase: trade on Coinbase's sandbox.")] = False,
    log_format: LogFormatOption = LogFormat.TEXT,
) -> None:
    """Paper-trade the configured bots on the built-in simulated broker.

    Without --days it runs continuously in real time (Ctrl-C or SIGTERM stops it cleanly).
    With --days N it runs N trading days of synthetic data as fast as it can and prints the
    go/no-go validation report against the go-live criteria.
    """
    setup_logging(verbose=verbose, log_format=log_format)
    with cli_errors(environment="paper"):
        container = container_for(config)
        settings = container.settings()
        if broker not in (SIMULATED_VENUE, *REAL_VENUES):
            raise ConfigurationError(f"--broker {broker!r}: use simulated, {' or '.join(REAL_VENUES)}")
        if broker != SIMULATED_VENUE:
            if days is not None or data:
                raise ConfigurationError(f"--broker {broker}: --days and --data replay history on the simulated "
                                         "broker; a real venue trades in real time")
            run_realtime(container, bar_seconds=None, duration=duration, seed=None, venue=broker, sandbox=sandbox)
            return
        if sandbox:
            raise ConfigurationError("--sandbox goes with --broker coinbase")
        if data:
            report = _run_accelerated(container, source=_csv_source(container, data), seed=None,
                                      show_progress=not json_output, verbose=verbose)
            _show(report, json_output=json_output)
            return
        if days is None:
            run_realtime(container, bar_seconds=bar_seconds, duration=duration, seed=seed)
            return
        first_day = settings.engine.start
        if start is not None:
            try:
                first_day = date.fromisoformat(start)
            except ValueError:
                fail(f"--start {start!r} is not a date like 2025-01-02", code=2)
        seed = settings.engine.seed if seed is None else seed
        feed = SyntheticBarFeed(instruments=list(container.instruments().values()), start=first_day,
                                trading_days=days, interval=settings.engine.interval, seed=seed)
        source = _BarSource(bars=feed.bars(), span=feed.span, days=days, start=first_day,
                            expected=_expected_bars(container, days=days, span=feed.span))
        report = _run_accelerated(container, source=source, seed=seed, show_progress=not json_output,
                                  verbose=verbose)
        _show(report, json_output=json_output)


def _show(report: ValidationReport, *, json_output: bool) -> None:
    if json_output:
        print_json(report.to_json())
    else:
        _print_report(report)


@attrs.define(kw_only=True)
class _BarSource:
    bars: Iterator[Bar]
    span: tuple[datetime, datetime] | None  # None: known only once the bars are read
    days: int | None
    start: date | None
    expected: int | None  # for the progress bar


def _csv_source(container: Container, data: list[str]) -> _BarSource:
    instruments = container.instruments()
    interval = container.settings().engine.interval
    files: dict[str, Path] = {}
    for item in data:
        symbol, sep, path = item.partition("=")
        if not sep or not symbol or not path:
            raise ConfigurationError(f"--data {item!r}: expected SYMBOL=PATH")
        if symbol not in instruments:
            raise ConfigurationError(f"--data {item!r}: {symbol} is not traded by any configured bot")
        files[symbol] = Path(path)
    missing = sorted(set(instruments) - set(files))
    if missing:
        raise ConfigurationError(f"--data: no CSV file for {', '.join(missing)} (give one per configured symbol)")
    now = container.clock().now()  # the replay runs on bar time; a bar after the wall clock is refused
    feeds = [CsvBarFeed(path=files[s], instrument=instruments[s], interval=interval, now=now).bars()
             for s in sorted(files)]
    return _BarSource(bars=merge_bars(feeds), span=None, days=None, start=None, expected=None)


class _DayCounter:
    """Counts the trading days a replay covers (UTC dates with at least one bar)."""

    def __init__(self) -> None:
        self.days: set[date] = set()
        self.first: Bar | None = None
        self.last: Bar | None = None

    def see(self, bar: Bar) -> None:
        self.days.add(bar.ts.date())
        self.first = self.first or bar
        self.last = bar


def _run_accelerated(container: Container, *, source: _BarSource, seed: int | None, show_progress: bool,
                     verbose: bool = False) -> ValidationReport:
    settings = container.settings()
    store = container.store()
    clock = container.clock()
    with store() as uow:
        account = uow.sessions.new_simulation_account()
        uow.sessions.start(SessionRecord(
            account=account, mode="simulation", seed=seed, trading_days=source.days, started_at=clock.now(),
            config={"start": source.start.isoformat() if source.start else None, "timeframe": settings.engine.timeframe,
                    "bots": [b.name for b in settings.bots], "data": "synthetic" if seed is not None else "csv"},
        ))
        uow.commit()
    session = PaperSession(
        settings=SessionSettings(account=account, mode="simulation",
                                 heartbeat_seconds=settings.engine.heartbeat_seconds,
                                 evaluations_per_bar=settings.engine.evaluations_per_bar,
                                 size_at_open=settings.engine.market_fill == "next_open",
                                 on_stop=OnStop(settings.engine.on_stop), reject_streak=settings.alerts.reject_streak),
        bots=container.bots(), uow_factory=store,
        broker=MeasuredBroker(inner=container.broker(), venue=SIMULATED_VENUE, recorder=container.health()),
        venue=container.broker(), notifier=container.notifier(), wall_clock=clock, process=process_info(),
        faults=faults_from_environment(os.environ), allocation=container.allocation(),
        # Flushed with the heartbeats (every few wall-clock seconds and at the end), into wall-clock
        # minutes: latency is wall-clock time, and simulated days pass in seconds here.
        health=container.health(), errors=container.error_reporter(),
    )
    # SIGTERM ends an accelerated run like Ctrl-C: cleanly, with heartbeats that say stopped.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    counter = _DayCounter()
    bars = _peek_first(source.bars, counter)
    session.start(now=source.span[0] if source.span else (counter.first.ts if counter.first else clock.now()))
    console = Console(stderr=True)
    label = f"{source.days} trading days" if source.days else "CSV replay"
    # In a JSON-logging process the day lines are log records, and no progress bar draws on stderr.
    days_told = DayProgress(tally=session.tally, states=lambda: session.states,
                            out=LogLines(logger="quantshift.paper") if json_logging() else None) if verbose else None
    # The day lines are the progress when verbose; a bar redrawn between them would garble both.
    with Progress(TextColumn(f"[bold]{account}[/] {label}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console,
                  disable=verbose or json_logging() or not (show_progress and console.is_terminal)) as bar:
        task = bar.add_task("bars", total=source.expected)

        def advance(b: Bar) -> None:
            counter.see(b)
            bar.advance(task)
            if days_told is not None:
                days_told.see(b)

        try:
            session.run_accelerated(bars, on_bar=advance)
        except (KeyboardInterrupt, Exception) as exc:
            # Bad data mid-replay (or a defect): what was recorded stays; the bots say they
            # stopped, and why, rather than look stale forever.
            session.stop(now=counter.last.end if counter.last else clock.now(),
                         detail=f"aborted: {exc}" if str(exc) else "interrupted")
            raise
    if days_told is not None:
        days_told.finish()
    end = source.span[1] if source.span else (counter.last.end if counter.last else clock.now())
    session.stop(now=end)
    days = source.days if source.days is not None else len(counter.days)
    g = settings.golive
    with store.unit_of_work(read_only=True) as uow:
        report = build_validation_report(uow, account=account, trading_days=days, criteria=GoLiveCriteria(
            min_trading_days=g.min_trading_days, min_trades=g.min_trades,
            min_win_rate=g.min_win_rate, max_drawdown=g.max_drawdown))
    with store() as uow:
        uow.sessions.finish(account=account, finished_at=clock.now(), report=report.to_json())
        uow.commit()
    return report


def _raise_keyboard_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _peek_first(bars: Iterator[Bar], counter: _DayCounter) -> Iterator[Bar]:
    """Read the first bar before the session starts (a CSV replay starts at its first bar);
    a bad first row fails here, before anything is recorded."""
    first = next(bars, None)
    if first is None:
        return iter(())
    counter.first = first
    return itertools.chain([first], bars)


def _expected_bars(container: Container, *, days: int, span: tuple) -> int:
    """An estimate for the progress bar only (equities trade 6.5 h a day, crypto 24 h)."""
    interval = container.settings().engine.interval
    total = 0
    for instrument in container.instruments().values():
        hours = (span[1] - span[0]).total_seconds() / 3600 if instrument.trades_around_the_clock else 6.5 * days
        total += int(hours * 3600 / interval.total_seconds())
    return total


def _print_report(report: ValidationReport) -> None:
    console = Console()
    verdict = "[bold green]GO[/]" if report.go_live else "[bold red]NO-GO[/]"
    console.print(f"\nPaper-trading validation report ({report.account}, {report.trading_days} trading days): {verdict}")
    if report.denied_by:  # before the figures: they read differently with it
        console.print(f"[bold red]RISK[/] {denial_line(report.denied_by)}")
    print_table("Figures", ["figure", "value"], [
        ("orders sent", report.orders), ("orders denied by risk", report.orders_denied), ("fills", report.fills),
        ("round trips", report.round_trips), ("win rate", percent(report.win_rate)),
        ("max drawdown (from peak)", percent(report.max_drawdown)),
        ("profit factor", ratio(report.profit_factor)),
        ("Sharpe (daily, annualised)", ratio(report.sharpe)),
        ("equity start", money(report.equity_start)), ("equity end", money(report.equity_end)),
        ("critical errors", report.critical_errors), ("open positions", report.open_positions),
    ], console=console)
    print_table("Go-live criteria", ["criterion", "required", "value", "result"], [
        # A criterion stated in percent reads its value in percent (0.062092 is 6.21 %).
        (c.name, c.requirement, percent(c.value) if "%" in c.requirement else c.value, "PASS" if c.passed else "FAIL")
        for c in report.criteria
    ], console=console)
    print_table("Bots", ["bot", "round trips", "net P&L", "equity start", "capital moved", "equity end"], [
        (b.bot, b.round_trips, money(b.net_pnl), money(b.equity_start), money(b.capital_moved), money(b.equity_end))
        for b in report.bots
    ], console=console)


