"""The research commands as a user drives them, in real processes: `quantshift optimize`,
`walkforward` and `montecarlo` on a small random-walk file (3,000 one-minute bars), with few
trials, so the whole module runs in well under half a minute (the numba kernel caches its
compilation on disk; the first run of a fresh checkout takes a few seconds more)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import numpy as np
import psycopg
import pytest

pytestmark = pytest.mark.e2e

BARS = 3_000
POSTGRES_URL = os.environ.get("QUANTSHIFT_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="module")
def bars(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fixed-seed random walk of one-minute bars, written as a user's CSV."""
    rng = np.random.default_rng(20240102)
    close = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.002, BARS))), 2)
    open_ = np.round(np.concatenate(([100.0], close[:-1])), 2)
    high = np.maximum(open_, close) + np.round(np.abs(rng.normal(0, 0.03, BARS)), 2)
    low = np.minimum(open_, close) - np.round(np.abs(rng.normal(0, 0.03, BARS)), 2)
    times = np.datetime64("2024-01-02T00:00", "s") + np.arange(BARS) * np.timedelta64(60, "s")
    path = tmp_path_factory.mktemp("research") / "rw.csv"
    lines = ["timestamp,open,high,low,close,volume"]
    lines += [f"{t}Z,{o:.2f},{h:.2f},{lo:.2f},{c:.2f},1000" for t, o, h, lo, c in zip(times, open_, high, low, close)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def optimize(cli, bars: str, *args: str) -> dict:
    return cli.json("optimize", "--data", bars, "--strategy", "ma_crossover", *args)  # type: ignore[return-value]


def test_optimize_finds_parameters_and_reports_in_and_out_of_sample_figures(cli, bars):
    out = optimize(cli, bars, "--trials", "12", "--seed", "7", "--param", "entry=level")
    best = out["best"]
    assert best["params"]["entry"] == "level"  # held fixed
    assert set(best["params"]) == {"fast", "slow", "allow_short", "entry"}
    assert best["params"]["fast"] < best["params"]["slow"]
    assert out["trials"] == {"run": 12, "in_study": 12, "complete": 12}
    # The default --in-sample 0.7: optimised on the first 2,100 bars, the rest held out.
    assert (out["in_sample"]["start"], out["in_sample"]["stop"]) == (0, 2_100)
    assert (out["out_of_sample"]["start"], out["out_of_sample"]["stop"]) == (2_100, BARS)
    assert best["values"] == [pytest.approx(best["in_sample"]["sharpe"])]
    for part in ("in_sample", "out_of_sample"):
        assert isinstance(best[part]["total_return"], float) and isinstance(best[part]["sharpe"], float)
        assert best[part]["trades"] > 0
    assert best["out_of_sample"] != best["in_sample"]
    assert out["pareto_front"] == [best]


def test_the_same_seed_gives_the_same_best_parameters(cli, bars):
    first, second = (optimize(cli, bars, "--trials", "10", "--seed", "11", "--in-sample", "0.6") for _ in range(2))
    assert first["best"]["params"] == second["best"]["params"]
    assert first["best"]["values"] == second["best"]["values"]
    assert first["best"]["out_of_sample"] == second["best"]["out_of_sample"]


def test_nsga2_with_two_objectives_gives_a_pareto_front(cli, bars):
    out = optimize(cli, bars, "--trials", "20", "--seed", "3", "--sampler", "nsga2",
                   "--objective", "total_return", "--objective", "max_drawdown")
    assert out["best"] is None
    assert [(o["name"], o["direction"]) for o in out["objectives"]] == [("total_return", "maximize"),
                                                                        ("max_drawdown", "minimize")]
    front = out["pareto_front"]
    assert front and all(len(entry["values"]) == 2 for entry in front)
    for a in front:  # no member is beaten by another in both objectives
        for b in front:
            assert not (b["values"][0] > a["values"][0] and b["values"][1] < a["values"][1])
        assert a["out_of_sample"] is not None


@pytest.fixture
def shared_study() -> Iterator[str]:
    """A Postgres storage URL with a schema of its own (empty: the two runs below race to
    create Optuna's tables in it, which the storage adapter must survive), dropped afterwards."""
    schema = f"qs_research_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3, autocommit=True) as admin:
            admin.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as error:
        reason = f"Postgres test server unreachable: {' '.join(str(error).split())}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the Postgres tests must run)")
        pytest.skip(reason)
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    yield url
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_two_processes_share_one_study_on_postgres(cli, bars, shared_study):
    import optuna

    from adapters.optuna_search import normalise_storage_url

    study = f"e2e-{uuid.uuid4().hex[:8]}"
    common = ["optimize", "--data", bars, "--strategy", "ma_crossover", "--storage", shared_study, "--study", study,
              "--json"]
    first = cli.start(*common, "--trials", "6", "--seed", "1")
    second = cli.start(*common, "--trials", "4", "--jobs", "2", "--seed", "2")
    outputs = [process.communicate(timeout=120) for process in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], [err for _, err in outputs]
    loaded = optuna.load_study(study_name=study, storage=normalise_storage_url(shared_study))
    states = [trial.state for trial in loaded.trials]
    assert states == [optuna.trial.TrialState.COMPLETE] * 10  # 6 + 4: each process ran its own share


