"""Seeded, deterministic synthetic OHLCV bars for backtests, demos and tests.

The price model is a Markov regime-switching random walk in log space. Regimes last a number of
*bars* (not of wall-clock time) and their drift is expressed in units of the per-bar volatility, so
the trend-to-noise ratio within a regime is the same at any bar size: a moving-average crossover has
trends to trade whether the bars are one minute or one day long.

Determinism: each symbol has its own numpy Generator seeded from (seed, crc32(symbol)) -- never
Python's hash(), which is randomised per process -- and random numbers are drawn in fixed-size
blocks, so the bars do not depend on how (or how fast) anyone consumes them.
"""

from __future__ import annotations

import enum
import heapq
import math
import zlib
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import attrs
import numpy as np

from adapters.marketdata.calendar import Session, nyse_sessions
from domain.accounting.instrument import AssetClass, Instrument
from domain.accounting.market import Bar


class Regime(enum.StrEnum):
    TRENDING_UP = "TRENDING_UP"
    TRENDING_DOWN = "TRENDING_DOWN"
    MEAN_REVERTING = "MEAN_REVERTING"
    VOLATILE = "VOLATILE"
    CRASH = "CRASH"


@attrs.frozen(kw_only=True)
class _RegimeParams:
    drift: float  # per-bar drift, in units of this regime's per-bar volatility
    vol: float  # multiple of the asset class's base volatility
    mean_bars: float  # expected length in bars (geometric: leave with probability 1/mean_bars per bar)
    volume: float  # multiple of the base traded notional
    pull: float  # fraction of the distance to the moving anchor closed per bar
    exits: tuple[tuple[Regime, float], ...]  # where the chain goes on leaving, with weights


_R = Regime
_REGIMES: dict[Regime, _RegimeParams] = {
    _R.TRENDING_UP: _RegimeParams(
        drift=0.1, vol=1.0, mean_bars=200, volume=1.0, pull=0.0,
        exits=((_R.MEAN_REVERTING, 0.45), (_R.TRENDING_DOWN, 0.3), (_R.VOLATILE, 0.235), (_R.CRASH, 0.015)),
    ),
    _R.TRENDING_DOWN: _RegimeParams(
        drift=-0.1, vol=1.2, mean_bars=150, volume=1.2, pull=0.0,
        exits=((_R.MEAN_REVERTING, 0.45), (_R.TRENDING_UP, 0.3), (_R.VOLATILE, 0.235), (_R.CRASH, 0.015)),
    ),
    _R.MEAN_REVERTING: _RegimeParams(
        drift=0.0, vol=0.8, mean_bars=150, volume=0.8, pull=0.03,
        exits=((_R.TRENDING_UP, 0.4), (_R.TRENDING_DOWN, 0.35), (_R.VOLATILE, 0.235), (_R.CRASH, 0.015)),
    ),
    _R.VOLATILE: _RegimeParams(
        drift=0.0, vol=2.5, mean_bars=60, volume=2.0, pull=0.0,
        exits=((_R.MEAN_REVERTING, 0.4), (_R.TRENDING_UP, 0.25), (_R.TRENDING_DOWN, 0.32), (_R.CRASH, 0.03)),
    ),
    # Rare and short, but it moves about 25 base per-bar sigmas down on average: a real drawdown.
    _R.CRASH: _RegimeParams(
        drift=-0.7, vol=2.5, mean_bars=15, volume=4.0, pull=0.0,
        exits=((_R.VOLATILE, 0.45), (_R.TRENDING_UP, 0.4), (_R.MEAN_REVERTING, 0.15)),  # often a rebound
    ),
}
_INITIAL_WEIGHTS = ((_R.MEAN_REVERTING, 0.4), (_R.TRENDING_UP, 0.3), (_R.TRENDING_DOWN, 0.3))


@attrs.frozen(kw_only=True)
class RegimeSpell:
    """One stretch of a scripted scenario: `bars` bars drawn in `regime`, the first opening
    `gap_down` (a fraction: 0.3 is 30 %) below the previous close. A stress test needs the
    regime it tests on demand (the chain visits a crash rarely), and a crash that gaps through
    resting stops is the one that reaches the loss limits."""

    regime: Regime = attrs.field(converter=Regime)
    bars: int = attrs.field(validator=[attrs.validators.instance_of(int), attrs.validators.ge(1)])
    gap_down: float = attrs.field(default=0.0, validator=[attrs.validators.ge(0.0), attrs.validators.lt(1.0)])


@attrs.frozen(kw_only=True)
class _AssetParams:
    base_vol: float  # log-price volatility over one `day`
    day: timedelta  # what "one day" of volatility means: a session for equities, 24 h for crypto
    daily_notional: float  # traded notional per `day`, turned into units at the current price
    volume_places: int  # volume decimals: whole shares, 4 decimals of a coin


