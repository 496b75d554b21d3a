from decimal import Decimal
from pathlib import Path

import pytest

from domain.errors import ConfigurationError
from entrypoints.container import bot_specs, sqlite_path
from entrypoints.settings import load_settings, parse_timeframe
from entrypoints.strategies import build_strategy


BOT = '[[bots]]\nname="b"\nasset_class="equity"\nsymbols=["SPY"]\n'


def load(tmp_path: Path, text: str, environ=None):
    path = tmp_path / "bots.toml"
    path.write_text(text)
    return load_settings(config_file=path, environ=environ or {})


def test_defaults_are_the_previous_systems_bots():
    settings = load_settings(config_file=None, environ={})
    assert [(b.name, b.symbols) for b in settings.bots] == [("equity", ("SPY", "AAPL")), ("crypto", ("BTC-USD",))]
    assert settings.engine.interval.total_seconds() == 900
    assert isinstance(settings.bots[0].capital, Decimal)


def test_environment_chooses_the_store(tmp_path):
    settings = load_settings(config_file=None, environ={"QUANTSHIFT_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert sqlite_path(settings.database_url) == tmp_path / "x.db"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[bots]]\nname="x"\nasset_class="equity"\nsymbols=["SPY"]\ncapital="abc"\n', "bots[0].capital"),
        ('[[bots]]\nname="x"\nasset_class="equity"\nsymbols=["SPY"]\ncapital=-5\n', "capital must be positive"),
        ('[[bots]]\nname="x"\nasset_class="equity"\nsymbols=[]\n', "bots[0]"),
        ('[[bots]]\nname="x y"\nasset_class="equity"\nsymbols=["SPY"]\n', "name"),
        ('[engine]\ntimeframe="0m"\n', "timeframe"),
        ('[engine]\nheartbeat_seconds=0\n', "heartbeat_seconds"),
        ('[engine]\ncrypto_taker_bps=-1\n', "crypto_taker_bps must be >= 0"),
        ('[engine]\nmarket_fill="whenever"\n', "engine.market_fill"),
        ('[engine]\non_stop="cancel"\n', "engine.on_stop"),
        ('[risk]\nmax_order_notional="inf"\n', "risk.max_order_notional"),
        ('[risk]\nunknown_limit=3\n', "unknown_limit"),
        ('[[bots]]\nname="a"\nasset_class="equity"\nsymbols=["SPY"]\n[[bots]]\nname="a"\nasset_class="crypto"\nsymbols=["BTC-USD"]\n', "unique"),
        ("[engine\n", "not valid TOML"),
        # Absurd figures are refused at load (1e300 raised InvalidOperation mid-session).
        (BOT + "capital=1e300\n", "bots[0].capital: 1E+300 is out of range"),
        ('[risk]\nmax_order_notional=1e13\n' + BOT, "risk.max_order_notional: 1E+13 is out of range"),
        ('[engine]\nheartbeat_seconds=nan\n' + BOT, "engine.heartbeat_seconds: nan is out of range"),
        # Named as written, not as a Python typing.Literal.
        (BOT.replace('"equity"', '"stock"'), "bots[0].asset_class: 'stock' is not one of 'equity', 'crypto'"),
        # A symbol is a symbol, of the bot's asset class.
        (BOT.replace('["SPY"]', '["spy; drop table"]'), "bots[0].symbols[0]: 'spy; drop table' is not a symbol"),
        (BOT.replace('["SPY"]', '["SPY", "BTC-USD"]'), "bots[0].symbols[1]: 'BTC-USD' is a crypto pair, not an equity"),
        (BOT.replace('"equity"', '"crypto"'), "bots[0].symbols[0]: 'SPY' is an equity symbol, not a crypto pair"),
        (BOT.replace('["SPY"]', '"SPY"'), 'bots[0].symbols: expected a list like ["SPY"]'),
        (BOT.replace('["SPY"]', '["../etc/x"]'), "'../etc/x' is not a symbol"),
        (BOT + '[risk.sectors]\n"AAPL;" = "tech"\n', "risk.sectors: 'AAPL;' is not a symbol"),
        # Checked at load with the file and key, not later by the engine's objects (Decimal('-3'), max_fraction).
        ('[engine]\nmax_volume_share=-3\n' + BOT, "engine.max_volume_share must be in (0, 1], got -3"),
        ('[risk]\nmax_heat=-3\n' + BOT, "risk.max_heat must be in (0, 1], got -3"),
        ('[risk]\nmax_correlated_fraction=-3\n' + BOT, "risk.max_correlated_fraction must be positive, got -3"),
        ('[risk]\ndaily_loss_percent=-3\n' + BOT, "risk.daily_loss_percent must be in (0, 1], got -3"),
        ('[risk]\nmax_order_quantity=0\n' + BOT, "risk.max_order_quantity must be positive, got 0"),
        (BOT + "risk_fraction=-3\n", "bots[0].risk_fraction must be in (0, 1], got -3"),  # even with sizing unused
        (BOT + "stop_percent=-3\n", "bots[0].stop_percent must be positive, got -3"),
        # No [[bots]] in a file: refused, naming the file (the built-in bots would trade instead).
        ("", "bots.toml is empty: declare at least one bot"),
        ('[engine]\nseed=3\n', "bots.toml has no [[bots]] table"),
    ],
)
def test_bad_values_name_their_key(tmp_path, text, message):
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, text)
    assert message in str(error.value) and "bots.toml" in str(error.value)


