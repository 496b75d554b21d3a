"""The gap detector of the Coinbase user stream, on messages in the venue's shape."""

from __future__ import annotations

from adapters.coinbase.gaps import GapDetector


def msg(sequence: int, channel: str = "user", **extra: object) -> dict:
    return {"channel": channel, "sequence_num": sequence, "events": [], **extra}


def beat(sequence: int, counter: int | str) -> dict:
    return msg(sequence, "heartbeats", events=[{"current_time": "2025-03-03 12:00:00", "heartbeat_counter": counter}])


def test_consecutive_numbers_across_channels_are_no_gap():
    gaps = GapDetector()
    assert [gaps.check(m) for m in (msg(0, "subscriptions"), beat(1, 1), msg(2), beat(3, 2))] == [None] * 4
    assert gaps.gaps == 0


def test_a_skipped_sequence_number_is_a_gap_naming_how_many_were_lost():
    gaps = GapDetector()
    gaps.check(msg(4))
    assert gaps.check(msg(7)) == "sequence_num jumped from 4 to 7 (2 message(s) lost)"
    assert gaps.check(msg(8)) is None and gaps.gaps == 1


def test_a_skipped_heartbeat_counter_is_a_gap_even_when_the_sequence_is_whole():
    gaps = GapDetector()
    gaps.check(beat(0, "41"))  # the venue may send it as a string
    assert gaps.check(beat(1, 43)) == "heartbeat_counter jumped from 41 to 43 (1 heartbeat(s) missed)"


def test_duplicates_and_late_messages_are_not_gaps():
    gaps = GapDetector()
    for m in (msg(5), msg(5), msg(3), msg(6), beat(7, 9), beat(8, 9), beat(9, 8), beat(10, 10)):
        assert gaps.check(m) is None


def test_reset_starts_a_new_connection_from_any_number():
    gaps = GapDetector()
    gaps.check(msg(50))
    gaps.check(beat(51, 50))
    gaps.reset()
    assert gaps.check(msg(0, "subscriptions")) is None and gaps.check(beat(1, 1)) is None


def test_messages_without_numbers_are_ignored():
    gaps = GapDetector()
    gaps.check(msg(1))
    assert gaps.check({"type": "error", "message": "authentication failure"}) is None
    assert gaps.check({"channel": "user", "sequence_num": True}) is None
    assert gaps.check(msg(2)) is None
