"""`quantshift data`: market history for backtests. `synthetic` writes the seeded generator's
bars (regimes on the real NYSE calendar; crypto 24/7), `download` a venue's history (Alpaca
for equities, Coinbase for crypto), to CSV files a backtest reads."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Annotated

import typer

from adapters.clock import SystemClock
from adapters.marketdata import SyntheticBarFeed
from domain.accounting.instrument import AssetClass, crypto, equity
from domain.accounting.market import Bar
from domain.errors import ConfigurationError
from domain.symbols import asset_class_of, check_symbol
from entrypoints.cli.common import ConfigOption, cli_errors
from entrypoints.cli.output_files import ForceOption, prepare_directory
from entrypoints.settings import load_settings, parse_timeframe
from entrypoints.venues import REAL_VENUES, build_venue

CSV_HEADER = "timestamp,open,high,low,close,volume\n"

data_app = typer.Typer(help="Market history for backtests.", no_args_is_help=True)


@data_app.command("synthetic")
def synthetic(
    symbols: Annotated[str, typer.Option("--symbols", help="Comma-separated, e.g. SPY,AAPL,BTC-USD (a '-' pair is crypto, traded 24/7).")],
    days: Annotated[int, typer.Option("--days", help="NYSE trading days to cover.", min=1, max=5000)] = 60,
    timeframe: Annotated[str, typer.Option("--timeframe", help="Bar length: 1m, 15m, 1h, 1d ...")] = "15m",
    start: Annotated[str, typer.Option("--start", help="First day, YYYY-MM-DD.")] = "2025-01-02",
    seed: Annotated[int, typer.Option("--seed", help="The same seed gives the same bars.")] = 7,
    out: Annotated[Path, typer.Option("--out", help="Directory for SYMBOL.csv files.")] = Path("."),
    force: ForceOption = False,
) -> None:
    """Write seeded synthetic OHLCV bars, one CSV per symbol (timestamp,open,high,low,close,volume)."""
    with cli_errors():
        names, interval = _symbols(symbols), _interval(timeframe)
        try:
            first = date.fromisoformat(start)
        except ValueError:
            raise ConfigurationError(f"--start {start!r}: expected YYYY-MM-DD") from None
        instruments = [crypto(s) if asset_class_of(s) is AssetClass.CRYPTO else equity(s) for s in names]
        try:
            feed = SyntheticBarFeed(instruments=instruments, start=first, trading_days=days, interval=interval, seed=seed)
        except ValueError as exc:
            raise ConfigurationError(f"synthetic data: {exc}") from exc
        prepare_directory(out, option="--out", names=[f"{s}.csv" for s in names], force=force)
        paths = {s: out / f"{s}.csv" for s in names}
        # Written beside and renamed at the end, as downloads are: never half a file where a
        # backtest reads, and an overwritten file (--force) is replaced whole or not at all.
        partials = {s: path.with_suffix(".csv.partial") for s, path in paths.items()}
        handles = {s: partial.open("w", encoding="utf-8") for s, partial in partials.items()}
        counts = dict.fromkeys(names, 0)
        try:
            for handle in handles.values():
                handle.write(CSV_HEADER)
            for bar in feed.bars():
                handles[bar.symbol].write(_csv_row(bar))
                counts[bar.symbol] += 1
        except BaseException:
            for s, handle in handles.items():
                handle.close()
                partials[s].unlink(missing_ok=True)
            raise
        for s, handle in handles.items():
            handle.close()
            partials[s].replace(paths[s])
        for name in names:
            print(f"{paths[name]}: {counts[name]} bars")


def _symbols(text: str, *, asset_class: AssetClass | None = None) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise ConfigurationError("--symbols: give at least one symbol")
    for name in names:  # a symbol names the file it is written to: nothing else may pass
        try:
            check_symbol(name, asset_class=asset_class)
        except ValueError as exc:
            raise ConfigurationError(f"--symbols: {exc}") from None
    return names


def _interval(timeframe: str) -> timedelta:
    try:
        return parse_timeframe(timeframe)
    except ValueError as exc:
        raise ConfigurationError(f"--timeframe: {exc}") from None


def _csv_row(bar: Bar) -> str:
    return f"{bar.ts.isoformat()},{bar.open},{bar.high},{bar.low},{bar.close},{bar.volume}\n"


def _write_csv(path: Path, bars: Iterable[Bar]) -> int:
    """Written to a temporary file and renamed: an interrupted download never leaves half a file
    where a backtest would read it."""
    partial = path.with_suffix(".csv.partial")
    count = 0
    with partial.open("w", encoding="utf-8") as handle:
        handle.write(CSV_HEADER)
        for bar in bars:
            handle.write(_csv_row(bar))
            count += 1
    partial.replace(path)
    return count


def _day_or_time(text: str, *, option: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(f"{option} {text!r}: expected YYYY-MM-DD or an ISO time") from None
    if len(text) == 10:  # a day: its UTC midnight
        parsed = datetime.combine(parsed.date(), time(0), tzinfo=timezone.utc)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@data_app.command("download")
def download(
    source: Annotated[str, typer.Option("--source", help="alpaca (US equities) or coinbase (crypto).")],
    symbols: Annotated[str, typer.Option("--symbols", help="Comma-separated, e.g. SPY,AAPL or BTC-USD,ETH-USD.")],
    start: Annotated[str, typer.Option("--start", help="First day (YYYY-MM-DD, UTC) or an ISO time.")],
    end: Annotated[str, typer.Option("--end", help="End, exclusive (YYYY-MM-DD, UTC) or an ISO time.")],
    timeframe: Annotated[str, typer.Option("--timeframe", help="Bar length: 1m, 5m, 15m, 1h, 1d ...")] = "1d",
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Coinbase: the sandbox host.")] = False,
    out: Annotated[Path, typer.Option("--out", help="Directory for SYMBOL.csv files.")] = Path("."),
    force: ForceOption = False,
    config: ConfigOption = None,
) -> None:
    """Download a venue's bars for backtests, one CSV per symbol (timestamp,open,high,low,close,volume).

    Keys from the environment (ALPACA_API_KEY/ALPACA_SECRET_KEY or COINBASE_API_KEY/COINBASE_API_SECRET).
    Every bar passes the data sanity gate; a bad one stops the download and names it."""
    with cli_errors():
        if source not in REAL_VENUES:
            raise ConfigurationError(f"--source {source!r}: use one of {', '.join(REAL_VENUES)}")
        names = _symbols(symbols, asset_class=AssetClass.EQUITY if source == "alpaca" else AssetClass.CRYPTO)
        interval = _interval(timeframe)
        first, last = _day_or_time(start, option="--start"), _day_or_time(end, option="--end")
        if last <= first:
            raise ConfigurationError(f"--end {end} must be after --start {start}")
        settings = load_settings(config_file=config, require_bots=False)  # venue settings only
        prepare_directory(out, option="--out", names=[f"{name}.csv" for name in names], force=force)
        venue = build_venue(source, settings, environ=os.environ, clock=SystemClock(), sandbox=sandbox)  # type: ignore[arg-type]
        try:
            for name in names:
                bars = venue.history.history(symbol=name, start=first, end=last, interval=interval)
                path = out / f"{name}.csv"
                print(f"{path}: {_write_csv(path, bars)} bars")
        finally:
            venue.close()
