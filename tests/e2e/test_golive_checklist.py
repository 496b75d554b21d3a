"""The go-live checklist (features/golive) run by its runner against prepared deployments: real
stores (Postgres and SQLite) holding a month of records written with past timestamps, a real
`quantshift serve` for the Platform items, the loopback fake Alpaca as the live endpoint.

One Postgres deployment passes every item. Each failing deployment is the passing one with one
thing broken (a record appended to a copy of the prepared SQLite store, a setting, the clock
moved on, a wrong password), and the test asserts exactly which items fail and what they say.
Last, `golive check` and `golive approve` through the real CLI.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from adapters.postgres import PostgresStore
from adapters.postgres.audit_guard import PostgresAuditGuard
from adapters.security import Argon2PasswordHasher
from adapters.sqlite import SqliteStore
from application.accounts.accounts import Accounts
from application.accounts.notification_admin import send_recorded_test_alert
from application.accounts.notification_settings import NotificationSettings, save
from application.golive.certificates import current_certificate
from application.golive.checklist import ItemResult
from application.golive.infrastructure import audit_trail_item
from application.golive.validation_clock import ensure_epoch
from application.records import AuditEntry, AuditKind, InstanceBeat, InstanceRole, Role
from entrypoints.cli.main import installed_version
from entrypoints.golive_check import Deployment, record_run, run_checklist
from entrypoints.golive_deployment import OPERATOR_EMAIL, OPERATOR_PASSWORD, build_deployment
from entrypoints.settings import Settings, load_settings
from tests.e2e.conftest import fresh_postgres_database
from tests.fakes.alpaca_venue import FakeAlpaca
from tests.fakes.clock import FixedClock
from tests.fakes.mailer import RecordingMailer
from tests.support import validation_records as records
from tests.support.configs import GOLIVE_RISK_TABLE
from tests.support.processes import QUANTSHIFT, ServeProcess, run_quantshift

pytestmark = pytest.mark.e2e

BOT = "spy"
OPERATOR, ADMIN, PASSWORD = "operator@example.com", "admin@example.com", "correct horse battery"
JWT_SECRET, INVITATION_SECRET = "golive-jwt-secret-" + "j" * 32, "golive-invitation-secret-" + "i" * 32
NOW = datetime.now(timezone.utc).replace(microsecond=0)  # the records' "now"; real time is later
EPOCH_START = NOW - timedelta(days=50)  # about 34 NYSE sessions

CONFIG = GOLIVE_RISK_TABLE + """
[mail]
host = "127.0.0.1"
port = 2525
sender = "QuantShift <alerts@quantshift.test>"
security = "none"

[web]
public_url = "{public_url}"

[alpaca]
trading_url = "{alpaca}"
data_url = "{alpaca}"

[[bots]]
name = "spy"
asset_class = "equity"
symbols = ["SPY"]
capital = 100000
strategy = "ma_crossover"
params = {{ fast = 5, slow = 20 }}
sizing = "volatility"
position_fraction = 0.5
stop = "atr"
"""

# The risk section left at its defaults: every Risk management item must fail.
DEFAULT_RISK = ("[mail]" + CONFIG.split("[mail]", 1)[1]).replace('sizing = "volatility"\n', "").replace(
    'stop = "atr"\n', "")

VALIDATION = ["paper trading days", "round trips", "win rate", "max drawdown", "no critical event"]
RISK = ["portfolio heat cap", "position sizing", "drawdown breaker", "daily loss limit",
        "hard position and order limits", "kill switch drilled"]
INFRASTRUCTURE = ["standby instance", "failover drilled", "monitoring and alerting", "audit trail append-only",
                  "live credentials", "backup verified"]
PLATFORM = ["serve reachable", "bot visible with a fresh heartbeat", "stop/start round trip"]


class ShiftedClock:
    """The real clock, moved on by `offset`: the deployment seen that much later."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


