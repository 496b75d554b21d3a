"""End-to-end: `quantshift strategy new` writes a strategy that loads and runs as it is, never
overwrites one, and `quantshift strategy list` shows the built-ins."""

from __future__ import annotations

import subprocess

import pytest

from domain.errors import ConfigurationError
from domain.strategy import BarWindow, Target
from entrypoints.strategies import build_strategy
from tests.e2e.conftest import QUANTSHIFT
from tests.fakes.builders import bars

pytestmark = pytest.mark.e2e


def run_in(cwd, *args: str, env=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([QUANTSHIFT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_new_strategy_runs_as_written_and_is_never_overwritten(cli):
    created = run_in(cli.tmp, "strategy", "new", "my_thing", "--dir", "tmp")
    assert created.returncode == 0, created.stderr
    path = cli.tmp / "tmp" / "my_thing.py"
    assert path.is_file()
    assert 'strategy = "tmp/my_thing.py:MyThing"' in created.stdout

    # Loaded the way the config loads it, with a declared param checked on the way in.
    strategy = build_strategy(f"{path}:MyThing", params={"period": 5}, where="bots[0]")
    assert strategy.name == "my_thing" and strategy.warmup == 5
    assert set(strategy.indicators()) == {"sma", "close"}
    window = BarWindow(capacity=strategy.warmup + 50)
    targets = []
    for bar in bars("SPY", [100, 100, 100, 100, 100, 103, 104, 99, 98, 101.5]):
        window.append(bar)
        signal = strategy.on_bar(window)
        targets.append(None if signal is None else signal.target)
        if signal is not None:
            assert set(signal.values) <= set(strategy.indicators()) and signal.reason
    # SMA5 after bar 5 (100 100 100 100 103) is 100.6: 103 is more than 1% above it: LONG;
    # bar 7 (99) is below SMA5 101.2: FLAT; bar 9 (101.5) is between SMA5 101.1 and 1% over it
    # (102.11): keep (None). Bar 4 is the first after the warm-up: 100 is on its SMA, so None too.
    assert targets[:5] == [None] * 5
    assert targets[5] is Target.LONG and targets[7] is Target.FLAT and targets[9] is None
    with pytest.raises(ConfigurationError, match=r"bots\[0\]\.params\.period: my_thing: period must be an integer"):
        build_strategy(f"{path}:MyThing", params={"period": 1}, where="bots[0]")

    # A second `new` refuses to touch the (perhaps edited) file.
    path.write_text(path.read_text() + "# my edits\n")
    again = run_in(cli.tmp, "strategy", "new", "my_thing", "--dir", "tmp")
    assert again.returncode == 2
    assert "already exists" in again.stderr and "not overwriting" in again.stderr
    assert path.read_text().endswith("# my edits\n")


@pytest.mark.parametrize("name", ["MyThing", "my-thing", "2fast", "class", "my__thing"])
def test_new_refuses_names_that_are_not_snake_case_identifiers(cli, name):
    result = run_in(cli.tmp, "strategy", "new", name)
    assert result.returncode == 2 and f"strategy name {name!r}" in result.stderr
    assert not list(cli.tmp.glob("*.py"))


def test_the_generated_strategy_paper_trades(cli):
    run_in(cli.tmp, "strategy", "new", "dip_rider", "--dir", str(cli.tmp / "strategies"))
    config = cli.config(
        '[[bots]]\nname = "mine"\nasset_class = "equity"\nsymbols = ["SPY"]\n'
        f'strategy = "{cli.tmp / "strategies" / "dip_rider.py"}:DipRider"\nparams = {{ period = 10, band_percent = 0.0 }}\n'
    )
    report = cli.json("paper", "--days", "3", "--seed", "3", "--config", str(config))
    assert report["critical_errors"] == 0 and report["orders"] > 0
    assert cli.query("SELECT count(*) FROM orders WHERE strategy = 'dip_rider'")[0][0] == report["orders"]


def test_strategy_list_json_lists_the_built_ins(cli):
    listed = cli.json("strategy", "list")
    assert [entry["name"] for entry in listed] == [
        "ma_crossover", "rsi_mean_reversion", "bollinger_bounce", "donchian_breakout"]
    donchian = {p["name"]: p for p in listed[3]["params"]}
    assert donchian["confirm"] == {"name": "confirm", "kind": "choice", "default": "none", "low": None, "high": None,
                                   "step": None, "log": False, "choices": ["none", "volume", "adx", "both"],
                                   "help": "what must confirm a breakout"}
    text = cli.run("strategy", "list").stdout
    assert "rsi_mean_reversion: RSI mean reversion" in text and "period = 14  (an integer from 2 to 100)" in text
