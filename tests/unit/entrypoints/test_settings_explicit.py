"""Settings.explicit: which keys the config file set (the go-live gate accepts no default for a live limit)."""

from pathlib import Path

import pytest

from domain.errors import ConfigurationError
from entrypoints.golive_fingerprint import fingerprints
from entrypoints.settings import load_settings

BOT = '[[bots]]\nname = "spy"\nasset_class = "equity"\nsymbols = ["SPY"]\n'


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None):
    path = tmp_path / "bots.toml"
    path.write_text(text)
    return load_settings(config_file=path, environ=environ or {})


def test_the_keys_the_file_set_are_explicit_and_no_other(tmp_path: Path) -> None:
    settings = load(tmp_path, '[risk]\ndrawdown_limit = 0.2\n[risk.sectors]\nAAPL = "tech"\n'
                              + BOT + 'sizing = "kelly"\nparams = { fast = 5, slow = 20 }\n'
                              + '[[bots]]\nname = "btc"\nasset_class = "crypto"\nsymbols = ["BTC-USD"]\n',
                    environ={"QUANTSHIFT_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})

    assert {"risk", "risk.drawdown_limit", "risk.sectors", "risk.sectors.AAPL", "bots", "bots[0]", "bots[0].sizing",
            "bots[0].params", "bots[0].params.fast", "bots[1].symbols"} <= settings.explicit
    # Defaults are not explicit, even where the value equals what the file could have said; nor
    # is what the environment set.
    assert {"risk.max_heat", "risk.daily_loss_percent", "bots[1].sizing", "database_url", "mail"}.isdisjoint(
        settings.explicit)
    assert settings.database_url.endswith("x.db")
    assert settings.bot_explicit("spy") == {"name", "asset_class", "symbols", "sizing", "params", "params.fast",
                                            "params.slow"}
    assert settings.bot_explicit("btc") == {"name", "asset_class", "symbols"}
    with pytest.raises(ConfigurationError, match="no bot named 'eth'"):
        settings.bot_explicit("eth")


def test_where_a_value_came_from_changes_neither_equality_nor_the_fingerprint(tmp_path: Path) -> None:
    implicit = load(tmp_path, BOT)
    spelled_out = load(tmp_path, "[risk]\nmax_heat = 0.10\n" + BOT + 'sizing = "fixed"\n')

    assert implicit.explicit != spelled_out.explicit
    assert implicit == spelled_out
    assert fingerprints(implicit, version="1")["spy"].digest == fingerprints(spelled_out, version="1")["spy"].digest


def test_without_a_file_nothing_is_explicit_and_a_file_cannot_declare_it(tmp_path: Path) -> None:
    assert load_settings(config_file=None, environ={}).explicit == frozenset()
    with pytest.raises(ConfigurationError, match=r"extra fields found \(explicit\)"):
        load(tmp_path, 'explicit = ["risk.max_heat"]\n' + BOT)
