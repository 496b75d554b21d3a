"""Only one live process trades a bot: a second instance refuses to start."""

from datetime import timedelta

import pytest

from application.trading.liveness import BotAlreadyRunning
from application.trading.paper_session import PaperSession, ProcessInfo
from domain.strategy import Target
from tests.fakes.builders import T0, always, spec
from tests.fakes.harness import Harness


def second_instance(h: Harness, bot_spec) -> PaperSession:
    session = h.session([bot_spec])
    return PaperSession(settings=session.settings, bots=session.bots, uow_factory=h.store, broker=h.broker,
                        venue=None, notifier=h.notifier, wall_clock=h.wall, process=ProcessInfo(pid=9999, host="other"))


def test_a_second_instance_is_refused_while_the_first_beats_and_allowed_once_it_is_stale():
    h = Harness()
    bot_spec = spec(strategy=always(Target.LONG))
    first = h.session([bot_spec], heartbeat_seconds=1.0)
    first.start(now=T0)
    with pytest.raises(BotAlreadyRunning, match=r"bot1 of account paper-test is already running \(pid 4242 on test-host"):
        second_instance(h, bot_spec).start(now=T0)
    h.wall.advance(timedelta(seconds=2.5))  # the first died: its heartbeat is now stale
    second_instance(h, bot_spec).start(now=T0)


def test_a_clean_stop_frees_the_bot_at_once():
    h = Harness()
    bot_spec = spec(strategy=always(Target.LONG))
    first = h.session([bot_spec])
    first.start(now=T0)
    first.stop(now=T0)
    second_instance(h, bot_spec).start(now=T0)
