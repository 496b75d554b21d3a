r"""Requests per second and latency (p50, p99, max) of the admin API's read endpoints on
Postgres, GET /api/v1/positions and GET /api/v1/trades (first page, default size), under a
loopback load, against a bare Litestar hello-world (benchmarks/hello_app.py) measured in the
same run, behind the same uvicorn settings and worker count.

    .venv/bin/python benchmarks/api_load.py [--clients 32] [--seconds 10] [--workers 1] \
        [--client-processes 1] [--runs 3] [--max-other 15] [--days 60] [--json] \
        [--admin-url postgresql://postgres@127.0.0.1:5432/test]

The store is a fresh database (CREATE DATABASE qs_bench_<random>, dropped at the end) filled
by the real CLI, `quantshift paper --days N --json` (once per --sessions, each its own
account); a viewer made with `quantshift users create` logs in for the bearer token.
`quantshift serve` and the hello-world then run side by side on loopback.

The load: --clients virtual clients, each an httpx.AsyncClient holding one keep-alive
connection and sending its next request as soon as the last one is answered (closed loop),
spread over --client-processes processes; --warmup seconds unmeasured, then --seconds
measured (requests completed in the window count; any status but 200 is an error). Rounds
(--runs) measure the three endpoints in turn; the table gives each figure's median over the
rounds. CPU time in the window (from /proc, in % of one core; 200% is the whole 2-core
machine) shows who used the machine: the server's processes, the Postgres backends of the
benchmark's database, the load generator, and "other" (anything else running: figures taken
while it is well above zero are not comparable; --max-other makes such a round be run
again). Client and server share the cores, so a saturated client process caps what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

QUANTSHIFT = str(Path(sys.executable).with_name("quantshift"))
BENCHMARKS = Path(__file__).resolve().parent
EMAIL, PASSWORD = "bench-viewer@example.com", "load benchmark password"
ENDPOINTS = {"hello-world GET /": "/", "GET /api/v1/positions": "/api/v1/positions", "GET /api/v1/trades": "/api/v1/trades"}
TICKS = os.sysconf("SC_CLK_TCK")


# --- the load generator (runs in child processes) ---------------------------------------------

async def _drive(base: str, path: str, token: str | None, clients: int, schedule) -> dict:
    warm_start, start, end = schedule
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    cpu: list[float] = []
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def one_client() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:
            while time.monotonic() < end:
                sent = time.perf_counter()
                try:
                    status = str((await client.get(path)).status_code)
                except httpx.HTTPError as error:
                    status = type(error).__name__
                done = time.monotonic()
                if start <= done <= end:
                    if status == "200":
                        latencies.append(time.perf_counter() - sent)
                    else:
                        errors[status] += 1

    async def cpu_meter() -> None:
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        cpu.append(time.process_time())
        await asyncio.sleep(max(0.0, end - time.monotonic()))
        cpu.append(time.process_time())

    await asyncio.sleep(max(0.0, warm_start - time.monotonic()))
    await asyncio.gather(cpu_meter(), *(one_client() for _ in range(clients)))
    return {"latencies": latencies, "errors": dict(errors), "cpu_seconds": cpu[1] - cpu[0]}


def _client_process(connection, base: str, path: str, token: str | None, clients: int) -> None:
    connection.send("ready")
    schedule = connection.recv()  # (warm-up start, window start, window end), time.monotonic()
    connection.send(asyncio.run(_drive(base, path, token, clients, schedule)))


def spawn_clients(base: str, token: str | None, jobs: list[tuple[str, int]]) -> tuple[list, list]:
    """One client process per (path, clients) job, each ready for its schedule; (pipes, processes)."""
    context = multiprocessing.get_context("spawn")
    pipes, children = [], []
    for path, clients in jobs:
        parent_end, child_end = context.Pipe()
        child = context.Process(target=_client_process, args=(child_end, base, path, token, clients))
        child.start()
        pipes.append(parent_end)
        children.append(child)
    for pipe in pipes:
        pipe.recv()
    return pipes, children


# --- CPU accounting from /proc -----------------------------------------------------------------

def _processes() -> dict[int, tuple[int, str, int]]:
    """pid -> (parent pid, command name, CPU ticks used)."""
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                raw = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            fields = raw[raw.rindex(")") + 2:].split()
            found[int(entry.name)] = (int(fields[1]), raw[raw.index("(") + 1:raw.rindex(")")],
                                      int(fields[11]) + int(fields[12]))
    return found


def _serves(pid: int, database: str) -> bool:
    """A Postgres backend connected to `database` ("postgres: 15/main: user db host(port) state")."""
    try:
        return f" {database} " in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def _cpu_snapshot(server_pid: int, database: str) -> dict[str, int]:
    procs = _processes()
    tree, frontier = set(), [server_pid]
    while frontier:
        pid = frontier.pop()
        tree.add(pid)
        frontier += [child for child, (parent, _, _) in procs.items() if parent == pid]
    machine = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return {"server": sum(procs[p][2] for p in tree if p in procs),
            "postgres": sum(t for pid, (_, name, t) in procs.items() if name == "postgres" and _serves(pid, database)),
            "machine": sum(machine) - machine[3] - machine[4]}  # busy: all but idle and iowait


def machine_busy(seconds: float = 2.0) -> float:
    """% of one core busy over `seconds` (200 = both cores): anything above a few % is other work."""
    def sample() -> list[int]:
        return [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    before = sample()
    time.sleep(seconds)
    delta = [b - a for a, b in zip(before, sample())]
    return round(100 * (sum(delta) - delta[3] - delta[4]) / TICKS / seconds, 1)


def measure(*, base: str, path: str, token: str | None, server_pid: int, database: str, clients: int,
            processes: int, warmup: float, seconds: float) -> dict:
    """One endpoint under load: throughput, latency, errors, CPU use in the measured window."""
    pipes, children = spawn_clients(base, token, [(path, clients // processes + (1 if i < clients % processes else 0))
                                                  for i in range(processes)])
    warm_start = time.monotonic() + 0.2
    start = warm_start + warmup
    end = start + seconds
    for pipe in pipes:
        pipe.send((warm_start, start, end))
    time.sleep(max(0.0, start - time.monotonic()))
    before = _cpu_snapshot(server_pid, database)
    time.sleep(max(0.0, end - time.monotonic()))
    after = _cpu_snapshot(server_pid, database)
    results = [pipe.recv() for pipe in pipes]
    for child in children:
        child.join()
    latencies = sorted(x for r in results for x in r["latencies"])
    errors: Counter[str] = Counter()
    for r in results:
        errors.update(r["errors"])

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2) if latencies else float("nan")

    def core_pct(key: str) -> float:
        return round(100 * max(0, after[key] - before[key]) / TICKS / seconds, 1)

    client_pct = round(100 * sum(r["cpu_seconds"] for r in results) / seconds, 1)
    ours = core_pct("server") + core_pct("postgres") + client_pct
    return {"rps": round(len(latencies) / seconds, 1), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "max_ms": round(latencies[-1] * 1000, 2) if latencies else float("nan"),
            "ok": len(latencies), "errors": sum(errors.values()), "error_kinds": dict(errors),
            "cpu_server_pct": core_pct("server"), "cpu_postgres_pct": core_pct("postgres"),
            "cpu_client_pct": client_pct, "cpu_other_pct": round(max(0.0, core_pct("machine") - ours), 1),
            # CPU time per answered request: steadier than rps when the machine is shared.
            **{f"{who}_cpu_ms_per_request": round(10 * core_pct(who) / max(1.0, len(latencies) / seconds), 3)
               for who in ("server", "postgres")},
            "client_cpu_ms_per_request": round(10 * client_pct / max(1.0, len(latencies) / seconds), 3)}


# --- the database, the CLI, the servers ------------------------------------------------------------

@contextmanager
def fresh_database(admin_url: str):
    name = f"qs_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    return subprocess.run([QUANTSHIFT, *args], env=env, input=stdin, capture_output=True, text=True,
                          check=True).stdout


def store_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as connection:
        def count(query: str) -> int:
            return connection.execute(query).fetchone()[0]
        return {"trades": count("SELECT count(*) FROM trades"), "positions": count("SELECT count(*) FROM positions"),
                "open_positions": count("SELECT count(*) FROM positions WHERE quantity <> 0"),
                "fills": count("SELECT count(*) FROM fills"), "audit_entries": count("SELECT count(*) FROM audit_log")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(command: list[str], *, env: dict[str, str], health: str, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} exited: {log.read_text()}")
        try:
            if httpx.get(health, timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{health} did not answer in 30 s: {log.read_text()}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def login(base: str) -> str:
    response = httpx.post(f"{base}/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}, timeout=30)
    response.raise_for_status()
    return response.json()["token"]


def measure_rounds(args: argparse.Namespace, *, api_base: str, api_pid: int, hello_base: str, hello_pid: int,
                   database: str) -> tuple[list[dict], int]:
    """--runs rounds over the three endpoints. On a shared machine, a round in which other work
    took more than --max-other % of a core is discarded and run again (at most 3 x --runs tries)."""
    rounds, discarded = [], 0
    while len(rounds) < args.runs and len(rounds) + discarded < 3 * args.runs:
        token = login(api_base)  # a fresh one each round: it lives 15 minutes
        headers = {"Authorization": f"Bearer {token}"}
        items = {"GET /api/v1/positions": len(httpx.get(f"{api_base}/api/v1/positions", headers=headers).json()),
                 "GET /api/v1/trades": len(httpx.get(f"{api_base}/api/v1/trades", headers=headers).json()["items"])}
        one = {}
        for name, path in ENDPOINTS.items():
            hello = path == "/"
            one[name] = {**measure(base=hello_base if hello else api_base, path=path, token=None if hello else token,
                                   server_pid=hello_pid if hello else api_pid, database=database,
                                   clients=args.clients, processes=args.client_processes, warmup=args.warmup,
                                   seconds=args.seconds), "items": items.get(name)}
        if args.max_other is not None and max(m["cpu_other_pct"] for m in one.values()) > args.max_other:
            discarded += 1
            print(f"round discarded: other work took {max(m['cpu_other_pct'] for m in one.values()):.0f}% of a core",
                  file=sys.stderr)
        else:
            rounds.append(one)
    if not rounds:
        raise SystemExit(f"no quiet round in {discarded} tries (--max-other {args.max_other}): the machine is busy")
    return rounds, discarded


def run(args: argparse.Namespace) -> dict:
    with fresh_database(args.admin_url) as url, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "QUANTSHIFT_DATABASE_URL": url, "QUANTSHIFT_VENUE_DIR": str(Path(tmp) / "venue"),
               "QUANTSHIFT_JWT_SECRET": secrets.token_urlsafe(48),
               "QUANTSHIFT_INVITATION_SECRET": secrets.token_urlsafe(48)}
        seeded = time.perf_counter()
        for session in range(args.sessions):
            cli(env, "paper", "--days", str(args.days), "--seed", str(1000 + session), "--json")
        seed_seconds = time.perf_counter() - seeded
        cli(env, "users", "create", "--email", EMAIL, "--role", "viewer", "--password-stdin", stdin=PASSWORD + "\n")
        counts = store_counts(url)
        api_port, hello_port = free_port(), free_port()
        api = start_server([QUANTSHIFT, "serve", "--port", str(api_port), "--workers", str(args.workers)],
                           env=env, health=f"http://127.0.0.1:{api_port}/health", log=Path(tmp) / "serve.log")
        try:
            hello = start_server(
                [sys.executable, "-m", "uvicorn", "hello_app:create_app", "--factory", "--app-dir", str(BENCHMARKS),
                 "--host", "127.0.0.1", "--port", str(hello_port), "--workers", str(args.workers),
                 "--no-proxy-headers", "--no-server-header", "--no-access-log", "--log-level", "info"],
                env=env, health=f"http://127.0.0.1:{hello_port}/", log=Path(tmp) / "hello.log")
            try:
                busy_before = machine_busy()
                rounds, discarded = measure_rounds(args, api_base=f"http://127.0.0.1:{api_port}", api_pid=api.pid,
                                                   hello_base=f"http://127.0.0.1:{hello_port}", hello_pid=hello.pid,
                                                   database=url.rsplit("/", 1)[1])
            finally:
                stop(hello)
        finally:
            stop(api)
    return {"store": {**counts, "paper_sessions": args.sessions, "days_each": args.days,
                      "seed_seconds": round(seed_seconds, 1)},
            "setup": {"clients": args.clients, "client_processes": args.client_processes, "workers": args.workers,
                      "warmup_s": args.warmup, "seconds": args.seconds, "runs": args.runs, "cores": os.cpu_count(),
                      "busy_before_pct": busy_before, "max_other_pct": args.max_other,
                      "rounds_discarded": discarded},
            "median": {name: _median([r[name] for r in rounds]) for name in ENDPOINTS},
            "rounds": rounds}


def _median(results: list[dict]) -> dict:
    keys = [k for k, v in results[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    median = {k: round(statistics.median(r[k] for r in results), 2) for k in keys}
    median["errors"] = sum(r["errors"] for r in results)  # every error of every round, not a median
    median["error_kinds"] = dict(sum((Counter(r["error_kinds"]) for r in results), Counter()))
    median["rps_each_run"] = [r["rps"] for r in results]
    return median


def print_table(report: dict) -> None:
    s, st = report["setup"], report["store"]
    print(f"store: {st['trades']} trades, {st['positions']} positions ({st['open_positions']} open), "
          f"{st['fills']} fills, {st['audit_entries']} audit entries "
          f"({st['paper_sessions']} x `quantshift paper --days {st['days_each']}`, {st['seed_seconds']} s)")
    print(f"load: {s['clients']} keep-alive clients in {s['client_processes']} process(es), {s['workers']} uvicorn "
          f"worker(s), {s['warmup_s']} s warm-up + {s['seconds']} s measured, median of {len(report['rounds'])} "
          f"round(s) ({s['rounds_discarded']} discarded as disturbed), "
          f"{s['cores']} cores shared by client, server and Postgres; before the load the machine was "
          f"{s['busy_before_pct']:.0f}% busy (% of one core)\n")
    print("| endpoint | items | rps | p50 ms | p99 ms | max ms | errors | CPU % server / Postgres / client / other "
          "| CPU ms per request server / Postgres / client | rps each round |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, m in report["median"].items():
        items = "" if m.get("items") is None else f"{m['items']:.0f}"
        print(f"| {name} | {items} | {m['rps']:,.0f} | {m['p50_ms']:.1f} | {m['p99_ms']:.1f} | {m['max_ms']:.1f} "
              f"| {m['errors']}{' ' + json.dumps(m['error_kinds']) if m['errors'] else ''} "
              f"| {m['cpu_server_pct']:.0f} / {m['cpu_postgres_pct']:.0f} / {m['cpu_client_pct']:.0f} / "
              f"{m['cpu_other_pct']:.0f} | {m['server_cpu_ms_per_request']:.2f} / {m['postgres_cpu_ms_per_request']:.2f} / "
              f"{m['client_cpu_ms_per_request']:.2f} | {', '.join(f'{x:,.0f}' for x in m['rps_each_run'])} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32, help="concurrent keep-alive clients")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per endpoint")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each measurement")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes of both servers")
    parser.add_argument("--client-processes", type=int, default=1, help="load generator processes")
    parser.add_argument("--runs", type=int, default=3, help="rounds over the three endpoints; medians reported")
    parser.add_argument("--max-other", type=float, default=None,
                        help="discard and redo a round in which other processes used more than this %% of a core")
    parser.add_argument("--days", type=int, default=60, help="trading days of each paper session")
    parser.add_argument("--sessions", type=int, default=1, help="paper sessions (accounts) to fill the store")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON instead")
    args = parser.parse_args()
    report = run(args)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)


if __name__ == "__main__":
    main()
