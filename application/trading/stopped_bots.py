"""What a running session does for a bot an operator stopped (application/trading/bot_runs.py).

The session reads every bot's stop request once per supervision, in the unit of work that
reads the kill switch, so a stop costs one query per supervision, not one per bot per bar.
A stopped bot's bars still go through the trading cycle, only without evaluations: its
window and marks stay current (the strategy is warm when started again), its stops move and
rest at the venue or trigger as exits, and fills, equity and heartbeats go on. Its open
entry orders are cancelled, and cancelled again until the venue confirms (as a halt does);
protective stops and exits stay, since they can only reduce risk.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

import attrs

from application.ports import UnitOfWork, UnitOfWorkFactory
from application.trading.bot_runs import stop_requests, stopped_detail
from application.trading.bot_state import BotState
from application.trading.cancel_orders import cancel_open_orders
from application.trading.event_inbox import EventInbox
from application.trading.ports import BotRun
from application.trading.protective_stops import is_protective
from application.venues.ports import Broker
from domain.orders.order import Order

log = logging.getLogger(__name__)


def opens_risk(order: Order, *, held: Decimal) -> bool:
    """An entry: the order opens or adds to the position `held` (signed), or would flip it.
    Protective stops and plain exits only shrink it."""
    if is_protective(order):
        return False
    signed = order.side.sign * order.remaining_quantity
    return held * signed >= 0 or abs(signed) > abs(held)


@attrs.define
class StopRequests:
    """The operators' stop requests for one session's bots, as the session last read them."""

    requests: dict[str, BotRun] = attrs.field(factory=dict)

    def read(self, uow: UnitOfWork, *, account: str) -> bool:
        """Read every bot's request at once; True when any changed since the last read."""
        current = stop_requests(uow, account=account)
        if current == self.requests:
            return False
        for bot, run in current.items():
            if self.requests.get(bot) != run:
                log.warning("bot %s/%s %s: no strategy evaluation, no new entries", account, bot, stopped_detail(run))
        for bot in self.requests.keys() - current.keys():
            log.info("bot %s/%s started again", account, bot)
        self.requests = current
        return True

    def stopped(self, bot: str) -> BotRun | None:
        return self.requests.get(bot)

    def evaluations(self, bot: str, *, configured: int) -> int:
        # None for a stopped bot: the cycle then still moves its stops and takes their exits
        # (trading_cycle.on_bar does both before and apart from the evaluations).
        return 0 if bot in self.requests else configured

    def detail(self, bot: str) -> str:
        run = self.requests.get(bot)
        return stopped_detail(run) if run is not None else ""


def cancel_entry_orders(
    state: BotState, run: BotRun, *, broker: Broker, uow_factory: UnitOfWorkFactory, inbox: EventInbox, now: datetime
) -> int:
    """Cancel the stopped bot's open entry orders; returns how many were open."""
    # A signal deferred to the next open (a simulation sizing at the open) was decided
    # before the stop was seen: it goes too.
    state.deferred.clear()
    return cancel_open_orders(
        account=state.account, bot=state.name, broker=broker, uow_factory=uow_factory, now=now,
        reason=stopped_detail(run), inbox=inbox,
        only=lambda order: opens_risk(order, held=state.portfolio.position(order.symbol).quantity),
    )
