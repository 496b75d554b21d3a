"""The go-live drills' figures (docs/golive.md, "Drill figures"): the kill-switch drill N times
against a real `quantshift paper` process on the simulated venue and on each loopback fake venue
(Alpaca paper, Coinbase sandbox), median and max of halt -> every open order cancelled and of
halt -> the last submission; and the failover drill on Postgres (two real instances).

    .venv/bin/python benchmarks/drills.py --runs 10 [--failover-runs 3] [--admin-url postgresql://postgres@127.0.0.1:5432/test]

The drills run in this process through the same entrypoint as `quantshift drill` (entrypoints/drills.py).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from entrypoints.container import build_container  # noqa: E402
from entrypoints.drills import run_failover_drill, run_killswitch_drill  # noqa: E402
from entrypoints.settings import load_settings  # noqa: E402
from tests.support.configs import alpaca_table, coinbase_section  # noqa: E402

QUANTSHIFT = str(Path(sys.executable).with_name("quantshift"))

EQUITY_BOT = '''
[[bots]]
name = "spy"
asset_class = "equity"
symbols = ["SPY"]
params = { fast = 10, slow = 30 }
'''
CRYPTO_BOT = '''
[[bots]]
name = "btc"
asset_class = "crypto"
symbols = ["BTC-USD"]
capital = 10000
params = { fast = 10, slow = 30 }
'''
ENGINE = '[engine]\nheartbeat_seconds = 0.5\nlease_seconds = {lease}\ntimeframe = "{timeframe}"\n'
# Each drill order is an order of the bot and counts toward its order-rate throttle (10 a minute
# per symbol by default): ten drills in half a minute would trip it, and the throttle's halt (not
# the drill's) would then hold. The benchmark opens it up; one drill a week never comes near it.
THROTTLE = """
[risk]
max_orders_per_symbol_per_minute = 100000
max_orders_per_bot_per_minute = 100000
"""


def wait(predicate: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:  # noqa: BLE001 - the store may not be made yet
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(what)


@contextmanager
def paper(env: dict[str, str], *args: str) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen([QUANTSHIFT, "paper", *args], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def running(env: dict[str, str], bot: str) -> Callable[[], bool]:
    url = env["QUANTSHIFT_DATABASE_URL"]

    def check() -> bool:
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            return bool(connection.execute("SELECT count(*) FROM heartbeats WHERE bot = ? AND run_state = 'running' "
                                           "AND detail != 'starting'", (bot,)).fetchone()[0])
    return check


def drills(env: dict[str, str], config: Path, *, venue: str, bot: str, runs: int) -> list[dict]:
    os.environ.update(env)  # the venue keys and the store, as the CLI would read them
    container = build_container(load_settings(config_file=config, environ=env))
    figures = []
    for _ in range(runs):
        entry = run_killswitch_drill(container, bot=bot, venue=venue, actor="benchmark")
        figures.append(dict(entry.data))
        time.sleep(0.3)
    return figures


def sqlite_env(tmp: str, **keys: str) -> dict[str, str]:
    return {**os.environ, "QUANTSHIFT_DATABASE_URL": f"sqlite:///{tmp}/qs.db", "QUANTSHIFT_VENUE_DIR": tmp, **keys}


def simulated(runs: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        env = sqlite_env(tmp)
        config = Path(tmp) / "bots.toml"
        config.write_text(ENGINE.format(lease=5, timeframe="15m") + THROTTLE + EQUITY_BOT)
        with paper(env, "--bar-seconds", "0.2", "--config", str(config)):
            wait(running(env, "spy"), 60, "the simulated session")
            return drills(env, config, venue="simulated", bot="spy", runs=runs)


def simulated_busy(runs: int) -> list[dict]:
    """The simulated venue with the bot sending an order on every 0.2 s bar: the halt lands in a burst."""
    from tests.support.configs import NO_ORDER_THROTTLE, flipflop_bot

    strategies = Path(__file__).resolve().parents[1] / "tests" / "e2e" / "user_strategies.py"
    with tempfile.TemporaryDirectory() as tmp:
        env = sqlite_env(tmp)
        config = Path(tmp) / "bots.toml"
        config.write_text(ENGINE.format(lease=5, timeframe="15m") + 'market_fill = "this_close"\n'
                          + NO_ORDER_THROTTLE + flipflop_bot(strategies))
        with paper(env, "--bar-seconds", "0.2", "--config", str(config)):
            wait(running(env, "btc"), 60, "the simulated session")
            return drills(env, config, venue="simulated", bot="btc", runs=runs)


def alpaca(runs: int) -> list[dict]:
    from tests.fakes.alpaca_venue import FakeAlpaca

    with tempfile.TemporaryDirectory() as tmp, FakeAlpaca() as fake:
        env = sqlite_env(tmp, ALPACA_API_KEY=fake.api_key, ALPACA_SECRET_KEY=fake.secret_key)
        config = Path(tmp) / "bots.toml"
        config.write_text(ENGINE.format(lease=5, timeframe="1m") + alpaca_table(fake) + THROTTLE + EQUITY_BOT)
        now = datetime.now(timezone.utc)
        fake.clock_fields = {"timestamp": now.isoformat(), "is_open": True,
                             "next_open": (now + timedelta(days=1)).isoformat(),
                             "next_close": (now + timedelta(hours=6)).isoformat()}
        fake.set_price("SPY", "100")
        with paper(env, "--broker", "alpaca", "--config", str(config)):
            wait(lambda: "SPY" in fake.data_stream.subscribed_bars(), 60, "the Alpaca bar subscription")
            first = now.replace(second=0, microsecond=0) - timedelta(minutes=5)
            for minute in range(2):  # a price for the bot: the drill order rests at half of it
                fake.data_stream.push_bar(symbol="SPY", ts=first + timedelta(minutes=minute), open=Decimal(100),
                                          high=Decimal(101), low=Decimal(99), close=Decimal(100), volume=10_000)
            wait(running(env, "spy"), 60, "the Alpaca session")
            time.sleep(1.0)
            return drills(env, config, venue="alpaca", bot="spy", runs=runs)


def coinbase(runs: int) -> list[dict]:
    from tests.fakes.coinbase_venue import FakeCoinbase

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "venue").mkdir()
        fake = FakeCoinbase.start(Path(tmp) / "venue")
        try:
            env = sqlite_env(tmp, COINBASE_API_KEY=fake.key.name, COINBASE_API_SECRET=fake.key.secret)
            config = Path(tmp) / "bots.toml"
            config.write_text(ENGINE.format(lease=5, timeframe="5m") + coinbase_section(fake) + THROTTLE + CRYPTO_BOT)
            fake.book.set_price("BTC-USD", Decimal(100))
            with paper(env, "--broker", "coinbase", "--sandbox", "--config", str(config)):
                wait(lambda: fake.ws.subscribers("candles") > 0, 60, "the Coinbase candle subscription")
                first = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=1)
                first -= timedelta(minutes=first.minute % 5)
                for k in range(3):  # a candle is complete when the next starts: two closed ones
                    fake.push_candle("BTC-USD", start=first + timedelta(minutes=5 * k), open="100", high="101",
                                     low="99", close="100", volume="50")
                wait(running(env, "btc"), 60, "the Coinbase session")
                time.sleep(1.0)
                return drills(env, config, venue="coinbase", bot="btc", runs=runs)
        finally:
            fake.stop()


def failover(admin_url: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        name = f"qs_drill_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = f"{admin_url.rsplit('/', 1)[0]}/{name}"
        try:
            with tempfile.TemporaryDirectory() as tmp:
                env = {**os.environ, "QUANTSHIFT_DATABASE_URL": url, "QUANTSHIFT_VENUE_DIR": tmp}
                config = Path(tmp) / "bots.toml"
                config.write_text(ENGINE.format(lease=1.5, timeframe="15m") + EQUITY_BOT)
                args = ("--bar-seconds", "0.2", "--config", str(config))

                def roles() -> list[str]:
                    with psycopg.connect(url, autocommit=True) as connection:
                        return sorted(r for (r,) in connection.execute(
                            "SELECT role FROM instances WHERE beat_at > now() - interval '2 seconds'").fetchall())

                with paper(env, *args):
                    wait(lambda: roles() == ["live"], 60, "the LIVE instance")
                    with paper(env, *args):
                        wait(lambda: roles() == ["live", "standby"], 60, "the STANDBY instance")
                        entry = run_failover_drill(build_container(load_settings(config_file=config, environ=env)),
                                                   actor="benchmark")
                        assert entry.data["passed"], entry.data
                        times.append(float(entry.data["takeover_seconds"]))  # type: ignore[arg-type]
        finally:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    return times


def summary(figures: list[dict]) -> dict[str, object]:
    cancel = [float(f["cancel_seconds"]) for f in figures]
    last = [float(f["last_submission_seconds"]) for f in figures if f["last_submission_seconds"] is not None]
    return {"runs": len(figures), "passed": sum(1 for f in figures if f["passed"]),
            "orders_open": sorted({f["orders_open"] for f in figures}),
            "cancel_median_s": round(statistics.median(cancel), 3), "cancel_max_s": round(max(cancel), 3),
            "submissions_after_halt": len(last),
            "last_submission_median_s": round(statistics.median(last), 3) if last else None,
            "last_submission_max_s": round(max(last), 3) if last else None,
            "submissions_after_1s": sum(int(f["submissions_after_1s"]) for f in figures),
            "failed": [f["detail"] for f in figures if not f["passed"]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--failover-runs", type=int, default=3)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    result: dict[str, object] = {}
    for venue, run in (("simulated", simulated), ("simulated, an order every bar", simulated_busy),
                       ("alpaca", alpaca), ("coinbase", coinbase)):
        result[venue] = summary(run(args.runs))
        print(venue, json.dumps(result[venue]), file=sys.stderr, flush=True)
    if args.failover_runs:
        times = failover(args.admin_url, args.failover_runs)
        result["failover"] = {"runs": len(times), "takeover_seconds": [round(t, 3) for t in times],
                              "median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
