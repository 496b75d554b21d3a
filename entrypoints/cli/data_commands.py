"""`quantshift data`: market history for backtests. `synthetic` writes the seeded generator's
bars (regimes on the real NYSE calendar; crypto 24/7) to CSV files a backtest reads."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from adapters.marketdata import SyntheticBarFeed
from domain.errors import ConfigurationError
from domain.instrument import crypto, equity
from entrypoints.cli.common import cli_errors
from entrypoints.settings import parse_timeframe

data_app = typer.Typer(help="Market history for backtests.", no_args_is_help=True)


@data_app.command("synthetic")
def synthetic(
    symbols: Annotated[str, typer.Option("--symbols", help="Comma-separated, e.g. SPY,AAPL,BTC-USD (a '-' pair is crypto, traded 24/7).")],
    days: Annotated[int, typer.Option("--days", help="NYSE trading days to cover.", min=1, max=5000)] = 60,
    timeframe: Annotated[str, typer.Option("--timeframe", help="Bar length: 1m, 15m, 1h, 1d ...")] = "15m",
    start: Annotated[str, typer.Option("--start", help="First day, YYYY-MM-DD.")] = "2025-01-02",
    seed: Annotated[int, typer.Option("--seed", help="The same seed gives the same bars.")] = 7,
    out: Annotated[Path, typer.Option("--out", help="Directory for SYMBOL.csv files.")] = Path("."),
) -> None:
    """Write seeded synthetic OHLCV bars, one CSV per symbol (timestamp,open,high,low,close,volume)."""
    with cli_errors():
        names = [s.strip() for s in symbols.split(",") if s.strip()]
        if not names:
            raise ConfigurationError("--symbols: give at least one symbol")
        try:
            interval = parse_timeframe(timeframe)
        except ValueError as exc:
            raise ConfigurationError(f"--timeframe: {exc}") from None
        try:
            first = date.fromisoformat(start)
        except ValueError:
            raise ConfigurationError(f"--start {start!r}: expected YYYY-MM-DD") from None
        instruments = [crypto(s) if "-" in s else equity(s) for s in names]
        try:
            feed = SyntheticBarFeed(instruments=instruments, start=first, trading_days=days, interval=interval, seed=seed)
        except ValueError as exc:
            raise ConfigurationError(f"synthetic data: {exc}") from exc
        out.mkdir(parents=True, exist_ok=True)
        handles = {s: (out / f"{s}.csv").open("w", encoding="utf-8") for s in names}
        counts = dict.fromkeys(names, 0)
        try:
            for handle in handles.values():
                handle.write("timestamp,open,high,low,close,volume\n")
            for bar in feed.bars():
                handles[bar.symbol].write(f"{bar.ts.isoformat()},{bar.open},{bar.high},{bar.low},{bar.close},{bar.volume}\n")
                counts[bar.symbol] += 1
        finally:
            for handle in handles.values():
                handle.close()
        for name in names:
            print(f"{out / (name + '.csv')}: {counts[name]} bars")
