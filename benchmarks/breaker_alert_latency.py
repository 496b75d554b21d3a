"""The bot-raised alerts' figure (docs/monitoring.md, "Figures"): the time from the drawdown
breaker's halt being recorded to its alert arriving at a loopback webhook (Apprise json://), median
and max of N `quantshift paper` sessions (accelerated, a CSV whose fall trips the breaker), each on
a fresh SQLite store. Also split: halt recorded -> the dispatcher takes it up (its "fired" entry's
time; it waits behind the drawdown warning sent a few bars earlier, whose send, the first of the
process, pays Apprise's loading), and decision -> delivered (Apprise's send).

    .venv/bin/python benchmarks/breaker_alert_latency.py --runs 10 [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.alert_drills import BREAKER_KEY, breaker_config, crash_csv  # noqa: E402
from tests.support.processes import run_quantshift  # noqa: E402
from tests.support.receivers import HttpReceiver  # noqa: E402
from tests.support.watchdog import add_hook_channel, query, titled  # noqa: E402


def one_run(tmp: Path, hook: HttpReceiver) -> dict[str, float]:
    db = tmp / "qs.db"
    env = {**os.environ, "QUANTSHIFT_DATABASE_URL": f"sqlite:///{db}", "QUANTSHIFT_VENUE_DIR": str(tmp / "venue")}
    add_hook_channel(db, hook, env)
    config = tmp / "qs.toml"
    config.write_text(breaker_config())
    before = len(titled(hook, "bot btc halted"))
    run_quantshift(env, "paper", "--config", str(config), "--data", f"BTC-USD={crash_csv(tmp / 'btc.csv')}", "--json")
    arrived = titled(hook, "bot btc halted")[before]
    (halted,), = query(db, "SELECT recorded_at FROM audit_log WHERE kind = 'halt' AND message LIKE 'halted%'")
    fired = [json.loads(d) for (d,) in query(db, "SELECT data FROM audit_log WHERE kind = 'alert'")]
    (decided,), = query(db, "SELECT ts FROM audit_log WHERE kind = 'alert' AND data LIKE ? AND data LIKE ?",
                        f'%"{BREAKER_KEY}"%', '%"fired"%')
    assert sum(1 for d in fired if d["key"] == BREAKER_KEY and d["event"] == "fired") == 1
    halted_at, decided_at = datetime.fromisoformat(halted).timestamp(), datetime.fromisoformat(decided).timestamp()
    return {"total": arrived.at - halted_at, "to_decision": decided_at - halted_at, "delivery": arrived.at - decided_at}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs = []
    with HttpReceiver() as hook:
        for index in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="qs-breaker-") as tmp:
                runs.append(one_run(Path(tmp), hook))
                print(f"run {index + 1}: {runs[-1]['total'] * 1000:.0f} ms", file=sys.stderr)
    figures = {part: {"median_ms": round(statistics.median(r[part] for r in runs) * 1000),
                      "max_ms": round(max(r[part] for r in runs) * 1000)} for part in runs[0]}
    figures["runs"] = args.runs  # type: ignore[assignment]
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for part in ("total", "to_decision", "delivery"):
            print(f"{part:12} median {figures[part]['median_ms']} ms, max {figures[part]['max_ms']} ms")


if __name__ == "__main__":
    main()