def test_walkforward_windows_never_test_on_bars_they_trained_on(cli, bars):
    train, test, step = 1_000, 500, 600
    out = cli.json("walkforward", "--data", bars, "--strategy", "ma_crossover", "--train", str(train), "--test",
                   str(test), "--step", str(step), "--trials", "4", "--seed", "1")
    windows = out["windows"]
    assert len(windows) == (BARS - train - test) // step + 1 == 3
    for window in windows:
        assert window["train"]["stop"] - window["train"]["start"] == train
        assert window["test"]["stop"] - window["test"]["start"] == test
        assert window["train"]["stop"] <= window["test"]["start"]  # no test bar in its train window
        assert window["train"]["last_bar"] < window["test"]["first_bar"]
        assert window["params"]["fast"] < window["params"]["slow"]
    tests = [(w["test"]["start"], w["test"]["stop"]) for w in windows]
    assert all(stop <= next_start for (_, stop), (next_start, _) in zip(tests, tests[1:]))
    assert out["out_of_sample"]["bars"] == len(windows) * test  # the stitched test windows only
    assert out["out_of_sample"]["trades"] == sum(w["out_of_sample"]["trades"] for w in windows)


def test_montecarlo_with_one_seed_gives_the_same_percentiles(cli, bars):
    args = ["montecarlo", "--data", bars, "--strategy", "ma_crossover", "--param", "fast=5", "--param", "slow=20",
            "--sims", "2000", "--resample", "bootstrap", "--seed", "9"]
    first, second = cli.json(*args), cli.json(*args)
    assert first["trades"] > 10 and first["seed"] == 9
    for figure in ("final_equity", "max_drawdown"):
        assert first[figure] == second[figure]
        p = first[figure]
        assert p["p5"] <= p["p25"] <= p["p50"] <= p["p75"] <= p["p95"]
    assert first["probability_of_loss"] == second["probability_of_loss"]
    assert 0 <= first["probability_of_loss"] <= 1


@pytest.mark.parametrize(("args", "option"), [
    (["optimize", "--sampler", "cmaes"], "--sampler"),
    (["walkforward", "--train", "1000", "--test", "500", "--step", "100"], "--step"),
    (["montecarlo", "--resample", "shuffle"], "--resample"),
])
def test_a_bad_option_exits_2_and_names_it(cli, bars, args, option):
    command, *rest = args
    result = cli.run(command, "--data", bars, "--strategy", "ma_crossover", *rest, "--json", check=False)
    assert result.returncode == 2
    assert option in result.stderr and result.stdout == ""


def test_walkforward_windows_and_the_stitched_summary_tell_one_story(cli):
    """Issue 13, point 13: no sentinel figure (n/a and why), a window without trades did not
    move, each window's trades explain its return (a position open at its end is closed at its
    last close), and the stitched summary is the windows' figures put together."""
    import json
    import math

    out_dir = cli.tmp / "syn"
    assert cli.invoke("data", "synthetic", "--symbols", "SPY", "--days", "120", "--out", str(out_dir)).returncode == 0
    args = ["walkforward", "--data", str(out_dir / "SPY.csv"), "--strategy", "ma_crossover", "--train", "600",
            "--test", "300", "--trials", "10", "--seed", "1"]
    result = cli.invoke(*args, "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    windows, cash = out["windows"], 100_000.0
    assert any(w["out_of_sample_objective"] is None for w in windows)  # this data has undefined ones
    growth, trades, wins, losses = 1.0, 0, 0.0, 0.0
    for w in windows:
        for part in ("in_sample", "out_of_sample"):
            value, why = w[f"{part}_objective"], w[f"{part}_objective_undefined"]
            assert (value is None) == bool(why), w
            assert value is None or isinstance(value, str) or abs(value) < 1e9, w  # never the optimiser's stand-in
        oos = w["out_of_sample"]
        n = int(oos["trades"])
        if n == 0:
            assert oos["total_return"] == 0.0, w  # flat: no trade, no change
            assert w["out_of_sample_objective_undefined"] == "no trades and the equity never moved"
        else:  # the trades' P&L add up to the window's change
            assert math.isclose(oos["expectancy"] * n, oos["total_return"] * cash, rel_tol=1e-9, abs_tol=1e-6), w
            wins += (oos["average_win"] or 0.0) * round(oos["win_rate"] * n)
            losses += -(oos["average_loss"] or 0.0) * (n - round(oos["win_rate"] * n))
        growth *= 1 + oos["total_return"]
        trades += n
    stitched = out["out_of_sample"]
    assert math.isclose(stitched["total_return"], growth - 1, rel_tol=1e-9, abs_tol=1e-12)
    assert stitched["trades"] == trades
    assert math.isclose(stitched["profit_factor"], wins / losses, rel_tol=1e-9)
    assert (stitched["profit_factor"] > 1) == (stitched["expectancy"] > 0)
    table = cli.invoke(*args)
    assert "n/a (no trades and the equity never moved)" in table.stdout and "1,000,000,000,000" not in table.stdout
