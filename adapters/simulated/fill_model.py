"""How the simulated venue fills: when market orders fill, slippage, and volume limits."""

from __future__ import annotations

import enum
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import attrs

from domain.accounting.instrument import Instrument
from domain.orders.order import OrderSide

_BPS = Decimal(10_000)


class MarketFill(enum.Enum):
    NEXT_OPEN = "next_open"  # the realistic default: an order decided on a bar's close fills at the next open
    THIS_CLOSE = "this_close"  # at once, at the close of the bar the decision was made on


@attrs.frozen(kw_only=True)
class FillModel:
    market_fill: MarketFill = MarketFill.NEXT_OPEN
    slippage_bps: Decimal = Decimal(1)
    max_volume_share: Decimal | None = Decimal("0.1")  # None: no volume cap (a backtest's choice)
    impact_coefficient: Decimal = Decimal(0)  # square-root impact on top of the fixed slippage; 0 = none

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.market_fill, MarketFill):
            raise ValueError(f"market_fill must be a MarketFill, got {self.market_fill!r}")
        if not isinstance(self.slippage_bps, Decimal) or not self.slippage_bps.is_finite() or self.slippage_bps < 0:
            raise ValueError(f"slippage_bps must be a finite Decimal >= 0, got {self.slippage_bps!r}")
        if not isinstance(self.impact_coefficient, Decimal) or not self.impact_coefficient.is_finite() \
                or self.impact_coefficient < 0:
            raise ValueError(f"impact_coefficient must be a finite Decimal >= 0, got {self.impact_coefficient!r}")
        share = self.max_volume_share
        if share is not None and (not isinstance(share, Decimal) or not share.is_finite() or not (0 < share <= 1)):
            raise ValueError(f"max_volume_share must be a Decimal in (0, 1], got {share!r}")

    def impact_bps(self, *, quantity: Decimal, volume: Decimal) -> Decimal:
        """Square-root market impact: coefficient x sqrt(quantity / bar volume), in bps. A
        tenth of the bar's volume with coefficient 0.1 costs 0.1 x 0.316 = 316 bps; a
        thousandth, 32 bps (the usual square-root law of impact, crudely per bar)."""
        if not self.impact_coefficient or volume <= 0:
            return Decimal(0)
        return self.impact_coefficient * (quantity / volume).sqrt() * _BPS

    def taker_price(self, price: Decimal, *, side: OrderSide, instrument: Instrument,
                    quantity: Decimal = Decimal(0), volume: Decimal = Decimal(0)) -> Decimal:
        """Slippage always goes against the taker, and so does rounding to the tick
        (a buy rounds up, a sell down), so a backtest never flatters itself by a tick.
        With an impact coefficient, a fill's share of the bar's volume moves the price too."""
        bps = self.slippage_bps + self.impact_bps(quantity=quantity, volume=volume)
        moved = price * (1 + side.sign * bps / _BPS)
        steps = (moved / instrument.tick_size).to_integral_value(
            rounding=ROUND_CEILING if side is OrderSide.BUY else ROUND_FLOOR
        )
        # A sell of a one-tick instrument must not round to a price of zero.
        return max(steps * instrument.tick_size, instrument.tick_size)

    def volume_cap(self, volume: Decimal, *, instrument: Instrument) -> Decimal:
        """Whole lots the venue may fill in one bar, across all orders of its symbol."""
        if self.max_volume_share is None:
            return Decimal("1e18")  # uncapped: any order fills whole at the bar's price
        return instrument.round_quantity_down(volume * self.max_volume_share)
