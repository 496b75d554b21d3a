"""A bot as the application runs it: its instruments, strategy, sizing and limits."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from domain.accounting.instrument import Instrument
from domain.risk.circuit_breakers import DailyLossLimit, DrawdownBreaker, crypto_session_key
from domain.risk.day_trades import DayTradeRule
from domain.risk.exposure_limits import CorrelationLimit, SectorLimits
from domain.risk.portfolio_heat import PortfolioHeat
from domain.risk.position_sizing import FractionalKelly, VolatilitySizing
from domain.risk.probation_cap import ProbationCap
from domain.risk.risk import RiskLimits
from domain.risk.sizing import AllIn, FixedFraction
from domain.risk.stops import StopPolicy
from domain.strategy import Strategy

Sizing = FixedFraction | VolatilitySizing | FractionalKelly | AllIn


@attrs.frozen(kw_only=True)
class BotSpec:
    name: str
    instruments: Mapping[str, Instrument]
    strategy: Strategy
    sizing: Sizing
    capital: Decimal
    limits: RiskLimits = attrs.field(factory=RiskLimits)
    drawdown: DrawdownBreaker | None = None  # from the equity peak: REDUCING, then HALTED
    flatten_on_halt: bool = False  # when the breaker halts: close every position first
    daily_loss: DailyLossLimit | None = None  # a hard stop for the rest of the trading session
    # The trading session a time belongs to (NYSE day for equities, UTC day for crypto).
    session_key: Callable[[datetime], str] = crypto_session_key
    atr_period: int = 14  # for volatility sizing
    stop: StopPolicy | None = None  # maintained per position, moved only in its favour
    # Rest the stop at the venue as a stop order where the venue takes them (else monitored
    # bar by bar): it then fills inside the bar that reaches it, even if the bot is down.
    stop_orders: bool = False
    heat: PortfolioHeat | None = None  # needs stops: heat is the risk to the stops
    correlation: CorrelationLimit | None = None  # correlated exposure of an entry and the holdings
    sectors: SectorLimits | None = None  # sector and asset-class exposure limits
    # The optional rolling day-trade counter (brokers that still enforce a PDT-style rule), with
    # the keys of the last n trading sessions at a time (the exchange calendar's business days).
    day_trades: DayTradeRule | None = None
    recent_sessions: Callable[[datetime, int], Sequence[str]] | None = None
    # Live on probation (application/golive/probation.py): entries capped to a fraction of the
    # order notional limit and of the capital; None: full size.
    probation: ProbationCap | None = None

    @property
    def history_bars(self) -> int:
        """Bars to keep per symbol: enough for the strategy and for every risk indicator."""
        needed = [self.strategy.warmup, self.atr_period + 1]
        if self.correlation is not None:
            needed.append(self.correlation.window + 1)
        return max(needed)

    def trades(self, symbol: str) -> bool:
        return symbol in self.instruments
