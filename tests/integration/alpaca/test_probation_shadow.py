"""Staged deployment on the fake Alpaca venue (through the real alpaca-py SDK): a bot on probation
sends a tenth of its certified size to the venue, while its shadow paper bot trades the same bars
on the simulated venue, and the pairing of the two says how far the venue's fills were from the
simulation's. In process, on a real SQLite store; loopback only."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import attrs

from adapters.simulated import MarketFill, SimulatedBrokerConfig, build_simulated_broker
from adapters.sqlite import SqliteStore
from application.golive.probation import begin_live
from application.golive.shadow import ShadowBot, ShadowFeed, fidelity, fidelity_report, shadow_account
from application.trading.paper_session import PaperSession, ProcessInfo, SessionSettings
from domain.accounting.instrument import equity
from domain.accounting.market import Bar
from domain.analytics.probation import ProbationPolicy
from domain.strategy import Target
from tests.fakes.alpaca_fixtures import WallClock
from tests.fakes.builders import ScriptedStrategy, spec
from tests.fakes.notifier import RecordingNotifier
from tests.support.processes import run_quantshift

LIVE = "alpaca-live"
ORDERS = "/v2/orders"


@attrs.define
class ScriptFeed:
    """Bars one at a time; the next only once the live venue has answered the last (no open
    order in the store), with the venue's price set for it first."""

    bars: list[Bar]
    store: SqliteStore
    prices: dict[int, str]
    venue: object
    sent: int = 0

    def poll(self, *, timeout: float) -> list[Bar]:
        with self.store() as uow:
            if uow.orders.open_orders(account=LIVE):
                return []
        if self.sent >= len(self.bars):
            return []
        if self.sent in self.prices:
            self.venue.set_price("SPY", self.prices[self.sent])  # type: ignore[attr-defined]
        self.sent += 1
        return [self.bars[self.sent - 1]]

    def done(self) -> bool:
        with self.store() as uow:
            return self.sent == len(self.bars) and not uow.orders.open_orders(account=LIVE)


def test_probation_caps_the_live_orders_and_the_shadow_measures_fidelity(tmp_path: Path, fake_alpaca, alpaca) -> None:
    store = SqliteStore(path=tmp_path / "qs.db")
    clock, notifier = WallClock(), RecordingNotifier()
    now = clock.now()
    # Long from the 2nd bar, flat from the 4th: one entry and one exit, at a flat 500.
    strategy = ScriptedStrategy(decide=lambda _s, n: Target.LONG if n in (2, 3) else (Target.FLAT if n >= 4 else None))
    certified = spec("equity", strategy=strategy, symbols=("SPY",), fraction="0.5", capital=100_000)
    with store() as uow:
        cap = begin_live(uow, bot="equity", account=LIVE, fingerprint="f" * 64, certificate_id="cert-1", now=now,
                         policy=ProbationPolicy(fraction=Decimal("0.1"), days=10))
        uow.commit()
    bot = attrs.evolve(certified, probation=cap)
    process = ProcessInfo(pid=4242, host="test-host")

    live = PaperSession(settings=SessionSettings(account=LIVE, mode="live", heartbeat_seconds=1.0),
                        bots=[bot], uow_factory=store, broker=alpaca.broker, venue=None, notifier=notifier,
                        wall_clock=clock, process=process)
    simulated = build_simulated_broker(
        config=SimulatedBrokerConfig(market_fill=MarketFill.NEXT_OPEN, slippage_bps=Decimal(0), max_volume_share=None),
        instruments={"SPY": equity("SPY")})
    shadow = ShadowBot(session=PaperSession(
        settings=SessionSettings(account=shadow_account(LIVE), mode="shadow", heartbeat_seconds=1.0),
        bots=[bot], uow_factory=store, broker=simulated, venue=simulated, notifier=notifier, wall_clock=clock,
        process=ProcessInfo(pid=4242, host="test-host#shadow")), notifier=notifier, clock=clock)
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=6)
    bars = [Bar(symbol="SPY", ts=start + timedelta(minutes=i), open=Decimal(500), high=Decimal(500), low=Decimal(500),
                close=Decimal(500), volume=Decimal(1_000_000), interval=timedelta(minutes=1)) for i in range(5)]
    # The venue fills the buy 5 bps above the simulation and the sell 5 bps below it.
    feed = ScriptFeed(bars=bars, store=store, prices={0: "500.25", 3: "499.75"}, venue=fake_alpaca)

    live.start(now=now)
    shadow.start(now=now)
    deadline = clock.now() + timedelta(seconds=15)
    live.run_realtime(ShadowFeed(inner=feed, shadow=shadow),
                      should_stop=lambda: feed.done() or clock.now() > deadline)
    live.stop(now=clock.now())
    shadow.stop(now=clock.now())

    assert feed.done(), "the live orders did not all fill in time"
    assert not shadow.failed and shadow.bars_seen == 5
    sent = [r.body for r in fake_alpaca.requests_to("POST", ORDERS)]
    # Certified: 50 % of 100 000 at 500 = 100 shares; on probation 10 % of the capital = 20.
    assert [(b["side"], b["qty"]) for b in sent] == [("buy", "20"), ("sell", "20")]

    with store() as uow:
        twins = fidelity(uow, live_account=LIVE, bot="equity")
        (row,) = fidelity_report(uow)
    assert len(twins.pairs) == 2 and not twins.live_only and not twins.shadow_only
    assert twins.mean_bps is not None and abs(twins.mean_bps - 5.0) < 1e-6
    assert [round(p.price_diff_bps or 0, 6) for p in twins.pairs] == [5.0, 5.0]
    assert twins.fill_rate == 1.0 and twins.quantity_ratio == 1.0
    assert row.bot == "equity" and row.live_account == LIVE and row.to_json()["paired"] == 2

    # The same figures from `quantshift golive fidelity`, a real process reading the store.
    env = {**os.environ, "QUANTSHIFT_DATABASE_URL": f"sqlite:///{store.path}"}
    report = json.loads(run_quantshift(env, "golive", "fidelity", "--json").stdout)
    (shown,) = report["bots"]
    assert shown["paired"] == 2 and shown["price_diff_bps_mean"] == 5.0 and shown["fill_rate"] == 1.0
    assert shown["probation"]["event"] == "probation_started" and shown["probation"]["fraction"] == "0.1"
    table = run_quantshift(env, "golive", "fidelity", "--bot", "equity").stdout
    assert "+5.0 bps" in table and "probation_started" in table
