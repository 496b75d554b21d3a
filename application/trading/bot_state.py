"""What a running bot keeps in memory between bars. The store stays the truth:
the portfolio here is a cache, reloaded after every transaction that changes it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import attrs

from application.ports import UnitOfWork
from application.trading.bot import BotSpec
from application.trading.capital_flows import stored_watermark
from domain.accounting.portfolio import Portfolio
from domain.accounting.position import RoundTrip
from domain.risk.circuit_breakers import EquityWatermark
from domain.risk.position_sizing import FractionalKelly
from domain.risk.sanity import BarSanityGate
from domain.risk.stops import StopLevel
from domain.risk.trading_state import TradingState
from domain.strategy import BarWindow, Signal

_KELLY_HISTORY = 100  # round trips the Kelly sizer learns from
_WINDOW_SLACK = 50  # bars kept beyond the strategy's warm-up, for indicators that look back further


@attrs.define(kw_only=True)
class BotState:
    spec: BotSpec
    account: str
    portfolio: Portfolio
    windows: dict[str, BarWindow] = attrs.field(factory=dict)
    marks: dict[str, tuple[Decimal, datetime]] = attrs.field(factory=dict)
    gate: BarSanityGate = attrs.field(factory=BarSanityGate)
    disabled: dict[str, str] = attrs.field(factory=dict)  # symbol -> why its strategy was switched off
    # Known halted (seen by the supervisor or set by a throttle breach). It can only
    # stop evaluations early; the switch in the store is still read before every intent.
    halted: bool = False
    trading_state: TradingState = TradingState.ACTIVE  # as last read from the store
    trading_actor: str = ""  # who set that state (the drawdown breaker may end only its own REDUCING)
    watermark: EquityWatermark | None = None  # the equity peak, for the drawdown breaker
    session_key: str = ""  # the trading session the daily loss limit counts in
    session_start_equity: Decimal | None = None
    daily_loss_stop: str = ""  # why new risk is refused for the rest of the session ("" = not tripped)
    stops: dict[str, StopLevel] = attrs.field(factory=dict)  # per open position
    recent_trips: tuple[RoundTrip, ...] = ()  # for Kelly sizing, newest last
    deferred: dict[str, Signal] = attrs.field(factory=dict)  # symbol -> signal waiting for the next open

    @property
    def name(self) -> str:
        return self.spec.name

    def window(self, symbol: str) -> BarWindow:
        if symbol not in self.windows:
            self.windows[symbol] = BarWindow(capacity=max(self.spec.history_bars, 1) + _WINDOW_SLACK)
        return self.windows[symbol]

    def mark_prices(self) -> dict[str, Decimal]:
        return {symbol: price for symbol, (price, _) in self.marks.items()}

    def equity(self) -> Decimal:
        return self.portfolio.equity(self.mark_prices())

    def reload(self, uow: UnitOfWork) -> None:
        account = uow.accounts.get(account=self.account, bot=self.name)
        if account is None:
            raise LookupError(f"bot {self.name} has no account in {self.account}")
        positions = {
            position.symbol: position
            for _, position, _ in uow.positions.list(account=self.account, bot=self.name)
        }
        self.portfolio = Portfolio(bot=self.name, cash=account.cash, positions=positions)
        if isinstance(self.spec.sizing, FractionalKelly):
            trips = [trip for _, trip in uow.trades.list(account=self.account, bot=self.name)]
            self.recent_trips = tuple(trips[-_KELLY_HISTORY:])


def load_bot_state(uow: UnitOfWork, *, spec: BotSpec, account: str) -> BotState:
    """Create the bot's account on first run (with its capital), then load it."""
    stored = uow.accounts.ensure(account=account, bot=spec.name, initial_cash=spec.capital)
    state = BotState(spec=spec, account=account, portfolio=Portfolio(bot=spec.name, cash=stored.cash))
    state.reload(uow)
    # The peak survives restarts: a breaker measured from a fresh start would forget the fall.
    # Net of the capital the allocator moved in or out (time-weighted): a transfer is no fall.
    state.watermark = stored_watermark(uow, account=account, bot=spec.name, initial_cash=stored.initial_cash)
    # Stops resume where they were: a restart must never loosen one.
    state.stops = {symbol: level for (_, symbol), level in uow.stops.list(account=account, bot=spec.name).items()
                   if not state.portfolio.position(symbol).is_flat}
    # Marks from the store let status and sizing start from the last known prices.
    for _, position, last_price in uow.positions.list(account=account, bot=spec.name):
        if last_price is not None and position.updated_at is not None:
            state.marks[position.symbol] = (last_price, position.updated_at)
    return state
