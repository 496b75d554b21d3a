"""Hot-standby failover time on Postgres: two `quantshift paper` instances, the leader
SIGKILLed, time until the standby has submitted its first order. Median of several runs.

    .venv/bin/python benchmarks/failover.py --runs 5 [--admin-url postgresql://postgres@127.0.0.1:5432/test]
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
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql

# The same user strategy the end-to-end tests load (an intent on every bar).
STRATEGY_FILE = Path(__file__).resolve().parents[1] / "tests" / "e2e" / "user_strategies.py"

CONFIG = '''
[engine]
heartbeat_seconds = 0.5
lease_seconds = {lease}
market_fill = "this_close"
max_volume_share = 1

[risk]
max_orders_per_symbol_per_minute = 100000
max_orders_per_bot_per_minute = 100000

[[bots]]
name = "btc"
asset_class = "crypto"
symbols = ["BTC-USD"]
capital = 10000
strategy = "{strategy}:FlipFlop"
'''


def wait(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except psycopg.errors.UndefinedTable:
            value = None
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError


def one_run(admin_url: str, lease: float) -> float:
    name = f"qs_failover_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"{admin_url.rsplit('/', 1)[0]}/{name}"
    processes: list[subprocess.Popen] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            strategy = STRATEGY_FILE
            config = Path(tmp) / "bots.toml"
            config.write_text(CONFIG.format(lease=lease, strategy=strategy))
            env = {**os.environ, "QUANTSHIFT_DATABASE_URL": url, "QUANTSHIFT_VENUE_DIR": tmp}
            command = [str(Path(sys.executable).with_name("quantshift")), "paper", "--bar-seconds", "0.1",
                       "--config", str(config)]

            def query(text: str, *params):
                with psycopg.connect(url, autocommit=True) as connection:
                    return connection.execute(text, params).fetchall()

            leader = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
            processes.append(leader)
            wait(lambda: query("SELECT count(*) FROM orders WHERE submitted_at IS NOT NULL")[0][0] >= 3, 60)
            processes.append(subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL))
            time.sleep(1.5)
            killed = datetime.now().astimezone()
            os.kill(leader.pid, signal.SIGKILL)
            leader.wait()
            first = wait(lambda: query("SELECT min(recorded_at) FROM audit_log WHERE message LIKE "
                                       "'submitted to the venue%%' AND recorded_at > %s", killed)[0][0], 60)
            return (first - killed).total_seconds()
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lease-seconds", type=float, default=2.0)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    times = [one_run(args.admin_url, args.lease_seconds) for _ in range(args.runs)]
    print(json.dumps({"lease_seconds": args.lease_seconds, "runs": len(times),
                      "failover_seconds": [round(t, 3) for t in times],
                      "median_seconds": round(statistics.median(times), 2), "max_seconds": round(max(times), 2)}))


if __name__ == "__main__":
    main()
