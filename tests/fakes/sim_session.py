"""A paper session on the real simulated venue (matching engine), with the in-memory store:
fills at the bar's close, no slippage or commission, so scenario figures are exact."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from adapters.simulated import MarketFill, NoCommission, SimulatedBroker, SimulatedBrokerConfig, build_simulated_broker
from application.bot import BotSpec
from application.paper_session import PaperSession, ProcessInfo, SessionSettings
from domain.instrument import Instrument
from tests.fakes.builders import ACCOUNT
from tests.fakes.harness import Harness


def crypto_sim_session(
    h: Harness, bot_spec: BotSpec, *, instruments: Mapping[str, Instrument], start: datetime
) -> tuple[PaperSession, SimulatedBroker]:
    broker = build_simulated_broker(
        config=SimulatedBrokerConfig(market_fill=MarketFill.THIS_CLOSE, slippage_bps=Decimal(0),
                                     max_volume_share=Decimal(1), crypto_commission=NoCommission()),
        instruments=dict(instruments),
    )
    session = PaperSession(settings=SessionSettings(account=ACCOUNT, mode="simulation"), bots=[bot_spec],
                           uow_factory=h.store, broker=broker, venue=broker, notifier=h.notifier, wall_clock=h.wall,
                           process=ProcessInfo(pid=1, host="h"))
    session.start(now=start)
    return session, broker