_ASSETS = {
    AssetClass.EQUITY: _AssetParams(
        base_vol=0.012, day=timedelta(hours=6, minutes=30), daily_notional=2e9, volume_places=0
    ),
    AssetClass.CRYPTO: _AssetParams(base_vol=0.035, day=timedelta(hours=24), daily_notional=1e9, volume_places=4),
}
_DEFAULT_START_PRICES = {"SPY": Decimal(450), "AAPL": Decimal(190), "BTC-USD": Decimal(60000), "ETH-USD": Decimal(3000)}
_FALLBACK_START_PRICE = Decimal(100)
_BLOCK = 256  # bars of random numbers drawn at once; fixed, so results never depend on call pattern
_CONTIGUOUS_GAP = 0.05  # open-to-previous-close noise between back-to-back bars, in per-bar vols
_CLOSED_GAP = 0.4  # extra gap noise per sqrt(day) of closed-market time (overnight, weekends)
_WICK = 0.5  # how far high/low reach beyond open/close, in per-bar vols


def _pick(weights: tuple[tuple[Regime, float], ...], u: float) -> Regime:
    total = sum(weight for _, weight in weights)
    running = 0.0
    for regime, weight in weights:
        running += weight / total
        if u < running:
            return regime
    return weights[-1][0]


def _require_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return seed


class SyntheticPriceProcess:
    """One symbol's price path. `next_bar` must be called with increasing `ts`."""

    def __init__(self, *, instrument: Instrument, seed: int, start_price: Decimal | None = None,
                 script: Sequence[RegimeSpell] = ()) -> None:
        """`script`: the regimes of the first bars, spell after spell; the Markov chain carries
        on from the last spell's regime. The random draws are the same with or without one."""
        _require_seed(seed)
        if start_price is None:
            start_price = _DEFAULT_START_PRICES.get(instrument.symbol, _FALLBACK_START_PRICE)
        if not isinstance(start_price, Decimal) or not start_price.is_finite() or start_price <= 0:
            raise ValueError(f"start_price must be a finite positive Decimal, got {start_price!r}")
        self._instrument = instrument
        self._asset = _ASSETS[instrument.asset_class]
        self._rng = np.random.default_rng([seed, zlib.crc32(instrument.symbol.encode())])
        self._log_close = math.log(start_price)
        self._anchor = self._log_close
        self._log_floor = math.log(start_price * Decimal("0.01"))  # never below 1% of the start
        self._regime = _pick(_INITIAL_WEIGHTS, float(self._rng.random()))
        # The scripted bars, one (regime, gap) per bar, consumed from the front.
        self._script: list[tuple[Regime, float]] = [
            (spell.regime, spell.gap_down if i == 0 else 0.0) for spell in script for i in range(spell.bars)]
        self._script.reverse()
        self._last_ts: datetime | None = None
        self._last_end: datetime | None = None
        self._normals: list[list[float]] = []
        self._uniforms: list[list[float]] = []
        self._cursor = _BLOCK

    @property
    def regime(self) -> Regime:
        """The regime the most recent bar was drawn in (a str enum: compares equal to its name)."""
        return self._regime

    def _draws(self) -> tuple[list[float], list[float]]:
        if self._cursor == _BLOCK:
            # Python lists: indexing numpy scalars one by one is several times slower.
            self._normals = self._rng.standard_normal((_BLOCK, 5)).tolist()
            self._uniforms = self._rng.random((_BLOCK, 2)).tolist()
            self._cursor = 0
        index = self._cursor
        self._cursor += 1
        return self._normals[index], self._uniforms[index]

    def next_bar(self, *, ts: datetime, interval: timedelta) -> Bar:
        if interval <= timedelta(0):
            raise ValueError(f"interval must be positive, got {interval}")
        if ts.tzinfo is None or ts.utcoffset() is None:  # checked before any state moves
            raise ValueError(f"ts must be timezone-aware, got naive {ts.isoformat()}")
        if self._last_ts is not None and ts <= self._last_ts:
            raise ValueError(f"ts {ts.isoformat()} is not after the previous bar ({self._last_ts.isoformat()})")
        (z_gap, z_ret, z_high, z_low, z_volume), (u_leave, u_next) = self._draws()
        params = _REGIMES[self._regime]
        gap_down = 0.0
        if self._script:
            self._regime, gap_down = self._script.pop()
            params = _REGIMES[self._regime]
        elif u_leave < 1.0 / params.mean_bars:
            self._regime = _pick(params.exits, u_next)
            params = _REGIMES[self._regime]

        asset = self._asset
        day_fraction = interval / asset.day
        if not self._instrument.trades_around_the_clock:
            # An equity bar never spans more than one session (the feed starts a new bar at each
            # open), so a daily bar carries one session of volatility; closed time is the gap below.
            day_fraction = min(day_fraction, 1.0)
        sigma = asset.base_vol * params.vol * math.sqrt(day_fraction)
        closed = max(ts - self._last_end, timedelta(0)) / asset.day if self._last_end is not None else 0.0
        gap_sigma = _CONTIGUOUS_GAP * sigma + _CLOSED_GAP * asset.base_vol * params.vol * math.sqrt(closed)
        floor = self._log_floor
        log_open = max(self._log_close + gap_sigma * z_gap, floor) if self._last_end is not None else self._log_close
        if gap_down:
            log_open = max(log_open + math.log1p(-gap_down), floor)
        drift = params.drift * sigma + params.pull * (self._anchor - log_open)
        log_close = max(log_open + drift + sigma * z_ret, floor)
        log_high = max(log_open, log_close) + _WICK * sigma * abs(z_high)
        log_low = max(min(log_open, log_close) - _WICK * sigma * abs(z_low), floor)

        self._log_close = log_close
        self._anchor += 0.01 * (log_close - self._anchor)  # slow EMA: the level mean reversion pulls to
        self._last_ts, self._last_end = ts, ts + interval
        close_price = math.exp(log_close)
        # Lognormal with sigma 0.6; the -0.18 (= sigma**2 / 2) keeps the mean at the base notional.
        units = asset.daily_notional * day_fraction / close_price * params.volume * math.exp(0.6 * z_volume - 0.18)
        return self._bar(ts, interval, math.exp(log_open), math.exp(log_high), math.exp(log_low), close_price, units)

    def _bar(self, ts: datetime, interval: timedelta, o: float, h: float, l: float, c: float, units: float) -> Bar:
        tick = self._instrument.tick_size
        round_price = self._instrument.round_price
        # Rounding can land on zero for a tiny price; a tick is the smallest positive price.
        open_, close = max(round_price(Decimal(o)), tick), max(round_price(Decimal(c)), tick)
        high = max(round_price(Decimal(h)), open_, close)
        low = max(min(round_price(Decimal(l)), open_, close), tick)
        places = self._asset.volume_places
        volume = Decimal(max(1, round(units * 10**places))).scaleb(-places)
        return Bar(
            symbol=self._instrument.symbol, ts=ts, open=open_, high=high, low=low, close=close,
            volume=volume, interval=interval,
        )


