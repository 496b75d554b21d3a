"""`quantshift golive check` run time on a deployment with 30 days of records (docs/golive.md,
"Figures"): a SQLite store holding a month of a paper bot (an equity point per 15-minute bar
of every NYSE session, a signal and a risk entry per bar, 40 round trips, its heartbeat, the
drills, a backup and a test alert), then the real CLI timed N times. The Platform items are
answered by a closed port (no serve here), which fails them at once; everything else runs.

    .venv/bin/python benchmarks/golive_check.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.sqlite import SqliteStore  # noqa: E402
from application.golive.validation_clock import ensure_epoch  # noqa: E402
from application.records import AuditEntry, AuditKind, EquityPoint  # noqa: E402
from entrypoints.cli.main import installed_version  # noqa: E402
from entrypoints.golive_fingerprint import bot_fingerprint  # noqa: E402
from entrypoints.settings import load_settings  # noqa: E402
from tests.support import validation_records as records  # noqa: E402

CONFIG = """\
[web]
public_url = "http://127.0.0.1:9"

[[bots]]
name = "spy"
asset_class = "equity"
symbols = ["SPY"]
capital = 100000
sizing = "volatility"
stop = "atr"
"""


def prepare(directory: Path) -> tuple[Path, Path]:
    config = directory / "bots.toml"
    config.write_text(CONFIG)
    settings = load_settings(config_file=config, environ={})
    store = SqliteStore(path=directory / "qs.db")
    now = datetime.now(timezone.utc)
    start = now - timedelta(days=30)
    with store() as uow:
        ensure_epoch(uow, fingerprint=bot_fingerprint(settings, settings.bots[0], version=installed_version()),
                     account="paper", now=start, actor="benchmark")
        bars = [start + timedelta(minutes=15 * n) for n in range(30 * 96) if (start + timedelta(minutes=15 * n)).weekday() < 5
                and 14 <= (start + timedelta(minutes=15 * n)).hour < 21]
        uow.equity.add_many(account="paper", bot="spy",
                            points=[EquityPoint(ts=ts, equity=Decimal(100_000 + n)) for n, ts in enumerate(bars)])
        for ts in bars:
            for kind in (AuditKind.SIGNAL, AuditKind.RISK):
                uow.audit.append(AuditEntry(ts=ts, kind=kind, account="paper", bot="spy", symbol="SPY",
                                            message=f"{kind.value} at {ts:%H:%M}", data={"close": "500.1"}))
        uow.commit()
    records.write(store, bot="spy", trips=[records.trip("spy", opened=start + timedelta(hours=18 * n + 1),
                                                        closed=start + timedelta(hours=18 * n + 5),
                                                        pnl=4 if n % 3 else -2) for n in range(40)])
    records.beat(store, bot="spy", started=start, last=now)
    store.close()
    return config, directory / "qs.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config, db = prepare(Path(tmp))
        env = {**os.environ, "QUANTSHIFT_DATABASE_URL": f"sqlite:///{db}"}
        quantshift = str(Path(sys.executable).with_name("quantshift"))
        seconds = []
        for _ in range(args.runs):
            started = time.perf_counter()
            result = subprocess.run([quantshift, "golive", "check", "--bot", "spy", "--config", str(config), "--json"],
                                    env=env, capture_output=True, text=True, timeout=300)
            seconds.append(time.perf_counter() - started)
            assert result.returncode == 1, result.stderr  # the Platform items fail here by design
        with SqliteStore(path=db)() as uow:
            entries = uow.audit.count()
    print(f"golive check on 30 days of records ({entries} audit entries): median {statistics.median(seconds):.2f} s, "
          f"max {max(seconds):.2f} s over {args.runs} runs (the whole process: start, checklist, record)")


if __name__ == "__main__":
    main()
