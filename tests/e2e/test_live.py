"""`quantshift live` as an operator runs it, against the loopback fake of Alpaca's LIVE endpoint
(it refuses every key but its live one, a paper key included): refused without a current
certificate for the exact configuration (none, expired, not approved, another fingerprint),
without confirmation, with the paper keys; trading a certified bot in a real process, where
a change of the config file blocks the bot's entries and still lets its exit through; and
`doctor --live` against the fake live endpoint."""

from __future__ import annotations

import signal
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from application.golive.certificates import issue_certificate
from application.golive.checklist import ItemResult
from application.records import AuditEntry, AuditKind
from entrypoints.cli.main import installed_version
from entrypoints.container import build_store
from entrypoints.golive_fingerprint import fingerprints
from entrypoints.settings import load_settings
from tests.e2e.conftest import Cli
from tests.e2e.test_paper_alpaca import open_market
from tests.fakes.alpaca_venue import API_KEY, SECRET_KEY, FakeAlpaca
from tests.support.configs import alpaca_section, coinbase_section
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

STRATEGIES = Path(__file__).with_name("live_strategies.py")
CONFIRM = "--i-understand-this-is-real-money"
PASSED = ItemResult(section="Bot validation", item="paper trading days", requirement=">= 30", figure="31",
                    passed=True)


def live_config(cli: Cli, fake: FakeAlpaca, *, fraction: str = "0.2", confirm: bool = False,
                second_bot: bool = False) -> Path:
    return cli.config(alpaca_section(fake) + ("\n[live]\ni_understand_this_is_real_money = true\n" if confirm else "") + f"""
[[bots]]
name = "eq"
asset_class = "equity"
symbols = ["SPY"]
capital = 10000
position_fraction = {fraction}
strategy = "{STRATEGIES}:OddCloseLong"
""" + ("""
[[bots]]
name = "eq2"
asset_class = "equity"
symbols = ["AAPL"]
capital = 10000
""" if second_bot else ""))


def certify(cli: Cli, config: Path, *, bot: str = "eq", issued: datetime | None = None,
            approved: bool = True, broker: str = "alpaca") -> None:
    """The gate's records for the config as it is now: a certificate (application/golive/certificates.py)
    and, unless told otherwise, an admin's approval entry (the documented record)."""
    now = issued or datetime.now(timezone.utc)
    digest = fingerprints(load_settings(config_file=config, environ=cli.env), version=installed_version())[bot].digest
    store = build_store(cli.env["QUANTSHIFT_DATABASE_URL"])
    with store() as uow:
        certificate = issue_certificate(uow, bot=bot, fingerprint=digest, items=[PASSED], checked_by="op@example.com",
                                        broker=broker, now=now)
        if approved:
            uow.audit.append(AuditEntry(ts=now, kind=AuditKind.GOLIVE, bot=bot, message="approved",
                                        data={"event": "approval", "certificate_id": certificate.certificate_id,
                                              "approved_by": "admin@example.com"}))
        uow.commit()


@pytest.fixture
def live_fake(cli: Cli):
    with FakeAlpaca(live=True) as fake:
        # The paper keys are set too (another account's): live must read only its own.
        cli.env.update({"ALPACA_LIVE_API_KEY": fake.api_key, "ALPACA_LIVE_SECRET_KEY": fake.secret_key,
                        "ALPACA_API_KEY": API_KEY, "ALPACA_SECRET_KEY": SECRET_KEY})
        open_market(fake)
        yield fake