@attrs.frozen(kw_only=True)
class SyntheticBarFeed:
    """Bars for several instruments over `trading_days` NYSE sessions, merged in (ts, symbol) order.

    Equities trade only inside sessions; crypto trades 24/7 over [first session day 00:00 UTC,
    last session close), so "N trading days" spans the same time for every bot.
    """

    instruments: tuple[Instrument, ...] = attrs.field(converter=tuple)
    start: date
    trading_days: int
    interval: timedelta
    seed: int
    # A scripted scenario for every instrument (RegimeSpell), e.g. a trend then a gapping crash.
    script: tuple[RegimeSpell, ...] = attrs.field(default=(), converter=tuple)
    _sessions: tuple[Session, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        if not self.instruments or not all(isinstance(i, Instrument) for i in self.instruments):
            raise ValueError(f"instruments must be a non-empty sequence of Instrument, got {self.instruments!r}")
        symbols = [instrument.symbol for instrument in self.instruments]
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"instruments has duplicate symbols: {symbols}")
        if isinstance(self.trading_days, bool) or not isinstance(self.trading_days, int) or self.trading_days < 1:
            raise ValueError(f"trading_days must be an int >= 1, got {self.trading_days!r}")
        if not isinstance(self.interval, timedelta) or self.interval <= timedelta(0):
            raise ValueError(f"interval must be a positive timedelta, got {self.interval!r}")
        _require_seed(self.seed)
        # Loads the calendar now, so a start outside its range fails at construction, not mid-run.
        object.__setattr__(self, "_sessions", tuple(nyse_sessions(start=self.start, count=self.trading_days)))

    @property
    def span(self) -> tuple[datetime, datetime]:
        """[first session day 00:00 UTC, last session close): the time every instrument's bars cover."""
        first, last = self._sessions[0], self._sessions[-1]
        return datetime.combine(first.day, time(0), tzinfo=timezone.utc), last.close

    def bars(self) -> Iterator[Bar]:
        """A fresh, identical sequence on every call."""
        streams = [self._bars_for(instrument) for instrument in self.instruments]
        return heapq.merge(*streams, key=lambda bar: (bar.ts, bar.symbol))

    def _bars_for(self, instrument: Instrument) -> Iterator[Bar]:
        process = SyntheticPriceProcess(instrument=instrument, seed=self.seed, script=self.script)
        for ts in self._timestamps(instrument):
            yield process.next_bar(ts=ts, interval=self.interval)

    def _timestamps(self, instrument: Instrument) -> Iterator[datetime]:
        step = self.interval
        if instrument.trades_around_the_clock:
            ts, end = self.span
            while ts < end:
                yield ts
                ts += step
            return
        for session in self._sessions:
            ts = session.open
            while ts < session.close:  # the last bar may run past the close; none starts at or after it
                yield ts
                ts += step
