"""The staged deployment's wiring: its settings and its trading-day count (entrypoints/golive_staging.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from domain.errors import ConfigurationError
from entrypoints.golive_staging import probation_policy, trading_days
from entrypoints.settings import load_settings


def at(day: int, hour: int = 15) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=timezone.utc)


def test_equity_counts_nyse_sessions_and_crypto_utc_days() -> None:
    # Thursday 3 Dec 2026 -> Tuesday 8 Dec: Fri 4, Mon 7, Tue 8 are the sessions begun since.
    assert trading_days("equity", at(3), at(8)) == 3
    assert trading_days("crypto", at(3), at(8)) == 5
    assert trading_days("equity", at(5), at(6)) == 0  # a weekend is no session
    assert trading_days("crypto", at(8), at(3)) == 0


def test_golive_settings_make_the_policy_and_a_bad_one_is_named(tmp_path: Path) -> None:
    config = tmp_path / "bots.toml"
    config.write_text('[golive]\nprobation_fraction = 0.25\nprobation_days = 5\nprobation_max_slippage_bps = 10\n'
                      '[[bots]]\nname = "spy"\nasset_class = "equity"\nsymbols = ["SPY"]\n', encoding="utf-8")
    policy = probation_policy(load_settings(config_file=config, environ={}))
    assert policy.fraction == Decimal("0.25") and policy.days == 5 and policy.band.max_slippage_bps == 10
    config.write_text('[golive]\nprobation_fraction = 1.5\n[[bots]]\nname = "spy"\nasset_class = "equity"\n'
                      'symbols = ["SPY"]\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="probation_fraction"):
        load_settings(config_file=config, environ={})


def test_the_shadow_bot_trades_strategies_of_its_own_with_the_live_caps(tmp_path: Path) -> None:
    """A strategy keeps state bar to bar: the shadow calling the live bot's own instance would
    feed it every bar twice and shift the live decisions."""
    import attrs

    from application.trading.paper_session import ProcessInfo
    from domain.risk.probation_cap import ProbationCap
    from entrypoints.container import build_container
    from entrypoints.golive_staging import shadow_bot

    config = tmp_path / "bots.toml"
    config.write_text('[[bots]]\nname = "spy"\nasset_class = "equity"\nsymbols = ["SPY"]\n', encoding="utf-8")
    settings = load_settings(config_file=config, environ={"QUANTSHIFT_DATABASE_URL": f"sqlite:///{tmp_path / 'qs.db'}"})
    container = build_container(settings)
    (live,) = container.bots()
    capped = attrs.evolve(live, probation=ProbationCap(fraction=Decimal("0.1"), label="probation"))
    shadow = shadow_bot(container, live_account="alpaca-live", bots=[capped], process=ProcessInfo(pid=1, host="h"))
    try:
        (twin,) = shadow.session.bots
        assert twin.strategy is not live.strategy and type(twin.strategy) is type(live.strategy)
        assert twin.probation == capped.probation and twin.name == "spy"
        assert shadow.account == "shadow-alpaca-live"
    finally:
        shadow.close()
