"""Two watchdogs on one store: only the leader lease holder tells; a new leader carries on
from the alerts the trail shows open (never firing them twice), and asks for the repeats of
unacknowledged critical alerts; the leader's tick is recorded; the watchdogs' lease is no bot's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.alerting.alert import Alert, AlertEvent
from application.alerting.lifecycle import alert_entry, alert_states
from application.golive.drills import DrillRefused
from application.golive.failover import FailoverDrill, failover_drill
from application.monitoring.tick_record import last_tick
from application.safety.lease import WATCHDOG_LEASE_ACCOUNT, WATCHDOG_LEASE_BOT, is_bot_lease
from tests.unit.application.monitoring.conftest import T0, RecordingRepeater, World


class TrailSink:
    """An AlertSink that writes the trail at once, as the dispatcher does after delivery."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.fired: list[str] = []

    def fire(self, alert: Alert) -> None:
        self.fired.append(alert.key)
        self._write(AlertEvent.FIRED, alert)

    def resolve(self, *, key: str, title: str, body: str = "", account: str = "", bot: str = "") -> None:
        with self.world.store() as uow:
            state = alert_states(uow)[key]
            uow.audit.append(alert_entry(event=AlertEvent.RESOLVED, state=state, now=self.world.clock.now(),
                                         title=title, body=body))
            uow.commit()

    def _write(self, event: AlertEvent, alert: Alert) -> None:
        with self.world.store() as uow:
            uow.audit.append(alert_entry(event=event, state=alert, now=self.world.clock.now()))
            uow.commit()


def test_only_the_leader_tells_and_the_next_leader_does_not_tell_again(world: World):
    world.beat(pid=4242)  # crashed: not running
    blue, green = TrailSink(world), TrailSink(world)
    first, _ = world.watchdog("1@watch-host", sink=blue)  # type: ignore[arg-type]
    second, _ = world.watchdog("2@watch-host", sink=green)  # type: ignore[arg-type]
    assert first.tick().leader and not second.tick().leader
    world.advance(1)
    first.tick()
    second.tick()
    assert (blue.fired, green.fired) == (["bot_crashed:paper/btc"], [])
    first.release()  # a clean stop gives the lease up: the other leads at its next tick
    world.advance(1)
    report = second.tick()
    assert report.leader and report.fired == () and green.fired == []
    world.processes.running = {5151}
    world.beat(pid=5151)
    assert second.tick().resolved == ("bot_crashed:paper/btc",)  # raised by the other one, resolved here
    with world.store() as uow:
        assert not alert_states(uow)["bot_crashed:paper/btc"].open


def test_a_leader_that_stops_ticking_is_replaced_once_its_lease_expires(world: World):
    first, _ = world.watchdog("1@watch-host")
    second, _ = world.watchdog("2@watch-host")
    assert first.tick().leader
    world.advance(world.policy.lease_seconds - 0.1)
    assert not second.tick().leader
    world.advance(0.2)
    assert second.tick().leader
    assert not first.tick().leader  # back from its pause: the other one leads now


def test_the_leader_has_unacknowledged_critical_alerts_repeated_once_per_period(world: World):
    world.beat(pid=4242)
    repeats, idle = RecordingRepeater(), RecordingRepeater()
    leader, _ = world.watchdog("1@watch-host", sink=TrailSink(world), repeater=repeats)  # type: ignore[arg-type]
    other, _ = world.watchdog("2@watch-host", repeater=idle)
    leader.tick()
    other.tick()
    world.advance(world.policy.repeat_every.total_seconds() - 1)
    assert leader.tick().repeated == 0
    world.advance(1)
    assert leader.tick().repeated == 1 and repeats.repeated == ["bot_crashed:paper/btc"]
    world.advance(1)  # the dispatcher has not recorded the repeat yet: not asked for twice
    assert leader.tick().repeated == 0
    other.tick()
    assert idle.repeated == []


def test_the_leaders_tick_is_recorded_for_the_metrics(world: World):
    first, _ = world.watchdog("1@watch-host")
    second, _ = world.watchdog("2@watch-host")
    first.tick()
    world.advance(1)
    second.tick()
    with world.store.unit_of_work(read_only=True) as uow:
        tick = last_tick(uow)
    assert tick is not None and (tick.at, tick.holder, tick.interval_seconds) == (T0, "1@watch-host", 1.0)
    world.advance(1)
    first.tick()
    with world.store.unit_of_work(read_only=True) as uow:
        assert last_tick(uow).at == T0 + timedelta(seconds=2)  # type: ignore[union-attr]


def test_the_watchdog_lease_is_no_bots_lease_to_the_failover_drill(world: World):
    dog, _ = world.watchdog("1@watch-host")
    dog.tick()
    with world.store.unit_of_work(read_only=True) as uow:
        (lease,) = uow.leases.list()
    assert (lease.account, lease.bot) == (WATCHDOG_LEASE_ACCOUNT, WATCHDOG_LEASE_BOT) and not is_bot_lease(lease)

    class NoKills:
        host = "watch-host"

        def kill(self, pid: int) -> None:
            raise AssertionError(f"the drill must not kill {pid}: it is a watchdog, not a bot")

    with pytest.raises(DrillRefused, match="no instance holds the leases"):
        failover_drill(FailoverDrill(actor="test", account=WATCHDOG_LEASE_ACCOUNT), uow_factory=world.store,
                       clock=world.clock, killer=NoKills(), sleep=lambda _s: None)


def test_the_watchdog_that_told_of_the_store_outage_resolves_it_though_another_leads_after(world: World):
    first, blue = world.watchdog("1@watch-host")
    second, green = world.watchdog("2@watch-host")
    first.tick()
    second.tick()
    lock = world.lock()
    try:
        assert first.tick().fired == ("store_unreachable",)
        assert second.tick().fired == ()
        world.advance(world.policy.lease_seconds + 1)  # the outage outlasts the lease
    finally:
        lock.rollback()
        lock.close()
    assert second.tick().leader  # back first: it leads now, and knows nothing of the outage
    report = first.tick()
    assert (report.leader, report.resolved) == (False, ("store_unreachable",))
    assert (blue.resolved(), green.events) == (["store_unreachable"], [])
