"""What the simulated venue's journal costs an accelerated run.

1. venue only: the default instruments' SyntheticBarFeed bars (30 trading days, 15m) through
   build_simulated_broker, with a market order every `--every` bars of a symbol (buy/sell in
   turn), without and with a VenueJournal.
2. the whole `quantshift paper --days 30` path (SQLite store, bots, risk, audit), its broker
   built without and with a journal (the container's broker provider overridden).

    .venv/bin/python benchmarks/venue_journal_overhead.py [--days 30] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from dependency_injector import providers

from adapters.marketdata import SyntheticBarFeed
from adapters.simulated import SimulatedBrokerConfig, VenueJournal, build_simulated_broker
from domain.accounting.instrument import crypto, equity
from domain.orders.order import Order, OrderSide, OrderType

INSTRUMENTS = {"SPY": equity("SPY"), "AAPL": equity("AAPL"), "BTC-USD": crypto("BTC-USD")}


def venue_only(*, days: int, every: int, journal_dir: Path | None) -> tuple[float, int]:
    feed = SyntheticBarFeed(instruments=list(INSTRUMENTS.values()), start=date(2025, 1, 2), trading_days=days,
                            interval=timedelta(minutes=15), seed=7)
    bars = list(feed.bars())
    journal = VenueJournal(path=journal_dir / "venue.db", account="bench") if journal_dir else None
    broker = build_simulated_broker(config=SimulatedBrokerConfig(), instruments=INSTRUMENTS, journal=journal)
    seen: dict[str, int] = {}
    orders = 0
    started = time.perf_counter()
    for bar in bars:
        broker.on_bar(bar)
        broker.poll_events()
        n = seen[bar.symbol] = seen.get(bar.symbol, 0) + 1
        if n % every == 0:
            orders += 1
            side = OrderSide.BUY if (n // every) % 2 else OrderSide.SELL
            qty = Decimal("0.01") if bar.symbol == "BTC-USD" else Decimal(10)
            broker.submit(Order(client_order_id=f"{bar.symbol}-{n}", account="bench", bot="b", strategy="s",
                                symbol=bar.symbol, side=side, order_type=OrderType.MARKET, quantity=qty,
                                created_at=bar.end, signal_ts=bar.ts))
    seconds = time.perf_counter() - started
    broker.close()
    return seconds, orders


def full_session(*, days: int, journaled: bool) -> tuple[float, dict[str, object]]:
    from entrypoints.cli import paper as paper_cli
    from entrypoints.container import build_container, simulated_broker_config
    from entrypoints.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(config_file=None, environ={"QUANTSHIFT_DATABASE_URL": f"sqlite:///{tmp}/x.db"})
        container = build_container(settings)
        journal = VenueJournal(path=Path(tmp) / "venue.db", account="bench") if journaled else None
        broker = build_simulated_broker(config=simulated_broker_config(settings),
                                        instruments=container.instruments(), journal=journal)
        container.broker.override(providers.Object(broker))
        engine = settings.engine
        feed = SyntheticBarFeed(instruments=list(container.instruments().values()), start=engine.start,
                                trading_days=days, interval=engine.interval, seed=engine.seed)
        source = paper_cli._BarSource(bars=feed.bars(), span=feed.span, days=days, start=engine.start, expected=0)
        started = time.perf_counter()
        report = paper_cli._run_accelerated(container, source=source, seed=engine.seed, show_progress=False)
        seconds = time.perf_counter() - started
        broker.close()
    data = report.to_json()
    return seconds, {k: data[k] for k in ("orders", "fills", "round_trips", "equity_end")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--every", type=int, default=40, help="bars of a symbol between two orders (venue only)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    out: dict[str, object] = {"days": args.days}
    for label, journaled in (("without_journal", False), ("with_journal", True)):
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(venue_only(days=args.days, every=args.every, journal_dir=Path(tmp) if journaled else None))
        out[f"venue_only_{label}_s"] = round(statistics.median(s for s, _ in runs), 4)
        out["venue_only_orders"] = runs[0][1]
    sessions: dict[bool, list[tuple[float, dict[str, object]]]] = {False: [], True: []}
    for _ in range(args.repeat):  # interleaved, so drift in the machine's speed hits both alike
        for journaled in (False, True):
            sessions[journaled].append(full_session(days=args.days, journaled=journaled))
    for label, journaled in (("without_journal", False), ("with_journal", True)):
        out[f"session_{label}_s"] = round(statistics.median(s for s, _ in sessions[journaled]), 3)
        out[f"session_{label}_report"] = sessions[journaled][0][1]
    out["session_slowdown_pct"] = round(
        100 * (out["session_with_journal_s"] / out["session_without_journal_s"] - 1), 1)  # type: ignore[operator]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