def test_good_symbols_pass_and_a_file_without_bots_serves_commands_that_run_none(tmp_path):
    text = ('[[bots]]\nname="e"\nasset_class="equity"\nsymbols=["SPY", "BRK.B", "QQQ"]\n'
            '[[bots]]\nname="c"\nasset_class="crypto"\nsymbols=["BTC-USD", "ETH-USDC", "1INCH-USD"]\n')
    assert [b.symbols for b in load(tmp_path, text).bots] == [("SPY", "BRK.B", "QQQ"),
                                                               ("BTC-USD", "ETH-USDC", "1INCH-USD")]
    path = tmp_path / "web.toml"
    path.write_text('[web]\ninvitation_lifetime = "1h"\n')
    assert load_settings(config_file=path, environ={}, require_bots=False).web.invitation_lifetime == "1h"


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings(config_file=tmp_path / "nope.toml", environ={})


@pytest.mark.parametrize("url", ["mysql://x", "sqlite://", "postgresql://u@h/db"])
def test_unsupported_store_urls(url):
    with pytest.raises(ConfigurationError, match="QUANTSHIFT_DATABASE_URL"):
        sqlite_path(url)


def test_bot_specs_and_strategy_params(tmp_path):
    settings = load(tmp_path, '[[bots]]\nname="b"\nasset_class="crypto"\nsymbols=["ETH-USD"]\nparams={fast=3, slow=9}\nposition_fraction=0.5\n')
    (spec,) = bot_specs(settings)
    assert spec.strategy.warmup == 10 and spec.sizing.fraction == Decimal("0.5")
    assert spec.instruments["ETH-USD"].lot_size == Decimal("0.00000001")
    with pytest.raises(ConfigurationError, match=r"bots.toml: bots\[0\].position_fraction must be in \(0, 1\], got 1.5"):
        load(tmp_path, '[[bots]]\nname="b"\nasset_class="crypto"\nsymbols=["ETH-USD"]\nposition_fraction=1.5\n')


def test_user_strategy_files(tmp_path):
    good = tmp_path / "mine.py"
    good.write_text("class Mine:\n    name = 'mine'\n    warmup = 2\n    def __init__(self, k=1):\n        self.k = k\n"
                    "    def on_bar(self, window):\n        return None\n")
    assert build_strategy(f"{good}:Mine", params={"k": 3}, where="bots[0]").k == 3
    with pytest.raises(ConfigurationError, match=r"bots\[0\].params"):
        build_strategy(f"{good}:Mine", params={"nope": 1}, where="bots[0]")
    with pytest.raises(ConfigurationError, match="has no class 'Other'"):
        build_strategy(f"{good}:Other", params={}, where="bots[0]")
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ConfigurationError, match="failed to import: RuntimeError: boom"):
        build_strategy(f"{broken}:X", params={}, where="bots[0]")
    with pytest.raises(ConfigurationError, match="unknown strategy"):
        build_strategy("rsi_magic", params={}, where="bots[0]")


def test_parse_timeframe():
    assert parse_timeframe("1h").total_seconds() == 3600
    with pytest.raises(ValueError):
        parse_timeframe("fortnight")


def test_stops_take_their_asset_classs_defaults_crypto_wider_and_rest_at_the_venue(tmp_path):
    text = ('[[bots]]\nname="eq"\nasset_class="equity"\nsymbols=["SPY"]\nstop="fixed"\n'
            '[[bots]]\nname="cr"\nasset_class="crypto"\nsymbols=["BTC-USD"]\nstop="atr"\n'
            '[[bots]]\nname="own"\nasset_class="crypto"\nsymbols=["ETH-USD"]\nstop="fixed"\nstop_percent=7\n'
            'stop_orders="monitored"\n')
    equity, crypto, own = bot_specs(load(tmp_path, text))
    assert equity.stop.percent == Decimal(5) and equity.stop_orders
    assert crypto.stop.multiple == Decimal(4) and crypto.stop_orders
    assert own.stop.percent == Decimal(7) and not own.stop_orders


@pytest.mark.parametrize(("line", "message"), [('stop_orders="sometimes"', "bots[0].stop_orders"),
                                               ('stop="fixed"\nstop_percent=0', "bots[0].stop_percent must be positive, got 0"),
                                               ('stop="atr"\nstop_atr_multiple=0.0001\nstop_period=0', "bots[0] stop (atr)")])
def test_bad_stop_settings_name_their_key(tmp_path, line, message):
    with pytest.raises(ConfigurationError) as error:
        bot_specs(load(tmp_path, f'[[bots]]\nname="b"\nasset_class="equity"\nsymbols=["SPY"]\n{line}\n'))
    assert message in str(error.value)


def test_allocation_settings_become_a_schedule_and_bad_ones_name_the_section(tmp_path):
    from entrypoints.container import allocation_schedule

    assert allocation_schedule(load(tmp_path, BOT)) is None  # method "none": each bot keeps its capital
    schedule = allocation_schedule(load(tmp_path, BOT + '[allocation]\nmethod="inverse_volatility"\nrebalance_every="1d"\n'))
    assert schedule.every.days == 1 and schedule.policy.method.value == "inverse_volatility"
    with pytest.raises(ConfigurationError, match=r"\[allocation\]: min_weight 0.7 is above max_weight 0.6"):
        allocation_schedule(load(tmp_path, BOT + '[allocation]\nmethod="fixed"\nmin_weight=0.7\n'))
    with pytest.raises(ConfigurationError, match="allocation.method"):
        load(tmp_path, BOT + '[allocation]\nmethod="magic"\n')


def test_on_stop_defaults_to_cancelling_entries_and_takes_the_other_two(tmp_path):
    assert load_settings(config_file=None, environ={}).engine.on_stop == "cancel_entries"
    for value in ("cancel_all", "leave"):
        assert load(tmp_path, BOT + f'[engine]\non_stop="{value}"\n').engine.on_stop == value
