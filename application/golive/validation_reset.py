"""`quantshift validation reset`: the seed's "reset the paper account and restart the 30-day clock".

The bot's open orders on its paper venue (the simulated one, Alpaca's paper account or
Coinbase's sandbox: the caller builds the broker of the epoch's account) are cancelled and
every position it holds there gets a market exit (the breaker's flattening exits, through the
same risk checks as any order), then a new epoch starts. The record so far is kept (the trail
is append-only): the new epoch only counts from now, and the exits' round trips, opened before
it, are not its evidence.

Done only while no session runs the bot: the simulated venue lives inside the session that
trades it (its journal is locked by that process), and two processes sending one bot's orders
is what the liveness rule forbids. A running bot is refused with a message to stop it first.
Before touching the venue the store is reconciled with it, as a session's start does: orders
placed on a stale book could flatten what is not there.

An exit is recorded as any order is: the intent, then what the venue's answer to the send
said (accepted, refused, or already filled). Its fills usually come later (the simulated venue
fills at the next session's next bar; a real venue asynchronously, or at the next open when an
equity market is closed, as Alpaca queues it): the next paper session's reconciliation records
them, each once by its venue fill id, and `unfilled` names those exits. An exit the venue
refuses stops the reset before the new epoch, with the venue's reason.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from application.golive.fingerprint import BotFingerprint
from application.golive.validation_clock import ValidationEpoch, restart_epoch
from application.ports import Notifier, UnitOfWorkFactory
from application.trading.bot import BotSpec
from application.trading.bot_state import load_bot_state
from application.trading.cancel_orders import cancel_open_orders
from application.trading.liveness import refuse_if_running_elsewhere
from application.trading.loss_limits import flatten_plans
from application.trading.reconcile import reconcile
from application.trading.trading_cycle import CycleResult, TradingCycle
from application.venues.ports import Broker
from domain.errors import ConfigurationError
from domain.orders.order import OrderStatus


@attrs.frozen(kw_only=True)
class ResetCommand:
    fingerprint: BotFingerprint
    account: str
    reason: str
    actor: str
    pid: int  # this process, which the liveness check must not mistake for a running session
    host: str


@attrs.frozen(kw_only=True)
class ResetOutcome:
    epoch: ValidationEpoch
    orders_cancelled: int
    exits: tuple[tuple[str, str], ...] = ()  # (symbol, how the exit went: submitted, denied, ...)
    venue: bool = True  # False: the venue was not touched (no broker for this account)
    # Symbols whose exit the venue took but had not filled when its answer came: the next paper
    # session records the fills.
    unfilled: tuple[str, ...] = ()


def reset_validation(command: ResetCommand, *, uow_factory: UnitOfWorkFactory, spec: BotSpec,
                     broker: Broker | None, notifier: Notifier, now: datetime) -> ResetOutcome:
    bot, account = command.fingerprint.bot, command.account
    if not command.reason.strip():
        raise ConfigurationError("validation reset: --reason must say why (it is recorded with the new epoch)")
    with uow_factory() as uow:
        refuse_if_running_elsewhere(uow, account=account, bots=[bot], pid=command.pid, host=command.host, now=now)
    why = f"validation reset: {command.reason}"
    cancelled, exits, unfilled = 0, [], []
    if broker is not None:
        report = reconcile(account=account, broker=broker, uow_factory=uow_factory, now=now)
        if not report.ok:
            raise ConfigurationError(
                f"validation reset of bot {bot}: the store and the {account} venue disagree "
                f"({report.mismatches[0]}); nothing was cancelled or sent. Start the paper session, which halts "
                "and alerts on it, resolve the mismatch, then reset")
        cancelled = cancel_open_orders(account=account, bot=bot, broker=broker, uow_factory=uow_factory, now=now,
                                       reason=why)
        with uow_factory() as uow:
            state = load_bot_state(uow, spec=spec, account=account)
        unpriced = sorted(s for s, p in state.portfolio.positions.items() if not p.is_flat and s not in state.marks)
        if unpriced:
            raise ConfigurationError(f"validation reset of bot {bot}: no last price is stored for {', '.join(unpriced)}"
                                     f", so no exit can be priced; {cancelled} open order(s) were cancelled. Run the "
                                     "paper session for a bar, stop it, and reset again")
        cycle = TradingCycle(uow_factory=uow_factory, broker=broker, notifier=notifier)
        for planned, signal in flatten_plans(state, at=now, why=why):
            symbol = planned.intent.instrument.symbol
            result = cycle.submit_exit(state, planned, signal=signal, now=now)
            exits.append((symbol, result.value))
            if result is CycleResult.UNKNOWN_OUTCOME:
                raise ConfigurationError(f"validation reset of bot {bot}: the {account} venue did not answer the exit "
                                         f"of {symbol}, which may be there; the next paper session looks it up by "
                                         "its id and records what it did. The clock was not reset: reset again "
                                         "after that session")
            if result is not CycleResult.SUBMITTED:
                raise ConfigurationError(f"validation reset of bot {bot}: the exit of {symbol}"
                                         f" was not sent ({result.value}{_denial(uow_factory, account, bot, now)}); "
                                         "see `quantshift audit --kind risk`. The clock was not reset")
            with uow_factory() as uow:
                sent = uow.orders.get(planned.intent.client_order_id)
            # A venue's refusal comes back as the send's answer, not as an error: the order is rejected.
            if sent is not None and sent.status is OrderStatus.REJECTED:
                raise ConfigurationError(f"validation reset of bot {bot}: {account} refused the exit of {symbol} "
                                         f"({sent.reason}); {cancelled} open order(s) were cancelled, the position "
                                         "is still held. The clock was not reset: reset again when the venue takes "
                                         "the order (once its market is open, if it refuses orders while closed)")
            if sent is None or sent.status is not OrderStatus.FILLED:
                unfilled.append(symbol)
    with uow_factory() as uow:
        epoch = restart_epoch(uow, fingerprint=command.fingerprint, account=account, now=now, reason=command.reason,
                              actor=command.actor)
        uow.commit()
    return ResetOutcome(epoch=epoch, orders_cancelled=cancelled, exits=tuple(exits), venue=broker is not None,
                        unfilled=tuple(unfilled))


def _denial(uow_factory: UnitOfWorkFactory, account: str, bot: str, since: datetime) -> str:
    """The risk check's own words for a denied exit (an exit of an earlier reset still waiting at
    the venue is the usual one), so the operator need not look it up."""
    with uow_factory() as uow:
        entries = [e for e in uow.audit.list(account=account, kind="risk", since=since, limit=20) if e.bot == bot]
    return f": {entries[-1].message}" if entries else ""
