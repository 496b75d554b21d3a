"""Accounting invariants, by property: cash + position value = equity; a round trip's
realized P&L = the sum over its fills; no float ever touches money."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.accounting.portfolio import Portfolio
from domain.accounting.position import Direction, Position
from domain.orders.fill import Fill
from domain.orders.order import OrderSide

T0 = datetime(2025, 1, 2, tzinfo=timezone.utc)

prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10_000), places=2)
quantities = st.integers(min_value=1, max_value=500).map(Decimal)
fills = st.lists(st.tuples(st.sampled_from(list(OrderSide)), quantities, prices,
                           st.decimals(min_value=0, max_value=5, places=2)), min_size=1, max_size=40)


def to_fills(raw):
    return [Fill(fill_id=f"f{i}", client_order_id=f"o{i}", symbol="SPY", side=side, quantity=q, price=p,
                 commission=c, ts=T0 + timedelta(minutes=i)) for i, (side, q, p, c) in enumerate(raw)]


@settings(max_examples=300)
@given(fills, prices)
def test_equity_is_cash_plus_position_value(raw, mark):
    portfolio = Portfolio(bot="b", cash=Decimal(100_000))
    for fill in to_fills(raw):
        portfolio, _ = portfolio.apply_fill(fill)
    position = portfolio.position("SPY")
    assert portfolio.equity({"SPY": mark}) == portfolio.cash + position.quantity * mark
    assert isinstance(portfolio.cash, Decimal) and isinstance(position.average_cost, Decimal)
    # Total P&L = realized + unrealized - commissions = equity change. A partial close
    # divides the cost basis, so the two may differ in the 28th digit, never in a cent.
    total = position.realized_pnl + position.unrealized_pnl(mark) - position.commissions
    assert abs(total - (portfolio.equity({"SPY": mark}) - Decimal(100_000))) < Decimal("1e-18")


@settings(max_examples=300)
@given(fills)
def test_round_trips_realize_the_sum_of_their_fills(raw):
    """Gross P&L of each flat-to-flat trip = the cash its fills moved; a fill that crosses
    zero belongs to both trips, split by quantity (and its commission pro rata)."""
    position = Position(bot="b", symbol="SPY")
    legs: list[tuple[Decimal, Decimal, Decimal]] = []  # (signed quantity, price, commission) of the open trip
    for fill in to_fills(raw):
        before = position.quantity
        update = position.apply_fill(fill)
        position = update.position
        crossing = before != 0 and position.quantity != 0 and (before > 0) != (position.quantity > 0)
        if crossing:
            closing = abs(before) / fill.quantity
            legs.append((-before, fill.price, fill.commission * closing))
            opening = (position.quantity, fill.price, fill.commission - fill.commission * closing)
        else:
            legs.append((fill.signed_quantity, fill.price, fill.commission))
        if update.closed_trip is not None:
            trip = update.closed_trip
            # Exact when the trip closes in one go; a partial close divides the cost basis,
            # which may leave a residue in the 28th significant digit, never in a cent.
            assert abs(trip.gross_pnl - sum((-q * p for q, p, _ in legs), Decimal(0))) < Decimal("1e-15")
            assert abs(trip.commission - sum((c for _, _, c in legs), Decimal(0))) < Decimal("1e-20")
            legs = [opening] if crossing else []
    assert position.quantity == sum((f.signed_quantity for f in to_fills(raw)), Decimal(0))


def test_long_round_trip_figures():
    position = Position(bot="b", symbol="SPY")
    buy = Fill(fill_id="1", client_order_id="o1", symbol="SPY", side=OrderSide.BUY, quantity=Decimal(10),
               price=Decimal(100), commission=Decimal(1), ts=T0)
    sell = Fill(fill_id="2", client_order_id="o2", symbol="SPY", side=OrderSide.SELL, quantity=Decimal(10),
                price=Decimal(110), commission=Decimal(1), ts=T0 + timedelta(hours=1))
    position = position.apply_fill(buy).position
    assert position.average_cost == 100
    update = position.apply_fill(sell)
    trip = update.closed_trip
    assert trip is not None and trip.direction is Direction.LONG
    assert (trip.entry_price, trip.exit_price, trip.gross_pnl, trip.net_pnl) == (100, 110, 100, 98)
    assert update.position.is_flat and update.position.trip is None


def test_short_and_flip():
    position = Position(bot="b", symbol="X")
    sell = Fill(fill_id="1", client_order_id="o1", symbol="X", side=OrderSide.SELL, quantity=Decimal(5),
                price=Decimal(50), commission=Decimal(0), ts=T0)
    flip = Fill(fill_id="2", client_order_id="o2", symbol="X", side=OrderSide.BUY, quantity=Decimal(8),
                price=Decimal(40), commission=Decimal("0.8"), ts=T0)
    position = position.apply_fill(sell).position
    assert position.quantity == -5 and position.unrealized_pnl(Decimal(45)) == 25
    update = position.apply_fill(flip)
    assert update.closed_trip.direction is Direction.SHORT
    assert update.closed_trip.gross_pnl == 50  # (50 - 40) x 5
    assert update.closed_trip.commission == Decimal("0.5")  # 5/8 of the flip's commission
    assert update.position.quantity == 3 and update.position.average_cost == 40
    assert update.position.commissions == Decimal("0.8")


def test_exposure():
    portfolio = Portfolio(bot="b", cash=Decimal(1000))
    for i, (symbol, side) in enumerate((("A", OrderSide.BUY), ("B", OrderSide.SELL))):
        portfolio, _ = portfolio.apply_fill(Fill(fill_id=str(i), client_order_id=str(i), symbol=symbol, side=side,
                                                 quantity=Decimal(2), price=Decimal(10), commission=Decimal(0), ts=T0))
    exposure = portfolio.exposure({"A": Decimal(11), "B": Decimal(9)})
    assert (exposure.long, exposure.short, exposure.gross, exposure.net) == (22, 18, 40, 4)
