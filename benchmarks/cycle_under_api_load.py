r"""The trading loop's bar-to-submit latency while API clients read the same SQLite store.

    .venv/bin/python benchmarks/cycle_under_api_load.py [--clients 32] [--workers 2] [--cycles 1000] [--days 20] [--dir /dev/shm] [--json]

A SQLite store (WAL) is filled by the real CLI (`quantshift paper --days N`), a viewer logs
in, `quantshift serve` runs on it, and --clients closed-loop clients (benchmarks/api_load.py's
load generator, in two processes: half on GET /api/v1/positions, half on GET /api/v1/trades)
read it. Meanwhile this process runs benchmarks/cycle_latency.py's flip-flop bot against the
same file: every cycle commits an intent and submits it to the simulated venue. The figures are
the cycle's p50 / p99 / max, first with no client, then under the load, and the API's own
throughput in the loaded window. Issue 13 measured 0.7 ms without load and a p50 of 2.8 s
(max 8.3 s) under 32 clients when every request's bearer check took the write lock.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_load import EMAIL, PASSWORD, QUANTSHIFT, cli, free_port, login, machine_busy, spawn_clients, start_server, stop  # noqa: E402
from cycle_latency import measure as cycle_latency  # noqa: E402

from adapters.sqlite import SqliteStore  # noqa: E402


def _start_clients(base: str, token: str, clients: int, seconds: float) -> tuple[list, list, float]:
    pipes, children = spawn_clients(base, token, [("/api/v1/positions", clients - clients // 2),
                                                  ("/api/v1/trades", clients // 2)])
    start = time.monotonic() + 1.0  # a second of warm-up
    for pipe in pipes:
        pipe.send((start - 1.0, start, start + seconds))
    time.sleep(max(0.0, start - time.monotonic()))
    return pipes, children, start


def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        db = Path(tmp) / "qs.db"
        env = {**os.environ, "QUANTSHIFT_DATABASE_URL": f"sqlite:///{db}", "QUANTSHIFT_VENUE_DIR": str(Path(tmp) / "venue"),
               "QUANTSHIFT_JWT_SECRET": secrets.token_urlsafe(48), "QUANTSHIFT_INVITATION_SECRET": secrets.token_urlsafe(48)}
        cli(env, "paper", "--days", str(args.days), "--json")
        cli(env, "users", "create", "--email", EMAIL, "--role", "viewer", "--password-stdin", stdin=PASSWORD + "\n")
        # The quiet figure on a copy: the same data, and the loaded run's bars are not duplicates.
        shutil.copy(db, Path(tmp) / "quiet.db")
        quiet_store = SqliteStore(path=Path(tmp) / "quiet.db")
        quiet = cycle_latency(quiet_store, cycles=args.cycles)
        quiet_store.close()
        store = SqliteStore(path=db)
        port = free_port()
        server = start_server([QUANTSHIFT, "serve", "--port", str(port), "--workers", str(args.workers)], env=env,
                              health=f"http://127.0.0.1:{port}/health", log=Path(tmp) / "serve.log")
        try:
            busy_before = machine_busy()
            base = f"http://127.0.0.1:{port}"
            pipes, children, started = _start_clients(base, login(base), args.clients, args.seconds)
            loaded = cycle_latency(store, cycles=args.cycles)
            cycles_seconds = time.monotonic() - started
            results = [pipe.recv() for pipe in pipes]
            for child in children:
                child.join()
        finally:
            stop(server)
            store.close()
    answered = sum(len(r["latencies"]) for r in results)
    return {"clients": args.clients, "workers": args.workers, "cycles": args.cycles, "paper_days": args.days, "cores": os.cpu_count(),
            "busy_before_pct": busy_before, "cycle_without_clients": quiet, "cycle_under_load": loaded,
            "load_covered_the_cycles": cycles_seconds <= args.seconds,
            "api_requests_per_second": round(answered / args.seconds, 1),
            "api_errors": sum(sum(r["errors"].values()) for r in results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the clients read (covers the cycles)")
    parser.add_argument("--days", type=int, default=20, help="days of `paper` that fill the store")
    parser.add_argument("--workers", type=int, default=2, help="`quantshift serve --workers`")
    parser.add_argument("--dir", default=None, help="where the store file lives (default: the temp dir; "
                        "/dev/shm takes the disk's fsync out of the figures)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name in ("cycle_without_clients", "cycle_under_load"):
        figures = result[name]
        print(f"{name:24} p50 {figures['p50_ms']:>9} ms  p99 {figures['p99_ms']:>9} ms  max {figures['max_ms']:>9} ms "
              f"({figures['cycles_submitting']} submitting cycles)")
    print(f"API under load: {result['api_requests_per_second']} requests/s, {result['api_errors']} errors, "
          f"{result['clients']} clients, {result['workers']} server workers; machine busy before: {result['busy_before_pct']}% of a core")


if __name__ == "__main__":
    main()
