"""A paper session on the real simulated venue (matching engine), with the in-memory store:
fills at the bar's close, no slippage or commission, so scenario figures are exact."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from adapters.simulated import MarketFill, NoCommission, SimulatedBroker, SimulatedBrokerConfig, build_simulated_broker
from application.trading.allocation import AllocationSchedule
from application.trading.bot import BotSpec
from application.trading.paper_session import PaperSession, ProcessInfo, SessionSettings
from domain.accounting.instrument import Instrument
from tests.fakes.builders import ACCOUNT
from tests.fakes.harness import Harness


def crypto_sim_session(
    h: Harness, bot_spec: BotSpec | Sequence[BotSpec], *, instruments: Mapping[str, Instrument], start: datetime,
    allocation: AllocationSchedule | None = None,
) -> tuple[PaperSession, SimulatedBroker]:
    broker = build_simulated_broker(
        config=SimulatedBrokerConfig(market_fill=MarketFill.THIS_CLOSE, slippage_bps=Decimal(0),
                                     max_volume_share=Decimal(1), crypto_commission=NoCommission()),
        instruments=dict(instruments),
    )
    bots = [bot_spec] if isinstance(bot_spec, BotSpec) else list(bot_spec)
    session = PaperSession(settings=SessionSettings(account=ACCOUNT, mode="simulation"), bots=bots,
                           uow_factory=h.store, broker=broker, venue=broker, notifier=h.notifier, wall_clock=h.wall,
                           process=ProcessInfo(pid=1, host="h"), allocation=allocation)
    session.start(now=start)
    return session, broker
