"""Small builders shared by the use-case tests: bars, strategies, bots."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs

from application.ports import UnitOfWorkFactory
from application.trading.bot import BotSpec
from application.trading.bot_state import BotState, load_bot_state
from domain.accounting.instrument import Instrument, equity
from domain.accounting.market import Bar
from domain.risk.risk import RiskLimits
from domain.risk.sizing import FixedFraction
from domain.strategy import BarWindow, Signal, Strategy, Target

T0 = datetime(2025, 1, 2, 15, 0, tzinfo=timezone.utc)
ACCOUNT = "paper-test"


def bar(symbol: str, ts: datetime, close: Decimal | int | str, *, interval: timedelta = timedelta(minutes=1)) -> Bar:
    price = Decimal(close)
    return Bar(symbol=symbol, ts=ts, open=price, high=price, low=price, close=price, volume=Decimal(1000),
               interval=interval)


def bars(symbol: str, closes: Iterable[Decimal | int | str], *, start: datetime = T0,
         interval: timedelta = timedelta(minutes=1)) -> list[Bar]:
    return [bar(symbol, start + i * interval, c, interval=interval) for i, c in enumerate(closes)]


@attrs.define
class ScriptedStrategy:
    """Target from a function of (symbol, number of bars seen); counts its calls."""

    decide: Callable[[str, int], Target | None]
    name: str = "scripted"
    warmup: int = 1
    calls: int = 0

    def on_bar(self, window: BarWindow) -> Signal | None:
        self.calls += 1
        assert window.last is not None
        target = self.decide(window.last.symbol, len(window))
        if target is None:
            return None
        return Signal(target=target, bar_ts=window.last.ts, values={"bars": len(window)}, reason="scripted")


def always(target: Target, *, name: str = "always") -> ScriptedStrategy:
    return ScriptedStrategy(decide=lambda _symbol, _n: target, name=name)


def spec(
    name: str = "bot1",
    *,
    strategy: Strategy,
    symbols: Sequence[str] = ("SPY",),
    instruments: Mapping[str, Instrument] | None = None,
    fraction: str = "0.5",
    capital: Decimal | int = 100_000,
    limits: RiskLimits | None = None,
) -> BotSpec:
    return BotSpec(
        name=name,
        instruments=dict(instruments) if instruments else {s: equity(s) for s in symbols},
        strategy=strategy,
        sizing=FixedFraction(fraction=Decimal(fraction)),
        capital=Decimal(capital),
        limits=limits or RiskLimits(),
    )


def load(uow_factory: UnitOfWorkFactory, bot_spec: BotSpec, *, account: str = ACCOUNT) -> BotState:
    with uow_factory() as uow:
        state = load_bot_state(uow, spec=bot_spec, account=account)
        uow.commit()
    return state
