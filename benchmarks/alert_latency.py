"""The watchdog's figures (docs/monitoring.md, "Figures"): the time from an event to its alert
delivered at a loopback webhook (Apprise json://), median and max of N, with a real-time
`quantshift paper` session and `quantshift watch` beside it on one SQLite store:

- killed: the session SIGKILLed -> "bot crashed". On the bot's host the watchdog sees the pid
  gone at its next tick, so this is bounded by the watchdog's interval, not the heartbeat's.
- frozen: the session SIGSTOPped -> "bot stale". What a crash on another host looks like to the
  watchdog (a pid there tells nothing): known only once no beat came for stale_after_beats
  heartbeat intervals, so bounded below by stale_after_beats x heartbeat_seconds.

    .venv/bin/python benchmarks/alert_latency.py --runs 10 [--heartbeat 5] [--interval 1] [--json]

Defaults are the product's: [engine] heartbeat_seconds = 5, [watchdog] interval_seconds = 1.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.processes import stop_process  # noqa: E402
from tests.support.receivers import HttpReceiver  # noqa: E402
from tests.support.waiting import wait_until  # noqa: E402
from tests.support.watchdog import (  # noqa: E402
    add_hook_channel,
    kill_and_time,
    query,
    start,
    wait_beating,
    wait_leading,
    watch_config,
)


def one_session(*, kind: str, tmp: Path, env: dict[str, str], config: Path, hook: HttpReceiver,
                heartbeat: float, run: int) -> float:
    db = tmp / "qs.db"
    # The previous session's beat must be stale first: a start refuses a bot another pid beats for.
    def stale() -> bool:
        now = datetime.now(timezone.utc)
        return all((now - datetime.fromisoformat(beat)).total_seconds() > 2.2 * heartbeat
                   for (beat,) in query(db, "SELECT beat_at FROM heartbeats WHERE run_state = 'running'"))

    wait_until(stale, timeout=6 * heartbeat + 30, interval=0.2, message="the previous session's beat to go stale")
    paper = start(["paper", "--bar-seconds", "1", "--config", str(config)], env=env, log=tmp / f"paper-{run}.log")
    try:
        wait_beating(db, paper, timeout=60)
        time.sleep(random.uniform(0, heartbeat))  # anywhere in the heartbeat's cycle
        if kind == "killed":
            return kill_and_time(paper, hook, title="bot crashed: paper/btc", timeout=30)
        return kill_and_time(paper, hook, title="bot stale: paper/btc", sig=signal.SIGSTOP,
                             timeout=10 * heartbeat + 30)
    finally:
        paper.kill()
        paper.wait()


def measure(*, runs: int, heartbeat: float, interval: float) -> dict[str, object]:
    figures: dict[str, object] = {"runs": runs, "heartbeat_seconds": heartbeat, "interval_seconds": interval,
                                  "stale_after_beats": 2}
    with tempfile.TemporaryDirectory(prefix="alert-latency-") as directory, HttpReceiver() as hook:
        tmp = Path(directory)
        env = {**os.environ, "QUANTSHIFT_DATABASE_URL": f"sqlite:///{tmp / 'qs.db'}",
               "QUANTSHIFT_VENUE_DIR": str(tmp / "venue")}
        config = tmp / "watch.toml"
        config.write_text(watch_config(heartbeat=heartbeat, interval=interval, lease=max(5.0, 3 * interval)))
        add_hook_channel(tmp / "qs.db", hook, env)
        watch = start(["watch", "--config", str(config)], env=env, log=tmp / "watch.log")
        try:
            wait_leading(tmp / "qs.db", watch, timeout=60)
            for kind in ("killed", "frozen"):
                seconds = [one_session(kind=kind, tmp=tmp, env=env, config=config, hook=hook, heartbeat=heartbeat,
                                       run=run) for run in range(runs)]
                figures[kind] = {"median_seconds": round(statistics.median(seconds), 3),
                                 "max_seconds": round(max(seconds), 3), "all": [round(s, 3) for s in seconds]}
                print(f"{kind}: median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s "
                      f"({', '.join(f'{s:.2f}' for s in seconds)})", file=sys.stderr, flush=True)
        finally:
            stop_process(watch)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--heartbeat", type=float, default=5.0, help="[engine] heartbeat_seconds of the session")
    parser.add_argument("--interval", type=float, default=1.0, help="[watchdog] interval_seconds")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = measure(runs=args.runs, heartbeat=args.heartbeat, interval=args.interval)
    print(json.dumps(figures, indent=2) if args.json else
          "\n".join(f"{kind}: median {figures[kind]['median_seconds']} s, max {figures[kind]['max_seconds']} s"  # type: ignore[index]
                    for kind in ("killed", "frozen")))


if __name__ == "__main__":
    main()