def prepare(store: SqliteStore | PostgresStore, settings: Settings) -> None:
    """A month and a half of a well-behaved paper bot, and every piece of evidence the gate
    asks for, all written as they would have been, at their past times."""
    bot = next(b for b in settings.bots if b.name == BOT)
    from entrypoints.golive_fingerprint import bot_fingerprint

    with store() as uow:
        ensure_epoch(uow, fingerprint=bot_fingerprint(settings, bot, version=installed_version()), account="paper",
                     now=EPOCH_START, actor="test")
        uow.commit()
    days = [EPOCH_START + timedelta(days=d, hours=2) for d in range(50)]
    trips = [records.trip(BOT, opened=EPOCH_START + timedelta(days=3 * n + 1), closed=EPOCH_START + timedelta(
        days=3 * n + 2), pnl=(5 if n % 3 else -3)) for n in range(12)]  # 8 of 12 won
    records.write(store, bot=BOT, points=[(ts, 100_000 + 50 * n - (80 if n % 7 == 0 else 0))
                                          for n, ts in enumerate(days)], trips=trips)
    # Running in real time since the epoch began; the interval is long so it stays fresh for the whole module.
    records.beat(store, bot=BOT, started=EPOCH_START, last=NOW, interval=6 * 3600)
    with store() as uow:
        for name, role in (("101@db1", InstanceRole.LIVE), ("102@db2", InstanceRole.STANDBY)):
            uow.instances.beat(InstanceBeat(instance=name, account="paper", role=role, pid=int(name[:3]),
                                            host=name[4:], bots=BOT, beat_at=NOW, interval_seconds=6 * 3600))
        save(uow.settings, NotificationSettings(email_enabled=True, recipients=["ops@example.com"]),
             at=NOW - timedelta(days=3))
        uow.audit.append(_drill(NOW - timedelta(days=1), bot=BOT, drill="killswitch", orders_open=2,
                                orders_cancelled=2, cancel_seconds=0.21, last_submission_seconds=0.05,
                                submissions_after_1s=0, venue="simulated", resumed=True))
        uow.audit.append(_drill(NOW - timedelta(days=2), bot="", drill="failover", from_instance="101@db1",
                                to_instance="102@db2", takeover_seconds=1.4))
        for event, ts in (("taken", NOW - timedelta(hours=23)), ("verified", NOW - timedelta(hours=22))):
            uow.audit.append(AuditEntry(ts=ts, kind=AuditKind.BACKUP, message=f"backup {event}", data={
                "event": event, "path": "/backups/qs-1.db", "engine": "sqlite", "tables": {"audit_log": 9},
                "sha256": "ab" * 32, "passed": True, "detail": ""}))
        uow.commit()
    # The test alert goes through the use case the API and `quantshift alerts test` call.
    send_recorded_test_alert(uow_factory=store, mailer=RecordingMailer(), actor=ADMIN,
                             clock=FixedClock(NOW - timedelta(days=2)))
    accounts = Accounts(uow_factory=store, clock=FixedClock(NOW), hasher=Argon2PasswordHasher(),
                        tokens=None, invitations_signer=None)  # type: ignore[arg-type]
    for email, role in ((OPERATOR, Role.OPERATOR), (ADMIN, Role.ADMIN)):
        accounts.create_user(email=email, password=PASSWORD, role=role)


def _drill(ts: datetime, *, bot: str, drill: str, **figures: object) -> AuditEntry:
    return AuditEntry(ts=ts, kind=AuditKind.DRILL, bot=bot, account="paper", message=f"{drill} drill",
                      data={"drill": drill, "passed": True, "detail": "", **figures})


