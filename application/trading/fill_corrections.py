"""Busted and restated fills, and fees charged after the fact: the records corrected.

A correction never edits the fill as it was told: it is recorded beside it (once, by the
venue's id), and what the fill changed is rebuilt from the effective fills of that bot's
symbol (domain/orders/fill_corrections.py): the position, its round trips, the order's filled
quantity and average price, and the cash by the difference. Each is audited as critical
and returned as an alert: a bust changes P&L someone may have acted on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from application.ports import UnitOfWork, UnitOfWorkFactory
from application.records import AuditEntry, AuditKind, VenueCharge
from domain.numbers import ZERO
from domain.orders.events import FillCorrected
from domain.orders.fill import Fill
from domain.orders.fill_corrections import FillCorrection, cash_effect, effective_fills, order_totals, replay
from domain.orders.order import Order


def apply_fill_correction(uow: UnitOfWork, event: FillCorrected) -> tuple[str, str, str]:
    """(applied | duplicate | ignored | unknown, the order's bot, an alert line or "")."""
    order = uow.orders.get(event.client_order_id)
    if order is None:
        uow.audit.append(AuditEntry(
            ts=event.ts, kind=AuditKind.ERROR, severity="warning", client_order_id=event.client_order_id,
            message=f"venue correction {event.correction_id} for an order we never intended; left for reconciliation"))
        return "unknown", "", ""
    book = _Book.read(uow, order)
    if any(c.correction_id == event.correction_id for c in book.corrections):
        return "duplicate", order.bot, ""
    target = _which_fill(event, order, book)
    what = "busted" if event.busted else "restated"
    if target is None:
        message = (f"the venue {what} a fill of order {order.client_order_id} ({order.symbol}) that cannot be told "
                   f"apart ({_event_figures(event)}); nothing corrected: check the venue's records")
        uow.audit.append(AuditEntry(
            ts=event.ts, kind=AuditKind.ERROR, severity="critical", account=order.account, bot=order.bot,
            symbol=order.symbol, client_order_id=order.client_order_id, message=message,
            data={"correction_id": event.correction_id, "reason": event.reason}))
        return "ignored", order.bot, message
    correction = FillCorrection(correction_id=event.correction_id, fill_id=target.fill_id, quantity=event.quantity,
                                price=None if event.busted else (event.price or target.price), ts=event.ts,
                                reason=event.reason)
    uow.fill_corrections.add(correction, account=order.account, bot=order.bot)
    after = book.rebuilt(uow, corrections=[*book.corrections, correction], at=event.ts)
    new = "nothing" if event.busted else f"{correction.quantity} @ {correction.price}"
    message = (f"{order.bot} {order.symbol}: the venue {what} fill {target.fill_id} ({target.side.value} "
               f"{target.quantity} @ {target.price}, now {new}): position {after.position_quantity}, "
               f"cash {after.cash_change:+} ({event.reason})")
    uow.audit.append(AuditEntry(
        ts=event.ts, kind=AuditKind.FILL, severity="critical", account=order.account, bot=order.bot,
        symbol=order.symbol, client_order_id=order.client_order_id, message=message,
        data={"correction_id": event.correction_id, "fill_id": target.fill_id, "busted": event.busted,
              "quantity": str(correction.quantity), "price": None if correction.price is None else str(correction.price),
              "original_quantity": str(target.quantity), "original_price": str(target.price),
              "position": str(after.position_quantity), "cash_change": str(after.cash_change),
              "reason": event.reason}))
    return "applied", order.bot, message


def record_venue_charges(charges: Iterable[VenueCharge], *, account: str, uow_factory: UnitOfWorkFactory) -> list[str]:
    """Record each fee not recorded yet, one transaction each; the lines of those recorded."""
    lines: list[str] = []
    for charge in charges:
        with uow_factory() as uow:
            line = record_venue_charge(uow, charge, account=account)
            if line is not None:
                uow.commit()
                lines.append(line)
    return lines


def record_venue_charge(uow: UnitOfWork, charge: VenueCharge, *, account: str) -> str | None:
    """Record one fee (once, by its id): on the order's bot and latest fill when it names an
    order of this account (the fill's commission grows, so the round trip's net P&L and the
    cash carry it), else as an account charge. Returns an audit line, None when known already."""
    order = uow.orders.get(charge.client_order_id) if charge.client_order_id else None
    if order is None or order.account != account:
        if not uow.venue_charges.add(attrs.evolve(charge, account=account, bot="", fill_id=None)):
            return None
        line = (f"account charge {charge.amount} ({charge.description or 'fee'}"
                f"{', ' + charge.symbol if charge.symbol else ''}): recorded, not taken from a bot's cash")
        uow.audit.append(AuditEntry(ts=charge.ts, kind=AuditKind.FILL, severity="warning", account=account,
                                    symbol=charge.symbol, message=line,
                                    data={"charge_id": charge.charge_id, "amount": str(charge.amount)}))
        return line
    book = _Book.read(uow, order)
    mine = [f for f in book.effective if f.client_order_id == order.client_order_id]
    fill_id = mine[-1].fill_id if mine else None
    recorded = attrs.evolve(charge, account=account, bot=order.bot, fill_id=fill_id)
    if not uow.venue_charges.add(recorded):
        return None
    after = book.rebuilt(uow, charges=[*book.charges, recorded], at=charge.ts)
    line = (f"{order.bot} {order.symbol}: venue charge {charge.amount} ({charge.description or 'fee'}) on order "
            f"{order.client_order_id}{' fill ' + fill_id if fill_id else ''}: cash {after.cash_change:+}")
    uow.audit.append(AuditEntry(ts=charge.ts, kind=AuditKind.FILL, account=account, bot=order.bot,
                                symbol=order.symbol, client_order_id=order.client_order_id, message=line,
                                data={"charge_id": charge.charge_id, "amount": str(charge.amount),
                                      "fill_id": fill_id}))
    return line


@attrs.frozen(kw_only=True)
class _Rebuilt:
    position_quantity: Decimal
    cash_change: Decimal


class _Book:
    """One bot's fills of one symbol, with the corrections and fees recorded for them."""

    def __init__(self, *, order: Order, fills: list[Fill], corrections: list[FillCorrection],
                 charges: list[VenueCharge]) -> None:
        self.order = order
        self.fills = fills
        self.corrections = corrections
        self.charges = charges
        self.effective = self._effective(corrections, charges)

    @classmethod
    def read(cls, uow: UnitOfWork, order: Order) -> _Book:
        fills = [f for f in uow.fills.list(account=order.account, bot=order.bot) if f.symbol == order.symbol]
        ids = {f.fill_id for f in fills}
        corrections = [c for c in uow.fill_corrections.list(account=order.account, bot=order.bot) if c.fill_id in ids]
        charges = [c for c in uow.venue_charges.list(account=order.account, bot=order.bot) if c.fill_id in ids]
        return cls(order=order, fills=fills, corrections=corrections, charges=charges)

    def _effective(self, corrections: Sequence[FillCorrection], charges: Sequence[VenueCharge]) -> list[Fill]:
        fees: dict[str, Decimal] = {}
        for charge in charges:
            if charge.fill_id is not None:
                fees[charge.fill_id] = fees.get(charge.fill_id, ZERO) + charge.amount
        return effective_fills(self.fills, corrections=corrections, fees=fees)

    def rebuilt(self, uow: UnitOfWork, *, corrections: Sequence[FillCorrection] | None = None,
                charges: Sequence[VenueCharge] | None = None, at: datetime) -> _Rebuilt:
        """Write the position, round trips, order and cash that the effective fills give."""
        order = self.order
        after = self._effective(self.corrections if corrections is None else corrections,
                                self.charges if charges is None else charges)
        result = replay(bot=order.bot, symbol=order.symbol, fills=after)
        uow.positions.upsert(result.position, account=order.account)
        uow.trades.replace(account=order.account, bot=order.bot, symbol=order.symbol, trips=result.trips)
        change = cash_effect(after) - cash_effect(self.effective)
        account = uow.accounts.get(account=order.account, bot=order.bot)
        if account is None:
            raise LookupError(f"no account row for {order.account}/{order.bot}")
        uow.accounts.set_cash(account=order.account, bot=order.bot, cash=account.cash + change)
        for client_order_id in {f.client_order_id for f in self.fills}:
            stored = uow.orders.get(client_order_id)
            if stored is None:
                continue
            quantity, average = order_totals(f for f in after if f.client_order_id == client_order_id)
            if (quantity, average) != (stored.filled_quantity, stored.average_fill_price):
                stored.restate_fills(filled_quantity=quantity, average_fill_price=average, at=at)
                uow.orders.save(stored)
        return _Rebuilt(position_quantity=result.position.quantity, cash_change=change)


def _which_fill(event: FillCorrected, order: Order, book: _Book) -> Fill | None:
    """The recorded fill the venue corrected: by its id, else by what the execution was
    (the latest such), else the order's only fill. None: it cannot be told (or it is
    busted already)."""
    mine = [f for f in book.effective if f.client_order_id == order.client_order_id]
    if event.fill_id is not None:
        named = [f for f in mine if f.fill_id == event.fill_id]
        if named:
            return named[0]
        if any(f.fill_id == event.fill_id for f in book.fills):
            return None  # recorded, but busted already
    if event.original_quantity is not None:
        alike = [f for f in mine if f.quantity == event.original_quantity
                 and (event.original_price is None or f.price == event.original_price)]
        if alike:
            return alike[-1]
        return None
    return mine[0] if len(mine) == 1 else None


def _event_figures(event: FillCorrected) -> str:
    was = (f"was {event.original_quantity} @ {event.original_price}" if event.original_quantity is not None
           else "the venue did not say which execution")
    return f"{was}; now {'nothing' if event.busted else f'{event.quantity} @ {event.price}'}"
