import threading
import time

import pytest

from application.venues.request_governor import ALPACA_LIMIT, Priority, RateLimit, RequestGovernor
from domain.errors import VenueUnavailable


class ManualTime:
    """A monotonic clock that only moves when the governor sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def governor(limit: RateLimit, **kwargs) -> tuple[RequestGovernor, ManualTime]:
    t = ManualTime()
    return RequestGovernor(limit=limit, monotonic=t.monotonic, sleep=t.sleep, **kwargs), t


def sent_per_window(times: list[float], window: float) -> int:
    return max(sum(1 for u in times if t - window < u <= t) for t in times)


def test_alpaca_keeps_about_160_a_minute_for_ordinary_requests():
    gov, t = governor(ALPACA_LIMIT)
    times = []
    for _ in range(500):
        gov.acquire()
        times.append(t.now)
    assert sent_per_window(times, 60.0) == 160
    assert t.now >= 120.0  # 500 requests at 160/min take over two minutes: nothing was let through early


def test_cancels_use_the_headroom_ordinary_requests_leave():
    gov, t = governor(RateLimit(requests=10, per_seconds=1.0, headroom=0.8))
    for _ in range(8):
        gov.acquire()
    assert t.now == 0.0
    gov.acquire(priority=Priority.CANCEL)  # the 9th and 10th slots are for cancels ...
    gov.acquire(priority=Priority.CANCEL)
    assert t.now == 0.0
    gov.acquire()  # ... an order waits for the window to move
    assert t.now == pytest.approx(1.0)


def test_a_429_pauses_every_caller_until_the_reset():
    gov, t = governor(RateLimit(requests=100, per_seconds=60.0))
    gov.acquire()
    gov.pause(7.5)
    gov.acquire(priority=Priority.CANCEL)
    assert t.now == pytest.approx(7.5)


def test_a_wait_beyond_max_wait_is_a_transient_venue_error_naming_the_limit():
    gov, _ = governor(RateLimit(requests=1, per_seconds=60.0, headroom=1.0), max_wait=5.0)
    gov.acquire()
    with pytest.raises(VenueUnavailable, match="1 per 60s"):
        gov.acquire()


def test_threads_sharing_a_key_are_paced_together():
    # 40 requests from 4 threads at 10 per 0.2 s: the last ones cannot go before 3 windows have
    # passed. (A lower bound only: a loaded machine makes it slower, never faster.)
    gov = RequestGovernor(limit=RateLimit(requests=20, per_seconds=0.2, headroom=0.5))
    done: list[int] = []
    lock = threading.Lock()

    def worker():
        for _ in range(10):
            gov.acquire()
            with lock:
                done.append(1)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(done) == 40
    assert time.monotonic() - started >= 0.6 - 0.01


@pytest.mark.parametrize("bad", [dict(requests=0, per_seconds=1.0), dict(requests=5, per_seconds=0.0),
                                 dict(requests=5, per_seconds=1.0, headroom=1.5)])
def test_a_nonsensical_limit_is_refused(bad):
    with pytest.raises(ValueError):
        RateLimit(**bad)