def refused(cli: Cli, *args: str) -> str:
    result = cli.invoke("live", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_live_is_refused_without_confirmation_or_a_current_certificate_for_the_exact_config(cli: Cli, live_fake):
    config = live_config(cli, live_fake)
    args = ("--config", str(config), "--broker", "alpaca")
    assert "confirm with --i-understand-this-is-real-money" in refused(cli, *args)
    assert "eq: no certificate" in refused(cli, *args, CONFIRM)
    certify(cli, config, issued=datetime.now(timezone.utc) - timedelta(days=8))  # valid for 7 days
    assert "eq: expired on" in refused(cli, *args, CONFIRM)
    certify(cli, config, approved=False)
    assert "eq: not approved" in refused(cli, *args, CONFIRM)
    certify(cli, config)
    changed = live_config(cli, live_fake, fraction="0.25", confirm=True)  # the config in [live] confirms
    assert "issued for fingerprint" in refused(cli, "--config", str(changed))
    # Nothing reached the venue: the gate stands before it.
    assert live_fake.count("POST", "/v2/orders") == 0


def test_live_refuses_paper_keys_by_value_and_by_the_live_endpoints_answer(cli: Cli, live_fake):
    config = live_config(cli, live_fake, confirm=True)
    certify(cli, config)
    cli.env.update({"ALPACA_LIVE_API_KEY": API_KEY, "ALPACA_LIVE_SECRET_KEY": SECRET_KEY})
    assert "ALPACA_LIVE_API_KEY, ALPACA_LIVE_SECRET_KEY equal the paper keys" in refused(cli, "--config", str(config))
    # A paper key in the live variables (no paper key set beside it): the live endpoint refuses it.
    del cli.env["ALPACA_API_KEY"], cli.env["ALPACA_SECRET_KEY"]
    out = refused(cli, "--config", str(config))
    assert "alpaca live endpoint" in out and "did not accept the key" in out and "401" in out
    del cli.env["ALPACA_LIVE_API_KEY"]
    assert "set ALPACA_LIVE_API_KEY" in refused(cli, "--config", str(config))


def test_doctor_live_checks_the_live_keys_against_the_live_endpoint(cli: Cli, live_fake):
    config = live_config(cli, live_fake)
    ok = cli.invoke("doctor", "--live", "--venue", "alpaca", "--config", str(config), "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "may read and trade" in ok.stdout
    live_fake.account_fields = {"trading_blocked": True}
    blocked = cli.invoke("doctor", "--live", "--venue", "alpaca", "--config", str(config), "--json")
    assert blocked.returncode == 1 and "trading blocked" in blocked.stdout
    cli.env["ALPACA_LIVE_API_KEY"] = API_KEY  # the paper key: refused by the live endpoint
    cli.env["ALPACA_API_KEY"] = "PKSOMEOTHER"
    paper_key = cli.invoke("doctor", "--live", "--venue", "alpaca", "--config", str(config), "--json")
    assert paper_key.returncode == 1 and "401" in paper_key.stdout


def test_live_trades_a_certified_bot_and_a_config_change_blocks_entries_but_not_exits(cli: Cli, live_fake):
    fake = live_fake
    config = live_config(cli, fake, second_bot=True)
    certify(cli, config)  # eq only: eq2 stays out with --only-certified
    fake.set_price("SPY", "100")
    live = cli.start("live", "--config", str(config), "--broker", "alpaca", CONFIRM, "--only-certified",
                     "--duration", "60")
    orders = "SELECT count(*) FROM orders WHERE account='alpaca-live' AND status='filled'"
    first = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=8)

    def bar(minute: int) -> None:
        price = Decimal(100 + minute)
        fake.set_price("SPY", price)
        fake.data_stream.push_bar(symbol="SPY", ts=first + timedelta(minutes=minute), open=price, high=price + 1,
                                  low=price - 1, close=price, volume=10_000)

    try:
        wait_until(lambda: "SPY" in fake.data_stream.subscribed_bars(), timeout=30, message="the bar subscription",
                   process=live)
        bar(0)  # OddCloseLong: FLAT at 100 (nothing held), then LONG at 101: one buy
        bar(1)
        wait_until(lambda: cli.query(orders)[0][0] == 1, timeout=20, message="the entry filled", process=live)
        live_config(cli, fake, fraction="0.25", second_bot=True)  # the operator edits the running config
        wait_until(lambda: cli.query("SELECT count(*) FROM audit_log WHERE kind='golive' AND bot='eq' "
                                     "AND message LIKE 'entries blocked%'")[0][0] == 1,
                   timeout=20, message="entries blocked", process=live)
        bar(2)  # FLAT at 102: the exit goes
        wait_until(lambda: cli.query(orders)[0][0] == 2, timeout=20, message="the exit filled", process=live)
        bar(3)  # LONG at 103: an entry, blocked
        wait_until(lambda: cli.query("SELECT count(*) FROM equity WHERE account='alpaca-live' AND bot='eq'")[0][0] >= 4,
                   timeout=20, message="the fourth bar evaluated", process=live)
    finally:
        live.send_signal(signal.SIGTERM)
        _, err = live.communicate(timeout=30)
    assert live.returncode == 0, err
    assert "REAL MONEY: live trading eq on alpaca (alpaca-live)" in err
    assert "not started" in err and "eq2: no certificate" in err
    assert [r.body["side"] for r in fake.requests_to("POST", "/v2/orders")] == ["buy", "sell"]
    assert fake.book.positions.get("SPY", (Decimal(0),))[0] == 0
    state, actor, reason = cli.query("SELECT state, actor, reason FROM control WHERE scope='alpaca-live/eq'")[0]
    assert (state, actor) == ("reducing", "golive:certificate")
    assert "configuration changed (bot.position_fraction)" in reason


def test_doctor_live_and_live_on_coinbase_production(cli: Cli, tmp_path):
    from tests.fakes.coinbase_keys import make_key
    from tests.fakes.coinbase_venue import FakeCoinbase

    (tmp_path / "venue").mkdir()
    fake = FakeCoinbase.start(tmp_path / "venue")  # production: sandbox is not set in the config
    try:
        sandbox_key = make_key("organizations/test-org/apiKeys/sandbox-key")  # a key this venue does not know, as production does not know sandbox keys
        cli.env.update({"COINBASE_LIVE_API_KEY": fake.key.name, "COINBASE_LIVE_API_SECRET": fake.key.secret,
                        "COINBASE_API_KEY": sandbox_key.name, "COINBASE_API_SECRET": sandbox_key.secret})
        body = coinbase_section(fake) + """
[[bots]]
name = "btc"
asset_class = "crypto"
symbols = ["BTC-USD"]
capital = 10000
"""
        config = cli.config(body)
        doctor = ("doctor", "--live", "--venue", "coinbase", "--config", str(config), "--json")
        ok = cli.invoke(*doctor)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        fake.permissions["can_trade"] = False
        view_only = cli.invoke(*doctor)
        assert view_only.returncode == 1 and "the key may not trade" in view_only.stdout
        fake.permissions["can_trade"] = True
        cli.env.update({"COINBASE_LIVE_API_KEY": sandbox_key.name, "COINBASE_LIVE_API_SECRET": sandbox_key.secret,
                        "COINBASE_API_KEY": "other", "COINBASE_API_SECRET": "other"})
        unknown = cli.invoke(*doctor)
        assert unknown.returncode == 1 and "refused (401)" in unknown.stdout
        # live: the key is refused at the production endpoint once certified; a sandbox config never goes live.
        certify(cli, config, bot="btc", broker="coinbase")
        out = refused(cli, "--config", str(config), CONFIRM)
        assert "coinbase live endpoint" in out and "did not accept the key" in out
        sandboxed = cli.config(body.replace("[coinbase]\n", "[coinbase]\nsandbox = true\n"))
        assert "[coinbase] sandbox = true is paper trading" in refused(cli, "--config", str(sandboxed), CONFIRM)
        assert fake.count("create_order") == 0
    finally:
        fake.stop()
