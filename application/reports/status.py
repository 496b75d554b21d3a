"""What is running, told truthfully: a bot's state comes from its heartbeat's age, then from
the kill switch and from what an operator asked of it (start/stop, application/trading/bot_runs.py)."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import attrs

from application.ports import UnitOfWork
from application.records import BotRunState, ControlState, Heartbeat, InstanceBeat, InstanceRole
from application.safety.control import effective_control
from application.trading.ports import BotRun, DesiredState
from domain.numbers import ZERO
from domain.risk.trading_state import TradingState


class BotLiveness(enum.Enum):
    RUNNING = "running"
    STALE = "stale"  # no heartbeat for more than two intervals: the process is dead or stuck
    STOPPED = "stopped"
    HALTED = "halted"


@attrs.frozen(kw_only=True)
class PositionView:
    symbol: str
    quantity: Decimal
    average_cost: Decimal
    last_price: Decimal | None
    unrealized_pnl: Decimal
    realized_pnl: Decimal


@attrs.frozen(kw_only=True)
class BotStatus:
    account: str
    bot: str
    liveness: BotLiveness
    heartbeat: Heartbeat
    heartbeat_age_seconds: float
    control: ControlState | None
    cash: Decimal
    equity: Decimal
    pnl: Decimal
    positions: tuple[PositionView, ...]
    run: BotRun | None = None  # the operator's latest start/stop request; None: nobody asked (running)

    @property
    def desired(self) -> DesiredState:
        return self.run.desired if self.run is not None else DesiredState.RUNNING

    @property
    def stop_request(self) -> BotRun | None:
        """Who stopped the bot and why, while it is asked to stay stopped."""
        return self.run if self.desired is DesiredState.STOPPED else None


def liveness(
    heartbeat: Heartbeat, control: ControlState | None, *, now: datetime, run: BotRun | None = None
) -> BotLiveness:
    age = (now - heartbeat.beat_at).total_seconds()
    if heartbeat.run_state is BotRunState.STOPPED:
        return BotLiveness.STOPPED
    if age > 2 * heartbeat.interval_seconds:
        return BotLiveness.STALE  # a dead process is news, whatever anyone asked of it
    if control is not None and control.state is TradingState.HALTED:
        return BotLiveness.HALTED  # a halt overrides a start and a stop
    if run is not None and run.desired is DesiredState.STOPPED:
        return BotLiveness.STOPPED  # alive, keeping its stops, entering nothing
    return BotLiveness.RUNNING


def bot_statuses(uow: UnitOfWork, *, now: datetime, account: str | None = None) -> list[BotStatus]:
    result = []
    runs = {(r.account, r.bot): r for r in uow.bot_runs.list(account=account)}
    for beat in sorted(uow.heartbeats.list(account=account), key=lambda b: (b.account, b.bot)):
        control = effective_control(uow, account=beat.account, bot=beat.bot)
        run = runs.get((beat.account, beat.bot))
        stored = uow.accounts.get(account=beat.account, bot=beat.bot)
        cash = stored.cash if stored else ZERO
        initial = stored.initial_cash if stored else ZERO
        views = []
        value = ZERO
        for _, position, last in uow.positions.list(account=beat.account, bot=beat.bot):
            if position.is_flat:
                continue
            mark = last if last is not None else position.average_cost
            value += position.market_value(mark)
            views.append(PositionView(symbol=position.symbol, quantity=position.quantity,
                                      average_cost=position.average_cost, last_price=last,
                                      unrealized_pnl=position.unrealized_pnl(mark),
                                      realized_pnl=position.realized_pnl - position.commissions))
        result.append(BotStatus(
            account=beat.account, bot=beat.bot, liveness=liveness(beat, control, now=now, run=run), heartbeat=beat,
            heartbeat_age_seconds=(now - beat.beat_at).total_seconds(), control=control, cash=cash,
            equity=cash + value, pnl=cash + value - initial, positions=tuple(views), run=run,
        ))
    return result


@attrs.frozen(kw_only=True)
class InstanceStatus:
    instance: InstanceBeat
    state: str  # live, standby, stopped, stale (no beat for two intervals: dead or stuck)
    age_seconds: float


def instance_statuses(uow: UnitOfWork, *, now: datetime, account: str | None = None) -> list[InstanceStatus]:
    result = []
    for beat in uow.instances.list(account=account):
        age = (now - beat.beat_at).total_seconds()
        if beat.role is InstanceRole.STOPPED:
            state = "stopped"
        elif age > 2 * beat.interval_seconds:
            state = "stale"
        else:
            state = beat.role.value
        result.append(InstanceStatus(instance=beat, state=state, age_seconds=age))
    return result
