"""One place that wires the fakes to the use cases, for the use-case tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from application.records import AuditEntry, AuditKind, ControlState
from application.trading.apply_broker_events import EventOutcome, apply_broker_events
from application.trading.bot import BotSpec
from application.trading.bot_state import BotState
from application.trading.paper_session import PaperSession, ProcessInfo, SessionSettings
from application.trading.trading_cycle import TradingCycle
from domain.orders.order import Order
from tests.fakes.builders import ACCOUNT, T0, load
from tests.fakes.clock import FixedClock
from tests.fakes.memory_store import InMemoryStore
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.recording_broker import RecordingBroker


class Harness:
    def __init__(self, *, account: str = ACCOUNT, wall: datetime = T0) -> None:
        self.account = account
        self.wall = FixedClock(wall)
        self.store = InMemoryStore(wall_clock=self.wall)
        self.broker = RecordingBroker()
        self.notifier = RecordingNotifier()
        self.cycle = TradingCycle(uow_factory=self.store, broker=self.broker, notifier=self.notifier)

    def bot(self, bot_spec: BotSpec) -> BotState:
        return load(self.store, bot_spec, account=self.account)

    def settle(self, *bots: BotState) -> EventOutcome:
        """Apply what the venue reported since the last poll; refresh the bots' caches."""
        outcome = apply_broker_events(self.broker.poll_events(), uow_factory=self.store)
        with self.store() as uow:
            for state in bots:
                state.reload(uow)
        return outcome

    def session(self, bots: Sequence[BotSpec], *, mode: str = "paper", heartbeat_seconds: float = 5.0,
                supervise_seconds: float = 0.2, evaluations_per_bar: int = 1) -> PaperSession:
        return PaperSession(
            settings=SessionSettings(account=self.account, mode=mode, heartbeat_seconds=heartbeat_seconds,
                                     supervise_seconds=supervise_seconds, evaluations_per_bar=evaluations_per_bar),
            bots=bots, uow_factory=self.store, broker=self.broker, venue=None, notifier=self.notifier,
            wall_clock=self.wall, process=ProcessInfo(pid=4242, host="test-host"),
        )

    # Reading the committed store.

    def orders(self, bot: str | None = None) -> list[Order]:
        """Oldest first."""
        with self.store.unit_of_work(read_only=True) as uow:
            return list(reversed(uow.orders.list(account=self.account, bot=bot, limit=1_000_000)))

    def order(self, client_order_id: str) -> Order:
        with self.store.unit_of_work(read_only=True) as uow:
            order = uow.orders.get(client_order_id)
        assert order is not None, f"no stored order {client_order_id}"
        return order

    def audit(self, kind: AuditKind | None = None, *, severity: str | None = None,
              account: str | None = None) -> list[AuditEntry]:
        with self.store.unit_of_work(read_only=True) as uow:
            entries = uow.audit.list(account=account, kind=kind.value if kind else None, limit=1_000_000)
        return [e for e in entries if severity is None or e.severity == severity]

    def control(self, scope: str) -> ControlState | None:
        with self.store.unit_of_work(read_only=True) as uow:
            return uow.control.get(scope)
