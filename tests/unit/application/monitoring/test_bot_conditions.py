"""Bots stale or crashed, and a standby taking over, as a watchdog ticking on a real SQLite
store sees them (records written the way a session writes them, a clock the test moves)."""

from __future__ import annotations

import attrs

from application.monitoring.policy import WatchdogPolicy
from application.ports import AlertLevel
from application.records import BotRunState, InstanceRole
from tests.unit.application.monitoring.conftest import World, keys


def test_a_bot_whose_process_is_gone_on_this_host_is_crashed_at_once_and_resolved_by_a_restart(world: World):
    world.processes.running = {4242}
    world.beat(pid=4242)
    dog, sink = world.watchdog()
    assert keys(dog.tick()) == ((), ())
    world.processes.running = set()  # SIGKILLed: the beat is still fresh
    world.advance(0.3)
    report = dog.tick()
    assert report.leader and report.fired == ("bot_crashed:paper/btc",)
    alert = sink.alerts[0]
    assert (alert.level, alert.account, alert.bot, alert.source) == (AlertLevel.CRITICAL, "paper", "btc", "watchdog")
    assert "4242" in alert.body and alert.figures["pid"] == "4242"
    world.advance(5)
    assert keys(dog.tick()) == ((), ())  # still crashed, and staler: told once
    world.processes.running = {5151}
    world.beat(pid=5151)  # restarted
    assert keys(dog.tick()) == ((), ("bot_crashed:paper/btc",))


def test_a_bot_on_another_host_is_stale_after_its_beats_and_fresh_again_with_a_beat(world: World):
    world.beat(host="other-host", interval=0.5)
    dog, sink = world.watchdog()
    world.advance(0.99)  # under 2 x 0.5 s: a pid on another host tells nothing, so nothing yet
    assert keys(dog.tick()) == ((), ())
    world.advance(0.02)
    assert keys(dog.tick()) == (("bot_stale:paper/btc",), ())
    assert "other-host" in sink.alerts[0].body
    world.beat(host="other-host", interval=0.5)
    assert keys(dog.tick()) == ((), ("bot_stale:paper/btc",))


def test_a_stuck_process_on_this_host_is_stale_not_crashed(world: World):
    world.processes.running = {4242}
    world.beat(pid=4242, interval=1.0)
    dog, sink = world.watchdog()
    world.advance(2.5)
    assert dog.tick().fired == ("bot_stale:paper/btc",)
    assert "still runs" in sink.alerts[0].body
    world.processes.running = set()  # then it dies: the stale alert gives way to the crash
    assert keys(dog.tick()) == (("bot_crashed:paper/btc",), ("bot_stale:paper/btc",))


def test_pid_checks_off_waits_for_staleness(world: World):
    world.policy = attrs.evolve(world.policy, check_pids=False)
    world.beat(pid=4242, interval=1.0)  # not running, but pids are not to be trusted here
    dog, _ = world.watchdog()
    assert keys(dog.tick()) == ((), ())
    world.advance(2.01)
    assert dog.tick().fired == ("bot_stale:paper/btc",)


def test_a_clean_stop_and_an_accelerated_session_raise_nothing(world: World):
    world.beat(bot="btc", state=BotRunState.STOPPED)
    world.beat(bot="eq", account="sim-0001", mode="simulation")  # killed, and never mind: a replay
    dog, sink = world.watchdog()
    world.advance(60)
    assert keys(dog.tick()) == ((), ())
    assert sink.events == []


def test_stale_after_beats_is_the_setting(world: World):
    world.policy = WatchdogPolicy(stale_after_beats=4)
    world.beat(host="other-host", interval=1.0)
    dog, _ = world.watchdog()
    world.advance(3.9)
    assert dog.tick().fired == ()
    world.advance(0.2)
    assert dog.tick().fired == ("bot_stale:paper/btc",)


def test_a_standby_taking_the_leases_is_told_until_a_standby_is_back(world: World):
    world.instance("10@a", role=InstanceRole.LIVE)
    world.instance("20@b", role=InstanceRole.STANDBY)
    assert world.lease("10@a")
    dog, sink = world.watchdog()
    assert keys(dog.tick()) == ((), ())
    world.advance(2.5)  # the leader stopped renewing: its lease expired
    assert world.lease("20@b")
    world.instance("20@b", role=InstanceRole.LIVE)
    assert dog.tick().fired == ("standby_takeover:paper",)
    alert = sink.alerts[-1]
    assert alert.level is AlertLevel.WARNING and alert.figures == {"btc": "10@a -> 20@b"}
    assert "No standby is left" in alert.body
    world.advance(1)
    assert keys(dog.tick()) == ((), ())  # still no standby: still open, not sent again
    world.instance("30@c", role=InstanceRole.STANDBY)  # an instance restarted
    assert keys(dog.tick()) == ((), ("standby_takeover:paper",))


def test_a_restart_taking_an_expired_lease_is_no_takeover(world: World):
    world.instance("10@a", role=InstanceRole.LIVE)
    assert world.lease("10@a")
    dog, _ = world.watchdog()
    dog.tick()
    world.advance(3)
    assert world.lease("11@a")  # the same bot restarted after a crash; never a standby
    world.instance("11@a", role=InstanceRole.LIVE)
    assert dog.tick().fired == ()