class World:
    """The prepared deployments of this module and how to build one."""

    def __init__(self, tmp: Path, *, alpaca: FakeAlpaca, serve: ServeProcess, postgres_url: str) -> None:
        self.tmp, self.alpaca, self.serve, self.postgres_url = tmp, alpaca, serve, postgres_url
        self.environ = {"ALPACA_LIVE_API_KEY": alpaca.api_key, "ALPACA_LIVE_SECRET_KEY": alpaca.secret_key,
                        "ALPACA_API_KEY": "PK-paper-key", "ALPACA_SECRET_KEY": "paper-secret",
                        OPERATOR_EMAIL: OPERATOR, OPERATOR_PASSWORD: PASSWORD}
        self.config = self.write_config("bots.toml", CONFIG)
        self.settings = load_settings(config_file=self.config, environ={})
        self.postgres = PostgresStore(url=postgres_url)
        self.sqlite_base = tmp / "base.db"
        self._risk: dict[str, list[ItemResult]] = {}

    def write_config(self, name: str, text: str) -> Path:
        path = self.tmp / name
        path.write_text(text.format(public_url=self.serve.base, alpaca=self.alpaca.url))
        return path

    def sqlite_copy(self, name: str) -> SqliteStore:
        """A copy of the prepared SQLite store, to break one thing in."""
        target = self.tmp / f"{name}.db"
        shutil.copy(self.sqlite_base, target)
        return SqliteStore(path=target)

    def deployment(self, store: SqliteStore | PostgresStore, *, settings: Settings | None = None,
                   environ: dict[str, str] | None = None, clock: ShiftedClock | None = None) -> Deployment:
        chosen = settings or self.settings
        deployment = build_deployment(chosen, bot=BOT, broker="alpaca", environ=self.environ if environ is None
                                      else environ, version=installed_version(), actor=OPERATOR, store=store,
                                      clock=clock or ShiftedClock())
        # The crash replay costs a second: once per risk configuration for the whole module.
        key = repr(chosen.risk) + repr(chosen.bots)
        compute = deployment.risk_items

        def risk_items() -> list[ItemResult]:
            if key not in self._risk:
                self._risk[key] = compute()
            return self._risk[key]

        deployment.risk_items = risk_items
        return deployment


def _run(deployment: Deployment) -> dict[str, ItemResult]:
    try:
        run = run_checklist(deployment)
    finally:
        deployment.close()
    items = {i.item: i for i in run.items}
    assert list(items) == VALIDATION + RISK + INFRASTRUCTURE + PLATFORM, run.output
    return items


def _failed(items: dict[str, ItemResult]) -> set[str]:
    return {name for name, item in items.items() if not item.passed}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("golive")
    with fresh_postgres_database("qs_golive") as url, FakeAlpaca(live=True) as alpaca:
        serve = ServeProcess(tmp, database_url=url, jwt_secret=JWT_SECRET, invitation_secret=INVITATION_SECRET,
                             config=tmp / "bots.toml")
        w = World(tmp, alpaca=alpaca, serve=serve, postgres_url=url)
        w.postgres.migrate()
        serve.launch()  # it starts while the stores are prepared
        try:
            prepare(w.postgres, w.settings)
            base = SqliteStore(path=w.sqlite_base)
            prepare(base, w.settings)
            base.close()
            serve.wait_until_up(timeout=60)
            yield w
        finally:
            serve.stop()
            w.postgres.close()


def test_the_prepared_postgres_deployment_passes_every_item(world):
    items = _run(world.deployment(world.postgres))
    assert _failed(items) == set(), {n: (i.figure, i.detail) for n, i in items.items() if not i.passed}
    assert items["paper trading days"].figure.startswith("3") and "NYSE sessions" in items["paper trading days"].figure
    assert items["win rate"].figure == "66.67%"
    assert items["standby instance"].figure.startswith("standby 102@db2 beat")
    assert "postgres: audit_log_no_truncate, audit_log_no_update_or_delete; refused UPDATE and DELETE" in \
        items["audit trail append-only"].figure
    assert items["monitoring and alerting"].figure.startswith("e-mail to ops@example.com (min level warning); "
                                                              "test alert delivered")
    assert items["stop/start round trip"].figure == "spy on paper: stop -> stopped, start -> running"


def test_sqlite_has_no_standby_and_says_what_to_do(world):
    items = _run(world.deployment(world.sqlite_copy("plain")))
    assert _failed(items) == {"standby instance"}
    assert items["standby instance"].detail.startswith("SQLite has no standby: use Postgres")
    assert items["audit trail append-only"].figure.startswith(
        "sqlite: audit_log_no_delete, audit_log_no_update; refused UPDATE and DELETE (audit_log is append-only)")


