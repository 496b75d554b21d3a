"""What Alpaca corrects after the fact: busted and restated trades (trade_updates events
`trade_bust` and `restated`) and the regulatory fees it posts apart from fills (FEE account
activities: SEC REG, FINRA TAF, CAT...), as domain events and charges.

A bust or restatement names the execution by the stream's execution_id; a fill the adapter
told from the stream this session is named by its fill id, any other by what the execution
was (qty and price of the update), for the application to find among the order's fills.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timezone
from decimal import Decimal

from adapters.alpaca.errors import VENUE, MalformedResponse
from adapters.alpaca.ledger import EventLedger
from adapters.alpaca.mapping import VenueOrder
from adapters.alpaca.schemas import Payload
from application.records import VenueCharge
from domain.orders.events import FillCorrected

CORRECTION_EVENTS = ("trade_bust", "restated")


def correction_of_update(data: Payload, venue_order: VenueOrder, *, ledger: EventLedger,
                         ts: datetime) -> FillCorrected:
    event = data.str("event")
    execution_id = data.optional_str("execution_id")
    quantity = data.optional_decimal("qty")
    price = data.optional_decimal("price")
    fill_id = ledger.fill_of_execution(execution_id)
    ledger.restated(venue_order.client_order_id, filled=venue_order.filled_quantity)
    key = execution_id or venue_order.venue_order_id
    correction_id = f"{VENUE}:{event}:{key}:{ts.isoformat()}"
    if event == "trade_bust":
        # qty and price are the busted execution's: they find the fill when its id is not known.
        return FillCorrected(correction_id=correction_id, client_order_id=venue_order.client_order_id,
                             fill_id=fill_id, quantity=Decimal(0), price=None, ts=ts,
                             reason="trade busted at alpaca", original_quantity=quantity, original_price=price)
    if quantity is None or quantity <= 0 or price is None or price <= 0:
        raise MalformedResponse(f"{VENUE} trade_updates: a restated update needs a positive qty and price "
                                f"(got {quantity!r}, {price!r})")
    # restated carries the execution's new figures: the old ones are not told, so an unnamed
    # fill is found only when it is the order's one fill.
    return FillCorrected(correction_id=correction_id, client_order_id=venue_order.client_order_id,
                         fill_id=fill_id, quantity=quantity, price=price, ts=ts, reason="trade restated at alpaca")


def charges_of_fee_activity(p: Payload, *, client_id_of: Callable[[str], str | None]) -> list[VenueCharge]:
    """One FEE activity: net_amount is negative for a charge, positive for a refund. A
    canceled one is the charge and its reversal (each recorded once, by id), so it nets to
    nothing whether or not the charge was seen before."""
    amount = -p.decimal("net_amount")
    ts = p.optional_datetime("created_at") or datetime.combine(p.date("date"), time(), tzinfo=timezone.utc)
    order_id = p.optional_str("order_id")
    charge = VenueCharge(charge_id=p.str("id"), amount=amount, ts=ts,
                         description=p.optional_str("description") or "fee", symbol=p.optional_str("symbol") or "",
                         client_order_id=None if order_id is None else client_id_of(order_id))
    status = p.optional_str("status")
    if status == "canceled":
        return [charge, VenueCharge(charge_id=f"{charge.charge_id}:canceled", amount=-amount, ts=ts,
                                    description=f"{charge.description} (cancelled)", symbol=charge.symbol,
                                    client_order_id=charge.client_order_id)]
    return [charge]
