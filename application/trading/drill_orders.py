"""The kill-switch drill's resting order, placed by the running session itself.

`quantshift drill killswitch` (application/golive/drills.py) drills what a real halt does:
the running session reads the switch and cancels the bot's open orders at the venue. So the
drill's order must be one of the bot's own orders, in the store and at the venue, and sent by
the process that trades the venue: the simulated venue lives inside that process (its journal
is locked by it), and a real venue's order is cancelled by the session only if the session's
book holds it. The drill therefore asks the session, through the store (a request document,
uow.settings under `request_key`), and the session places the order on its next supervision.

The order skips the strategy and the risk engine on purpose, as protective stops skip the
collar: it cannot add risk. It is a buy limit at half the last price (no bar of a drill's few
seconds reaches it, and the collar would refuse exactly that), of the smallest size worth
about DRILL_NOTIONAL. It still takes the last look before the send (application/trading/release.py:
the kill switch, the lease, an operator's stop), and it is recorded before it is sent.
A drill order outlives its drill by at most ORDER_TTL: the session cancels an older one, so a
drill that died midway never leaves an order resting.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from application.ports import UnitOfWork, UnitOfWorkFactory
from application.records import AuditEntry, AuditKind
from application.safety.lease import LeaseGuard
from application.trading.bot_state import BotState
from application.trading.cancel_orders import cancel_open_orders
from application.trading.event_inbox import EventInbox
from application.trading.release import release
from application.venues.ports import Broker
from domain.errors import TransientError
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType

log = logging.getLogger(__name__)

DRILL_STRATEGY = "drill"  # the strategy name of a drill order (reports and cleanup find it by it)
REQUEST_TTL = timedelta(seconds=30)  # an older request is not served: its drill has given up
ORDER_TTL = timedelta(seconds=60)  # an older drill order is cancelled by the session
DRILL_NOTIONAL = Decimal(20)  # about this much at the limit price (Coinbase refuses under $1)
PRICE_FRACTION = Decimal("0.5")  # the limit, as a fraction of the last price

REQUESTED, PLACED, REFUSED, WITHDRAWN = "requested", "placed", "refused", "withdrawn"


def request_key(account: str, bot: str) -> str:
    return f"drill.killswitch:{account}/{bot}"


@attrs.frozen(kw_only=True)
class DrillRequest:
    """A drill's request for its resting order, and the session's answer (state, order, why)."""

    request_id: str
    requested_at: datetime
    state: str  # requested, placed (client_order_id set), refused (detail says why), withdrawn
    client_order_id: str = ""
    detail: str = ""

    def to_document(self) -> dict[str, object]:
        return {"request_id": self.request_id, "requested_at": self.requested_at.isoformat(), "state": self.state,
                "client_order_id": self.client_order_id, "detail": self.detail}

    @classmethod
    def from_document(cls, document: dict[str, object]) -> DrillRequest:
        return cls(request_id=str(document["request_id"]),
                   requested_at=datetime.fromisoformat(str(document["requested_at"])),
                   state=str(document["state"]), client_order_id=str(document.get("client_order_id", "")),
                   detail=str(document.get("detail", "")))


def read_request(uow: UnitOfWork, *, account: str, bot: str) -> DrillRequest | None:
    document = uow.settings.get(request_key(account, bot))
    return DrillRequest.from_document(document) if document else None


def write_request(uow: UnitOfWork, *, account: str, bot: str, request: DrillRequest, at: datetime) -> None:
    uow.settings.put(request_key(account, bot), request.to_document(), at=at)


def drill_order_id(request_id: str) -> str:
    return f"drill-{request_id}"


@attrs.define
class DrillOrders:
    """The session's side of the drill: serve requests, and cancel drill orders left behind."""

    _resting: set[str] = attrs.field(factory=set)  # drill orders this session may still have open
    _scanned: bool = False

    def read(self, uow: UnitOfWork, *, account: str, bots: Sequence[str]) -> dict[str, DrillRequest | None]:
        """The bots' drill requests, read inside the supervision's own transaction (the one that
        reads the switches), so a drill costs the session no transaction of its own."""
        if not self._scanned:  # a drill order a killed session left resting
            self._resting |= {o.client_order_id for o in uow.orders.open_orders(account=account)
                              if o.strategy == DRILL_STRATEGY}
            self._scanned = True
        return {bot: read_request(uow, account=account, bot=bot) for bot in bots}

    def serve(self, states: Sequence[BotState], requests: Mapping[str, DrillRequest | None], *, broker: Broker,
              uow_factory: UnitOfWorkFactory, inbox: EventInbox, lease: LeaseGuard | None, now: datetime) -> None:
        """`requests`: what `read` gave, before the switches were applied to `states`."""
        account = states[0].account if states else ""
        for state in states:
            request = requests.get(state.name)
            if (request is not None and request.state == REQUESTED and not state.halted
                    and abs(now - request.requested_at) <= REQUEST_TTL):  # abs: clocks of two hosts
                self._place(state, request, broker=broker, uow_factory=uow_factory, inbox=inbox, lease=lease, now=now)
        if self._resting:
            self._expire(account=account, broker=broker, uow_factory=uow_factory, inbox=inbox, now=now)

    def _place(self, state: BotState, request: DrillRequest, *, broker: Broker, uow_factory: UnitOfWorkFactory,
               inbox: EventInbox, lease: LeaseGuard | None, now: datetime) -> None:
        order, why = _drill_order(state, request, now=now)
        with uow_factory() as uow:
            current = read_request(uow, account=state.account, bot=state.name)
            if current != request:
                return  # withdrawn or replaced meanwhile
            if order is None or not uow.orders.add(order):
                why = why or f"order {drill_order_id(request.request_id)} exists already"
                write_request(uow, account=state.account, bot=state.name, at=now,
                              request=attrs.evolve(request, state=REFUSED, detail=why))
                uow.commit()
                return
            uow.audit.append(AuditEntry(
                ts=now, kind=AuditKind.ORDER, account=state.account, bot=state.name, symbol=order.symbol,
                client_order_id=order.client_order_id,
                message=f"kill-switch drill order: buy {order.quantity} {order.symbol} limit {order.limit_price} "
                        "(half the last price: it rests, the halt must cancel it)",
                data={"drill_request": request.request_id},
            ))
            uow.commit()
        withheld = release(order, reduces_risk=False, uow_factory=uow_factory, lease=lease, now=now)
        if withheld is not None:
            self._answer(state, request, uow_factory=uow_factory, now=now, state=REFUSED, detail=withheld.reason)
            return
        self._resting.add(order.client_order_id)
        note = ""
        try:
            inbox.add(broker.submit(order))
        except TransientError as exc:
            note = f"outcome unknown: {exc}"  # the in-flight check looks it up; never resent
        with uow_factory() as uow:
            stored = uow.orders.get(order.client_order_id)
            if stored is not None and stored.status is OrderStatus.INITIALIZED:
                stored.transition(OrderStatus.SUBMITTED, at=now, reason=note)
                uow.orders.save(stored)
            uow.audit.append(AuditEntry(
                ts=now, kind=AuditKind.ORDER, severity="warning" if note else "info", account=state.account,
                bot=state.name, symbol=order.symbol, client_order_id=order.client_order_id,
                message="submitted to the venue (kill-switch drill order)" + (f" ({note})" if note else ""),
            ))
            uow.commit()
        inbox.apply(uow_factory=uow_factory)
        self._answer(state, request, uow_factory=uow_factory, now=now, state=PLACED,
                     client_order_id=order.client_order_id, detail=note)
        log.warning("bot %s: kill-switch drill order %s resting", state.name, order.client_order_id)

    @staticmethod
    def _answer(bot: BotState, request: DrillRequest, *, uow_factory: UnitOfWorkFactory, now: datetime, state: str,
                detail: str, client_order_id: str = "") -> None:
        with uow_factory() as uow:
            write_request(uow, account=bot.account, bot=bot.name, at=now,
                          request=attrs.evolve(request, state=state, detail=detail, client_order_id=client_order_id))
            uow.commit()

    def _expire(self, *, account: str, broker: Broker, uow_factory: UnitOfWorkFactory, inbox: EventInbox,
                now: datetime) -> None:
        with uow_factory() as uow:
            still = {o.client_order_id: o for o in uow.orders.open_orders(account=account)
                     if o.client_order_id in self._resting}
        self._resting = set(still)
        old = {coid for coid, o in still.items() if now - o.created_at > ORDER_TTL}
        if old:
            cancel_open_orders(account=account, bot=None, broker=broker, uow_factory=uow_factory, now=now,
                               reason="kill-switch drill order outlived its drill", inbox=inbox,
                               only=lambda o: o.client_order_id in old)


def _drill_order(state: BotState, request: DrillRequest, *, now: datetime) -> tuple[Order | None, str]:
    priced = sorted(s for s in state.spec.instruments if s in state.marks)
    if not priced:
        return None, f"bot {state.name} has no price yet for {', '.join(sorted(state.spec.instruments))}: wait for a bar"
    symbol = priced[0]
    instrument = state.spec.instruments[symbol]
    limit = instrument.round_price(state.marks[symbol][0] * PRICE_FRACTION)
    if limit <= 0:
        return None, f"{symbol}: the last price is too small for a resting limit at half of it"
    quantity = max(instrument.lot_size, instrument.round_quantity_down(DRILL_NOTIONAL / limit))
    return Order(
        client_order_id=drill_order_id(request.request_id), account=state.account, bot=state.name,
        strategy=DRILL_STRATEGY, symbol=symbol, side=OrderSide.BUY, order_type=OrderType.LIMIT, quantity=quantity,
        created_at=now, signal_ts=now, limit_price=limit, updated_at=now,
    ), ""