def _append(store: SqliteStore, *entries: AuditEntry) -> SqliteStore:
    with store() as uow:
        for entry in entries:
            uow.audit.append(entry)
        uow.commit()
    return store


def _failed_drill(ts: datetime, *, bot: str, drill: str) -> AuditEntry:
    return AuditEntry(ts=ts, kind=AuditKind.DRILL, bot=bot, account="paper", message=f"{drill} drill failed",
                      severity="warning", data={
                          "drill": drill, "passed": False, "detail": "drill broke on purpose", "orders_open": 1,
                          "orders_cancelled": 0, "cancel_seconds": 5.0, "last_submission_seconds": 1.7,
                          "submissions_after_1s": 1, "venue": "simulated", "resumed": True,
                          "from_instance": "101@db1", "to_instance": "", "takeover_seconds": 30.0})


# Each case: how the deployment is broken, and what the failing items say (besides SQLite's standby).
def _critical(world: World) -> Deployment:
    store = _append(world.sqlite_copy("critical"), records.critical(NOW - timedelta(days=4), "strategy raised",
                                                                    bot=BOT))
    return world.deployment(store)


def _stricter(world: World) -> Deployment:
    text = CONFIG.replace("[mail]", "[golive]\nmin_trading_days = 400\nmin_trades = 50\nmin_win_rate = 0.9\n"
                                    "max_drawdown = 0.0001\n\n[mail]")
    settings = load_settings(config_file=world.write_config("stricter.toml", text), environ={})
    return world.deployment(world.sqlite_copy("stricter"), settings=settings)


def _risk_defaults(world: World) -> Deployment:
    settings = load_settings(config_file=world.write_config("defaults.toml", DEFAULT_RISK), environ={})
    return world.deployment(world.sqlite_copy("defaults"), settings=settings)


def _drills_failed(world: World) -> Deployment:
    store = _append(world.sqlite_copy("drills"), _failed_drill(NOW - timedelta(hours=1), bot=BOT, drill="killswitch"),
                    _failed_drill(NOW - timedelta(hours=1), bot="", drill="failover"))
    return world.deployment(store)


def _no_smtp(world: World) -> Deployment:
    settings = load_settings(config_file=world.write_config("nosmtp.toml", CONFIG.replace('host = "127.0.0.1"\n', "")
                                                            .replace('sender = "QuantShift <alerts@quantshift.test>"\n',
                                                                     "")), environ={})
    return world.deployment(world.sqlite_copy("nosmtp"), settings=settings)


def _trigger_dropped(world: World) -> Deployment:
    store = world.sqlite_copy("trigger")
    connection = sqlite3.connect(store.path)
    connection.execute("DROP TRIGGER audit_log_no_update")
    connection.commit()
    connection.close()
    return world.deployment(store)


def _no_live_keys(world: World) -> Deployment:
    environ = {k: v for k, v in world.environ.items() if not k.startswith("ALPACA_LIVE")}
    return world.deployment(world.sqlite_copy("nokeys"), environ=environ)


def _live_key_is_the_paper_key(world: World) -> Deployment:
    environ = {**world.environ, "ALPACA_API_KEY": world.alpaca.api_key}
    return world.deployment(world.sqlite_copy("samekeys"), environ=environ)


def _day_later(world: World) -> Deployment:
    return world.deployment(world.sqlite_copy("later"), clock=ShiftedClock(timedelta(hours=2)))


def _serve_elsewhere(world: World) -> Deployment:
    text = CONFIG.replace('public_url = "{public_url}"', 'public_url = "http://127.0.0.1:9"')
    settings = load_settings(config_file=world.write_config("elsewhere.toml", text), environ={})
    return world.deployment(world.sqlite_copy("elsewhere"), settings=settings)


