"""The seeded synthetic feed: determinism, OHLC invariants, regimes, and NYSE-session placement."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from statistics import fmean, pstdev

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.marketdata import Regime, SyntheticBarFeed, SyntheticPriceProcess, is_nyse_open, nyse_sessions
from domain.accounting.instrument import Instrument, crypto, equity
from domain.accounting.market import Bar

UTC = timezone.utc
MINUTE = timedelta(minutes=1)
FIVE_MINUTES = timedelta(minutes=5)


def run_process(
    process: SyntheticPriceProcess, *, count: int, interval: timedelta = MINUTE
) -> list[tuple[Bar, Regime]]:
    start = datetime(2025, 1, 6, tzinfo=UTC)
    out = []
    for i in range(count):
        bar = process.next_bar(ts=start + i * interval, interval=interval)
        out.append((bar, process.regime))
    return out


def small_feed(*, seed: int = 7, instruments: tuple[Instrument, ...] | None = None) -> SyntheticBarFeed:
    return SyntheticBarFeed(
        instruments=instruments or (equity("SPY"), crypto("BTC-USD")),
        start=date(2025, 1, 6),
        trading_days=2,
        interval=FIVE_MINUTES,
        seed=seed,
    )


# --- determinism ---------------------------------------------------------------------------------


def test_same_seed_gives_identical_bars_and_a_different_seed_does_not() -> None:
    first = list(small_feed(seed=7).bars())
    again = list(small_feed(seed=7).bars())
    other = list(small_feed(seed=8).bars())

    assert first == again
    assert [b.ts for b in other] == [b.ts for b in first]
    assert [b.close for b in other] != [b.close for b in first]


def test_bars_is_repeatable_on_one_feed_and_independent_of_the_other_instruments() -> None:
    feed = small_feed(instruments=(equity("SPY"), crypto("BTC-USD"), crypto("ETH-USD")))
    merged = list(feed.bars())
    alone = list(small_feed(instruments=(crypto("BTC-USD"),)).bars())

    assert list(feed.bars()) == merged
    # Each symbol has its own generator, so who else is in the feed (and so the order of consumption)
    # changes nothing.
    assert [b for b in merged if b.symbol == "BTC-USD"] == alone


def test_one_bar_at_a_time_matches_the_feed() -> None:
    feed = small_feed(instruments=(crypto("ETH-USD"),))
    from_feed = list(feed.bars())
    process = SyntheticPriceProcess(instrument=crypto("ETH-USD"), seed=7)

    by_hand = [process.next_bar(ts=bar.ts, interval=FIVE_MINUTES) for bar in from_feed]

    assert by_hand == from_feed


def test_bars_do_not_depend_on_pythons_randomised_hash() -> None:
    code = (
        "from datetime import datetime, timedelta, timezone\n"
        "from adapters.marketdata import SyntheticPriceProcess\n"
        "from domain.accounting.instrument import crypto\n"
        "p = SyntheticPriceProcess(instrument=crypto('ETH-USD'), seed=3)\n"
        "t = datetime(2025, 1, 6, tzinfo=timezone.utc)\n"
        "m = timedelta(minutes=1)\n"
        "print([str(p.next_bar(ts=t + i * m, interval=m).close) for i in range(5)])\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True, text=True, check=True,
        ).stdout
        for hash_seed in ("1", "2")
    }
    assert len(outputs) == 1


# --- OHLC invariants -----------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**63),
    instrument=st.sampled_from([equity("SPY"), equity("XYZ"), crypto("BTC-USD"), crypto("DOGE-USD")]),
    interval=st.sampled_from([MINUTE, FIVE_MINUTES, timedelta(hours=1), timedelta(days=1)]),
    start_price=st.one_of(st.none(), st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100_000), places=2)),
)
def test_every_bar_is_a_valid_tick_rounded_ohlcv(
    seed: int, instrument: Instrument, interval: timedelta, start_price: Decimal | None
) -> None:
    process = SyntheticPriceProcess(instrument=instrument, seed=seed, start_price=start_price)
    tick = instrument.tick_size
    places = 0 if instrument.asset_class.value == "equity" else 4

    for bar, _ in run_process(process, count=300, interval=interval):
        assert bar.high >= max(bar.open, bar.close)
        assert bar.low <= min(bar.open, bar.close)
        assert bar.low >= tick
        for price in (bar.open, bar.high, bar.low, bar.close):
            assert price % tick == 0
        assert bar.volume > 0
        assert bar.volume == bar.volume.quantize(Decimal(1).scaleb(-places))
        assert bar.interval == interval


def test_default_and_explicit_start_prices() -> None:
    def first_open(instrument: Instrument, start_price: Decimal | None = None) -> Decimal:
        process = SyntheticPriceProcess(instrument=instrument, seed=1, start_price=start_price)
        return run_process(process, count=1)[0][0].open

    assert first_open(equity("SPY")) == Decimal("450.00")
    assert first_open(equity("AAPL")) == Decimal("190.00")
    assert first_open(crypto("BTC-USD")) == Decimal("60000.00")
    assert first_open(crypto("ETH-USD")) == Decimal("3000.00")
    assert first_open(equity("XYZ")) == Decimal("100.00")
    assert first_open(equity("XYZ"), Decimal("12.34")) == Decimal("12.34")


def test_price_never_falls_below_one_percent_of_start() -> None:
    # A 2-cent start: the floor (1% of start) is below a tick, so the tick is the floor.
    process = SyntheticPriceProcess(instrument=crypto("PENNY-USD"), seed=5, start_price=Decimal("0.02"))
    lows = [bar.low for bar, _ in run_process(process, count=3000, interval=timedelta(days=1))]
    assert min(lows) >= Decimal("0.01")


def test_next_bar_refuses_time_going_backwards() -> None:
    process = SyntheticPriceProcess(instrument=equity("SPY"), seed=1)
    ts = datetime(2025, 1, 6, 15, tzinfo=UTC)
    process.next_bar(ts=ts, interval=MINUTE)
    with pytest.raises(ValueError, match="not after the previous bar"):
        process.next_bar(ts=ts, interval=MINUTE)


# --- regimes -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_crypto_run() -> list[tuple[Bar, Regime]]:
    process = SyntheticPriceProcess(instrument=crypto("BTC-USD"), seed=11)
    return run_process(process, count=40_000)


def log_returns_by_regime(run: list[tuple[Bar, Regime]]) -> dict[Regime, list[float]]:
    by_regime: dict[Regime, list[float]] = defaultdict(list)
    for (previous, _), (bar, regime) in zip(run, run[1:]):
        by_regime[regime].append(math.log(bar.close / previous.close))
    return by_regime


def episodes(run: list[tuple[Bar, Regime]]) -> list[tuple[Regime, list[Bar]]]:
    out: list[tuple[Regime, list[Bar]]] = []
    for bar, regime in run:
        if out and out[-1][0] == regime:
            out[-1][1].append(bar)
        else:
            out.append((regime, [bar]))
    return out


def test_regimes_switch_and_persist_for_tens_to_hundreds_of_bars(long_crypto_run) -> None:
    runs = episodes(long_crypto_run)
    lengths = [len(bars) for _, bars in runs]

    assert {regime for regime, _ in runs} == set(Regime)
    assert len(runs) > 50
    assert 30 <= fmean(lengths) <= 500
    trend_lengths = [len(bars) for regime, bars in runs if regime in (Regime.TRENDING_UP, Regime.TRENDING_DOWN)]
    assert fmean(trend_lengths) >= 50


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_several_regimes_are_visited_for_any_seed(seed: int) -> None:
    process = SyntheticPriceProcess(instrument=equity("SPY"), seed=seed)
    visited = Counter(regime for _, regime in run_process(process, count=5000))
    assert len(visited) >= 4


def test_regime_drifts_point_the_right_way_and_a_crash_draws_down(long_crypto_run) -> None:
    returns = log_returns_by_regime(long_crypto_run)
    mean_return = {regime: fmean(values) for regime, values in returns.items()}
    one_minute_sigma = 0.035 / math.sqrt(24 * 60)  # crypto's base volatility for a one-minute bar

    assert mean_return[Regime.TRENDING_UP] > 0 > mean_return[Regime.TRENDING_DOWN]
    assert mean_return[Regime.CRASH] < min(r for regime, r in mean_return.items() if regime is not Regime.CRASH)
    # The model's crash drift is -1.75 base sigmas a bar; half of that leaves room for noise, so
    # this does not hang on one lucky path (checked over seeds 0-19).
    assert mean_return[Regime.CRASH] < -0.5 * one_minute_sigma
    crash_drawdowns = [
        1 - min(bar.low for bar in bars) / bars[0].open for regime, bars in episodes(long_crypto_run)
        if regime is Regime.CRASH
    ]
    assert crash_drawdowns, "a 40k-bar run should contain at least one crash"
    assert max(crash_drawdowns) > Decimal("0.01")


def test_volume_is_higher_in_volatile_and_crash_regimes(long_crypto_run) -> None:
    volume: dict[Regime, list[float]] = defaultdict(list)
    for bar, regime in long_crypto_run:
        volume[regime].append(float(bar.volume))
    calm = max(fmean(volume[Regime.TRENDING_UP]), fmean(volume[Regime.MEAN_REVERTING]))

    assert fmean(volume[Regime.VOLATILE]) > calm
    assert fmean(volume[Regime.CRASH]) > fmean(volume[Regime.VOLATILE])


@pytest.mark.parametrize(("interval", "ratio"), [(MINUTE, 1.2), (timedelta(days=1), 2.0)])
def test_crypto_is_more_volatile_than_equities(interval: timedelta, ratio: float) -> None:
    # Per minute the gap is smaller than per day: an equity "day" of volatility is a 6.5 h session.
    def volatility(instrument: Instrument) -> float:
        run = run_process(SyntheticPriceProcess(instrument=instrument, seed=4), count=3000, interval=interval)
        return pstdev(math.log(b.close / a.close) for (a, _), (b, _) in zip(run, run[1:]))

    assert volatility(crypto("ETH-USD")) > ratio * volatility(equity("SPY"))


# --- placement in time ---------------------------------------------------------------------------


def test_equity_bars_only_inside_nyse_sessions_and_crypto_around_the_clock() -> None:
    # 2025-07-03 closes at 13:00 New York, 07-04 is a holiday, 07-05/06 a weekend.
    feed = SyntheticBarFeed(
        instruments=[equity("SPY"), crypto("BTC-USD")], start=date(2025, 7, 3), trading_days=2,
        interval=FIVE_MINUTES, seed=1,
    )
    bars = list(feed.bars())
    spy = [b for b in bars if b.symbol == "SPY"]
    btc = [b for b in bars if b.symbol == "BTC-USD"]

    assert all(is_nyse_open(b.ts) for b in spy)
    assert {b.ts.date() for b in spy} == {date(2025, 7, 3), date(2025, 7, 7)}
    assert max(b.ts for b in spy if b.ts.date() == date(2025, 7, 3)) == datetime(2025, 7, 3, 16, 55, tzinfo=UTC)
    assert len(spy) == 42 + 78  # 3.5 h and 6.5 h of five-minute bars
    assert {b.ts.date() for b in btc} >= {date(2025, 7, 4), date(2025, 7, 5), date(2025, 7, 6)}
    assert all(b.interval == FIVE_MINUTES for b in bars)


def test_half_day_after_thanksgiving_closes_at_18_utc() -> None:
    feed = SyntheticBarFeed(
        instruments=[equity("SPY")], start=date(2025, 11, 28), trading_days=1, interval=MINUTE, seed=1
    )
    bars = list(feed.bars())

    assert bars[0].ts == datetime(2025, 11, 28, 14, 30, tzinfo=UTC)
    assert bars[-1].ts == datetime(2025, 11, 28, 17, 59, tzinfo=UTC)
    assert len(bars) == 210


def test_no_bar_starts_at_or_after_the_close_when_the_interval_does_not_divide_the_session() -> None:
    seven = timedelta(minutes=7)
    feed = SyntheticBarFeed(instruments=[equity("SPY")], start=date(2025, 1, 6), trading_days=1, interval=seven, seed=1)
    session = nyse_sessions(start=date(2025, 1, 6), count=1)[0]
    bars = list(feed.bars())

    assert len(bars) == math.ceil(390 / 7)
    assert bars[-1].ts < session.close < bars[-1].end


def test_crypto_bars_are_contiguous_over_the_span_shared_by_every_bot() -> None:
    with_equity = small_feed()
    crypto_only = small_feed(instruments=(crypto("BTC-USD"),))
    btc = list(crypto_only.bars())
    start, end = crypto_only.span

    assert crypto_only.span == with_equity.span
    assert start == datetime(2025, 1, 6, tzinfo=UTC) and end == datetime(2025, 1, 7, 21, tzinfo=UTC)
    assert [b.ts for b in btc] == [start + i * FIVE_MINUTES for i in range(len(btc))]
    assert btc[-1].ts < end <= btc[-1].end


def test_merged_feed_is_in_ts_then_symbol_order() -> None:
    feed = small_feed(instruments=(equity("SPY"), crypto("ETH-USD"), equity("AAPL"), crypto("BTC-USD")))
    keys = [(b.ts, b.symbol) for b in feed.bars()]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_session_opens_gap_more_than_bars_inside_a_session() -> None:
    feed = SyntheticBarFeed(
        instruments=[equity("SPY")], start=date(2025, 1, 6), trading_days=10, interval=FIVE_MINUTES, seed=2
    )
    bars = list(feed.bars())
    opens = {s.open for s in nyse_sessions(start=date(2025, 1, 6), count=10)}
    gaps = defaultdict(list)
    for previous, bar in zip(bars, bars[1:]):
        gaps[bar.ts in opens].append(abs(float(bar.open / previous.close) - 1))

    assert fmean(gaps[True]) > 3 * fmean(gaps[False])


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "argument"),
    [
        ({"trading_days": 0}, "trading_days"),
        ({"trading_days": True}, "trading_days"),
        ({"trading_days": 2.0}, "trading_days"),
        ({"interval": timedelta(0)}, "interval"),
        ({"interval": -MINUTE}, "interval"),
        ({"interval": 60}, "interval"),
        ({"seed": "7"}, "seed"),
        ({"seed": -1}, "seed"),
        ({"seed": 7.0}, "seed"),
        ({"instruments": []}, "instruments"),
        ({"instruments": [equity("SPY"), equity("SPY")]}, "duplicate"),
        ({"start": date(1980, 1, 1)}, "supported range"),
    ],
)
def test_bad_arguments_are_named(change: dict, argument: str) -> None:
    arguments = {
        "instruments": [equity("SPY")], "start": date(2025, 1, 6), "trading_days": 1, "interval": MINUTE, "seed": 7,
    } | change
    with pytest.raises(ValueError, match=argument):
        SyntheticBarFeed(**arguments)


@pytest.mark.parametrize("start_price", [Decimal(0), Decimal(-1), Decimal("NaN"), 100.0])
def test_bad_start_price_is_refused(start_price: object) -> None:
    with pytest.raises(ValueError, match="start_price"):
        SyntheticPriceProcess(instrument=equity("SPY"), seed=1, start_price=start_price)  # type: ignore[arg-type]
