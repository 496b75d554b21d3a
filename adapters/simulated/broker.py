"""The simulated broker: the Broker port over the matching engine, and a bar listener."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

import attrs

from adapters.simulated.fees import CommissionModel, MakerTaker, PerShare
from adapters.simulated.fill_model import FillModel, MarketFill
from adapters.simulated.journal import VenueJournal
from adapters.simulated.matching import MatchingEngine
from application.records import VenueOrderState
from domain.accounting.instrument import AssetClass, Instrument
from domain.accounting.market import Bar
from domain.orders.events import BrokerEvent
from domain.orders.fill import Fill
from domain.orders.order import Order


def _equity_commission() -> CommissionModel:
    return PerShare(rate=Decimal("0.005"), minimum=Decimal("1.00"), maximum_fraction=Decimal("0.01"))


def _crypto_commission() -> CommissionModel:
    return MakerTaker(maker_bps=Decimal(40), taker_bps=Decimal(60))


@attrs.frozen(kw_only=True)
class SimulatedBrokerConfig:
    """Everything the simulated venue needs besides the instruments."""

    market_fill: MarketFill = MarketFill.NEXT_OPEN
    slippage_bps: Decimal = Decimal(1)
    max_volume_share: Decimal | None = Decimal("0.1")  # None: no volume cap
    impact_coefficient: Decimal = Decimal(0)  # square-root market impact (FillModel.impact_bps)
    equity_commission: CommissionModel = attrs.field(factory=_equity_commission)
    crypto_commission: CommissionModel = attrs.field(factory=_crypto_commission)

    def __attrs_post_init__(self) -> None:
        # Validate when the settings are read (a ValueError here becomes a ConfigurationError
        # at start-up), not later when the container first builds the broker.
        self.fill_model()

    def fill_model(self) -> FillModel:
        return FillModel(market_fill=self.market_fill, slippage_bps=self.slippage_bps,
                         max_volume_share=self.max_volume_share, impact_coefficient=self.impact_coefficient)


class SimulatedBroker:
    """The Broker and BarListener ports over a MatchingEngine.

    submit and cancel answer directly; what bars cause (fills) is queued for poll_events.
    The queue lives in memory only, like a venue's event stream: events lost with the bot
    process are found again through fills() and find_order() (reconciliation).
    """

    def __init__(self, *, engine: MatchingEngine, journal: VenueJournal | None = None) -> None:
        self._engine = engine
        self._journal = journal
        self._queue: list[BrokerEvent] = []
        self.submit_calls = 0  # every call, duplicates included: the runaway-order tests count them

    def submit(self, order: Order) -> list[BrokerEvent]:
        self.submit_calls += 1
        return self._engine.submit(order)

    def cancel(self, client_order_id: str) -> list[BrokerEvent]:
        return self._engine.cancel(client_order_id)

    def find_order(self, client_order_id: str) -> VenueOrderState | None:
        return self._engine.find(client_order_id)

    def open_orders(self) -> list[VenueOrderState]:
        return self._engine.open_orders()

    def fills(self, *, since: datetime | None = None) -> list[Fill]:
        return self._engine.fills(since=since)

    def positions(self) -> dict[str, Decimal]:
        return self._engine.positions()

    def supports_stop_orders(self, asset_class: AssetClass) -> bool:
        return True  # the matching engine rests stops for every asset class

    def poll_events(self) -> list[BrokerEvent]:
        events, self._queue = self._queue, []
        return events

    def on_bar(self, bar: Bar) -> None:
        self._queue.extend(self._engine.on_bar(bar))

    def submitted_client_order_ids(self) -> list[str]:
        """Every client_order_id the venue took or refused, once each, first seen first
        (read back from the journal after a restart)."""
        return self._engine.known_client_order_ids()

    def close(self) -> None:
        """Close the journal (and give up the venue's lock); the broker is unusable afterwards."""
        if self._journal is not None:
            self._journal.close()


def build_simulated_broker(
    *, config: SimulatedBrokerConfig, instruments: Mapping[str, Instrument], journal: VenueJournal | None = None
) -> SimulatedBroker:
    """With a journal, the venue is durable: every action is written to it before the venue
    answers, and a broker built on an existing journal continues where the last one stopped."""
    engine = MatchingEngine(
        instruments=instruments,
        fill_model=config.fill_model(),
        commissions={AssetClass.EQUITY: config.equity_commission, AssetClass.CRYPTO: config.crypto_commission},
        recorder=journal,
        state=journal.load() if journal is not None else None,
    )
    return SimulatedBroker(engine=engine, journal=journal)
