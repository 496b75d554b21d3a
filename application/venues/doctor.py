"""`quantshift doctor`: keys, connectivity, account, clock, permissions and symbols of a venue,
each check a value saying what is wrong and what to do."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta

import attrs

from application.ports import AlertLevel, Clock
from application.venues.ports import VenueAccount
from application.venues.venue_monitors import assess_account
from domain.errors import QuantShiftError


class Verdict(enum.Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"


@attrs.frozen(kw_only=True)
class Check:
    name: str
    verdict: Verdict
    detail: str


def _fail(name: str, exc: Exception) -> Check:
    return Check(name=name, verdict=Verdict.FAIL, detail=f"{type(exc).__name__}: {exc}")


def diagnose(
    *,
    venue: str,
    keys: Mapping[str, bool],
    connect: Callable[[], VenueAccount],
    symbols: Sequence[str],
    clock: Clock,
    max_clock_skew: timedelta = timedelta(seconds=2),
) -> list[Check]:
    """`keys` maps each environment variable the venue needs to whether it is set; `connect`
    builds the venue's account client (only called when the keys are there)."""
    missing = [name for name, present in keys.items() if not present]
    checks = [Check(name="keys", verdict=Verdict.FAIL if missing else Verdict.OK,
                    detail=(f"set {', '.join(missing)} in the environment" if missing
                            else f"{', '.join(keys)} set"))]
    later = ("connectivity", "clock", "account", "permissions", "symbols")
    if missing:
        return checks + [Check(name=n, verdict=Verdict.SKIPPED, detail="needs the keys") for n in later]
    try:
        account = connect()
        sent = clock.now()
        venue_clock = account.clock()
        received = clock.now()
    except (QuantShiftError, OSError) as exc:
        return checks + [_fail("connectivity", exc)] + [
            Check(name=n, verdict=Verdict.SKIPPED, detail=f"{venue} did not answer") for n in later[1:]]
    round_trip = received - sent
    checks.append(Check(name="connectivity", verdict=Verdict.OK,
                        detail=f"{venue} answered in {round_trip.total_seconds() * 1000:.0f} ms"))
    # The venue stamped its time somewhere in the round trip: compare with its middle.
    skew = (sent + round_trip / 2) - venue_clock.ts
    hours = ("open" if venue_clock.is_open else "closed") + (
        f", next open {venue_clock.next_open.isoformat()}" if venue_clock.next_open and not venue_clock.is_open else "")
    if abs(skew) > max_clock_skew:
        ahead = "ahead of" if skew > timedelta(0) else "behind"
        checks.append(Check(name="clock", verdict=Verdict.FAIL, detail=(
            f"the local clock is {abs(skew).total_seconds():.1f}s {ahead} {venue}'s (over "
            f"{max_clock_skew.total_seconds():g}s): sync it (NTP); trading hours come from the venue, "
            f"but bar times and data freshness use the local clock; market {hours}")))
    else:
        checks.append(Check(name="clock", verdict=Verdict.OK, detail=(
            f"within {abs(skew).total_seconds():.2f}s of {venue}'s; market {hours}")))
    try:
        snapshot = account.account()
        assessment = assess_account(snapshot)
        figures = (f"{snapshot.account_id} {snapshot.status}: equity {snapshot.equity:.2f} {snapshot.currency}, "
                   f"buying power {snapshot.buying_power:.2f}")
        verdict = {AlertLevel.CRITICAL: Verdict.FAIL, AlertLevel.WARNING: Verdict.WARN}.get(assessment.level,
                                                                                          Verdict.OK)
        detail = figures if verdict is Verdict.OK else f"{figures}; {assessment.summary}"
        checks.append(Check(name="account", verdict=verdict, detail=detail))
    except QuantShiftError as exc:
        checks.append(_fail("account", exc))
    try:
        permissions = account.permissions()
        verdict = Verdict.OK if permissions.can_read and permissions.can_trade else Verdict.FAIL
        what = ("read and trade" if verdict is Verdict.OK
                else "trade" if permissions.can_read else "read")
        detail = (f"the key may {what}" if verdict is Verdict.OK
                  else f"the key may not {what}: give it that permission at {venue}")
        checks.append(Check(name="permissions", verdict=verdict,
                            detail=detail + (f" ({permissions.detail})" if permissions.detail else "")))
    except QuantShiftError as exc:
        checks.append(_fail("permissions", exc))
    if not symbols:
        checks.append(Check(name="symbols", verdict=Verdict.SKIPPED, detail="no bot trades on this venue"))
        return checks
    try:
        listed = account.instruments(symbols)
        closed = [s for s, i in listed.items() if not i.tradable]
        checks.append(Check(name="symbols", verdict=Verdict.FAIL if closed else Verdict.OK,
                            detail=(f"not tradable at {venue}: {', '.join(closed)}" if closed
                                    else f"{', '.join(symbols)} tradable")))
    except QuantShiftError as exc:
        checks.append(_fail("symbols", exc))
    return checks


def healthy(checks: Sequence[Check]) -> bool:
    return not any(c.verdict is Verdict.FAIL for c in checks)


