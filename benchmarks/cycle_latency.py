"""Trading-cycle latency, from a bar's arrival to its order being submitted, including the
durable intent commit (and the ack's commit), p50 and p99, on SQLite and on Postgres.

    .venv/bin/python benchmarks/cycle_latency.py --cycles 2000 [--postgres postgresql://postgres@127.0.0.1:5432/test]

A strategy that flips its target on every bar makes every cycle submit one order to the
simulated venue (THIS_CLOSE fills, so the position really changes each time).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from adapters.log_notifier import LoggingNotifier
from adapters.simulated import MarketFill, SimulatedBrokerConfig, build_simulated_broker
from adapters.sqlite import SqliteStore
from application.trading.bot import BotSpec
from application.trading.bot_state import load_bot_state
from application.trading.trading_cycle import CycleResult, TradingCycle
from domain.accounting.instrument import crypto
from domain.accounting.market import Bar
from domain.risk.risk import RiskLimits
from domain.risk.sizing import FixedFraction
from domain.strategy import Signal, Target

T0 = datetime(2025, 1, 6, tzinfo=timezone.utc)


class FlipFlop:
    name = "flip_flop"
    warmup = 1

    def __init__(self) -> None:
        self.bars = 0  # its own count: the window it sees is bounded, its length stops changing

    def on_bar(self, window):
        self.bars += 1
        return Signal(target=Target.LONG if self.bars % 2 else Target.FLAT, bar_ts=window.last.ts)


def measure(store, *, cycles: int) -> dict[str, float]:
    instrument = crypto("BTC-USD")
    broker = build_simulated_broker(
        config=SimulatedBrokerConfig(market_fill=MarketFill.THIS_CLOSE, max_volume_share=Decimal(1)),
        instruments={"BTC-USD": instrument},
    )
    spec = BotSpec(name="bench", instruments={"BTC-USD": instrument}, strategy=FlipFlop(),
                   sizing=FixedFraction(fraction=Decimal("0.5")), capital=Decimal(100_000),
                   limits=RiskLimits(max_orders_per_symbol_per_minute=1_000_000, max_orders_per_bot_per_minute=1_000_000))
    with store() as uow:
        bot = load_bot_state(uow, spec=spec, account="bench")
        uow.commit()
    cycle = TradingCycle(uow_factory=store, broker=broker, notifier=LoggingNotifier())
    samples = []
    for i in range(cycles):
        price = Decimal(60_000 + (i % 7))
        bar = Bar(symbol="BTC-USD", ts=T0 + timedelta(minutes=i), open=price, high=price, low=price, close=price,
                  volume=Decimal(1000))
        broker.on_bar(bar)
        started = time.perf_counter()
        results = cycle.on_bar(bot, bar, now=bar.end)
        elapsed = time.perf_counter() - started
        if results == [CycleResult.SUBMITTED]:
            samples.append(elapsed * 1000)
    samples.sort()
    return {"cycles_submitting": len(samples), "p50_ms": round(statistics.median(samples), 3),
            "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 3), "max_ms": round(samples[-1], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=2000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SqliteStore(path=Path(tmp) / "bench.db")
        print(json.dumps({"store": "sqlite (WAL, synchronous=FULL)", **measure(sqlite, cycles=args.cycles)}))
        sqlite.close()
    from adapters.postgres import PostgresStore

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    postgres = PostgresStore(url=args.postgres, schema=schema)
    try:
        print(json.dumps({"store": "postgres (local, pooled)", **measure(postgres, cycles=args.cycles)}))
    finally:
        postgres.close()
        import psycopg

        with psycopg.connect(args.postgres, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
