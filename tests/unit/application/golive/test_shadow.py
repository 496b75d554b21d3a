"""The shadow bot never takes the live session down (application/golive/shadow.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from adapters.sqlite import SqliteStore
from application.golive.shadow import ShadowBot, ShadowFeed, shadow_account
from application.ports import AlertLevel
from application.trading.paper_session import PaperSession, ProcessInfo, SessionSettings
from domain.strategy import Target
from tests.fakes.builders import T0, always, bars, spec
from tests.fakes.clock import FixedClock
from tests.fakes.notifier import RecordingNotifier


class BrokenVenue:
    """A simulated venue whose every call fails (its journal's disk gone, say)."""

    def __getattr__(self, name: str) -> object:
        def fail(*_args: object, **_kwargs: object) -> object:
            raise OSError(f"venue journal unreadable ({name})")

        return fail


class ListFeed:
    def __init__(self, items: list) -> None:
        self.items = items

    def poll(self, *, timeout: float) -> list:
        return [self.items.pop(0)] if self.items else []


def test_a_failing_shadow_is_alerted_once_and_the_live_feed_goes_on(tmp_path: Path) -> None:
    clock, notifier = FixedClock(T0), RecordingNotifier()
    venue = BrokenVenue()
    session = PaperSession(settings=SessionSettings(account=shadow_account("alpaca-live"), mode="shadow"),
                           bots=[spec("equity", strategy=always(Target.LONG))], uow_factory=SqliteStore(path=tmp_path / "q.db"),
                           broker=venue, venue=venue, notifier=notifier, wall_clock=clock,  # type: ignore[arg-type]
                           process=ProcessInfo(pid=1, host="h#shadow"))
    shadow = ShadowBot(session=session, notifier=notifier, clock=clock)
    shadow.start(now=T0)
    assert shadow.failed.startswith("start: OSError")
    live_bars = bars("SPY", ["100", "101", "102"], start=T0 - timedelta(minutes=3))
    feed = ShadowFeed(inner=ListFeed(list(live_bars)), shadow=shadow)
    got = [b for _ in range(4) for b in feed.poll(timeout=0)]
    assert got == live_bars and shadow.bars_seen == 0  # the live session gets every bar
    shadow.stop(now=T0)
    assert notifier.titles(AlertLevel.WARNING) == ["shadow bot shadow-alpaca-live stopped"]