def _wrong_password(world: World) -> Deployment:
    return world.deployment(world.sqlite_copy("password"), environ={**world.environ, OPERATOR_PASSWORD: "not it!!"})


def _no_operator(world: World) -> Deployment:
    environ = {k: v for k, v in world.environ.items() if k != OPERATOR_PASSWORD}
    return world.deployment(world.sqlite_copy("nooperator"), environ=environ)


CASES = {
    "critical event": (_critical, {"no critical event": "see `quantshift audit --kind error`"}),
    "stricter criteria": (_stricter, {"paper trading days": "more NYSE sessions with this configuration",
                                      "round trips": "keep it paper trading until it has closed enough trades",
                                      "win rate": "the strategy loses too often",
                                      "max drawdown": "the bot fell too far"}),
    "risk defaults": (_risk_defaults, {"portfolio heat cap": "write max_heat", "position sizing": 'set sizing = "volatility"',
                                       "drawdown breaker": "write drawdown_warning, drawdown_limit under [risk]",
                                       "daily loss limit": "write daily_loss_percent under [risk]",
                                       "hard position and order limits": "write max_order_quantity"}),
    "failed drills": (_drills_failed, {"kill switch drilled": "the latest drill failed: drill broke on purpose",
                                       "failover drilled": "the latest drill failed: drill broke on purpose"}),
    "no smtp": (_no_smtp, {"monitoring and alerting": "no SMTP server ([mail] host / QUANTSHIFT_SMTP_HOST)"}),
    "trigger dropped": (_trigger_dropped, {"audit trail append-only": "the audit trail's triggers are missing"}),
    "no live keys": (_no_live_keys, {"live credentials": "keys: set ALPACA_LIVE_API_KEY, ALPACA_LIVE_SECRET_KEY"}),
    "live key is the paper key": (_live_key_is_the_paper_key, {"live credentials": "a paper key can never trade live"}),
    "backup too old": (_day_later, {"backup verified": "it is older than 24 h: take a new one"}),
    "serve elsewhere": (_serve_elsewhere, {"serve reachable": "start `quantshift serve` where http://127.0.0.1:9",
                                           "bot visible with a fresh heartbeat": "the operator must be able to log in",
                                           "stop/start round trip": "the operator needs the bots-control"}),
    "wrong password": (_wrong_password, {"bot visible with a fresh heartbeat": "the operator must be able to log in",
                                         "stop/start round trip": "the operator needs the bots-control"}),
    "no operator": (_no_operator, {name: "set QUANTSHIFT_GOLIVE_PASSWORD: the check logs in as an operator"
                                   for name in PLATFORM}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_deployment_broken_in_one_place_fails_exactly_those_items(world, case):
    breaks, expected = CASES[case]
    items = _run(breaks(world))
    assert _failed(items) == {"standby instance", *expected}, {n: i.detail for n, i in items.items() if not i.passed}
    for name, detail in expected.items():
        assert detail in items[name].detail, (name, items[name].figure, items[name].detail)
    if case == "wrong password":
        assert "as operator@example.com: HTTP 401" in items["bot visible with a fresh heartbeat"].figure
        assert "not it" not in json.dumps([i.to_json() for i in items.values()])  # never printed


def test_a_bot_stopped_by_an_operator_is_not_started_by_the_check(world):
    run_quantshift(world.serve.env, "bots", "stop", "--bot", BOT, "--reason", "maintenance", "--config",
                   str(world.config))
    try:
        items = _run(world.deployment(world.postgres))
    finally:
        run_quantshift(world.serve.env, "bots", "start", "--bot", BOT, "--config", str(world.config))
    assert _failed(items) == {"bot visible with a fresh heartbeat", "stop/start round trip"}
    assert items["stop/start round trip"].figure == "spy on paper is stopped by an operator; not touched"


def test_a_step_that_raises_is_a_failed_item_and_the_others_still_run(world):
    deployment = world.deployment(world.sqlite_copy("raises"))

    def broken() -> ItemResult:
        raise RuntimeError("the venue client blew up")

    deployment.live_credentials = broken
    items = _run_raising(deployment)
    assert items["live credentials"].passed is False
    assert "RuntimeError: the venue client blew up" in items["live credentials"].figure
    assert items["backup verified"].passed and items["stop/start round trip"].passed


def _run_raising(deployment: Deployment) -> dict[str, ItemResult]:
    run = run_checklist(deployment)
    deployment.close()
    found = {i.item: i for i in run.items}
    # The scenario that raised is named after itself: the item it would have recorded is missing.
    raised = [i for i in run.items if i.figure.startswith("error:")]
    assert len(raised) == 1 and raised[0].section == "Infrastructure", run.items
    found["live credentials"] = raised[0]
    return found


def test_the_postgres_audit_guard_sees_a_disabled_trigger(world):
    with fresh_postgres_database("qs_golive_guard") as url:
        store = PostgresStore(url=url)
        try:
            store.migrate()
            assert audit_trail_item(PostgresAuditGuard(store=store)).passed
            import psycopg

            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_or_delete")
            item = audit_trail_item(PostgresAuditGuard(store=store))
            assert not item.passed
            assert item.figure == ("postgres: audit_log_no_truncate; refused nothing; ALLOWED UPDATE and DELETE "
                                   "(rolled back)")
            with store() as uow:
                assert uow.audit.count() == 0  # the probe changed nothing
        finally:
            store.close()


def test_a_passing_run_records_a_check_and_a_certificate(world):
    deployment = world.deployment(world.sqlite_copy("certified"))
    run = run_checklist(deployment)
    deployment.close()
    assert [i.item for i in run.items if not i.passed] == ["standby instance"]
    assert record_run(deployment, run) is None  # not every item passed: a check, no certificate
    with deployment.store.unit_of_work(read_only=True) as uow:
        golive = uow.audit.list(kind=AuditKind.GOLIVE.value)
    assert [e.data["event"] for e in golive] == ["check"] and golive[0].data["passed"] is False
    assert golive[0].data["actor"] == OPERATOR and len(golive[0].data["items"]) == 20


def test_golive_check_and_approve_through_the_cli(world):
    env = {**world.serve.env, **world.environ}
    args = ["--bot", BOT, "--config", str(world.config)]
    check = _cli(env, "golive", "check", *args, "--json")
    assert check.returncode == 0, check.stdout + check.stderr
    report = json.loads(check.stdout)
    assert report["passed"] is True and len(report["items"]) == 20 and report["checked_by"] == OPERATOR
    certificate = report["certificate"]
    assert certificate["approved_by"] is None
    refused = _cli(env, "golive", "approve", *args, "--as", OPERATOR)
    assert refused.returncode == 1 and "operator@example.com is not an active admin" in refused.stderr
    approved = _cli(env, "golive", "approve", *args, "--as", ADMIN)
    assert approved.returncode == 0, approved.stderr
    assert f"certificate {certificate['certificate_id']} of spy approved by admin@example.com" in approved.stdout
    with world.postgres.unit_of_work(read_only=True) as uow:
        current = current_certificate(uow, bot=BOT, fingerprint=report["fingerprint"], now=datetime.now(timezone.utc))
    assert current is not None and current.certificate_id == certificate["certificate_id"]
    table = _cli(env, "golive", "check", *args, "--broker", "coinbase")
    assert table.returncode == 2 and "spy is an equity bot; coinbase trades crypto bots" in table.stderr
    quiet = _cli({**env, "ALPACA_LIVE_API_KEY": ""}, "golive", "check", *args)
    assert quiet.returncode == 1
    assert "│ live credentials" in quiet.stdout and "FAIL" in quiet.stdout and "19/20 items passed" in quiet.stdout
    assert "passed" not in quiet.stderr and "PASSED" not in quiet.stdout  # no pytest output without --verbose


def _cli(env: dict[str, str], *args: str):
    import subprocess

    return subprocess.run([QUANTSHIFT, *args], env={**env, "COLUMNS": "250"}, capture_output=True, text=True,
                          timeout=120)
