"""The checklist's "live credentials" item (Infrastructure), and the live start's key checks.

Both ask the LIVE endpoint itself, read-only, with the live keys: an endpoint refuses a key of
the other environment (Alpaca's live endpoint answers 401 to a paper key; Coinbase production
does not know sandbox keys), which key prefixes do not promise to tell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from application.golive.checklist import ItemResult
from application.ports import AlertLevel, Clock
from application.venues.doctor import Check, Verdict, diagnose
from application.venues.ports import VenueAccount
from application.venues.venue_monitors import assess_account
from domain.errors import QuantShiftError

SECTION = "Infrastructure"
ITEM = "live credentials"
REQUIREMENT = "live keys set; the live endpoint answers them: account active, trading not blocked, may read and trade"
# The doctor's checks the item stands on (clock and symbols are the doctor's too, not this item's).
_COUNTED = ("keys", "connectivity", "account", "permissions")


def live_credentials_item(
    *, venue: str, keys: Mapping[str, bool], connect: Callable[[], VenueAccount], clock: Clock,
    same_as_paper: Sequence[str] = (),
) -> ItemResult:
    """`keys`: each live key variable and whether it is set; `connect` builds the live
    endpoint's account client; `same_as_paper`: live variables whose value is the paper key's."""
    if same_as_paper:
        return ItemResult(section=SECTION, item=ITEM, requirement=REQUIREMENT,
                          figure=f"{venue}: {', '.join(same_as_paper)} equal the paper keys", passed=False,
                          detail="a paper key can never trade live: set the live account's own keys")
    checks = [c for c in diagnose(venue=venue, keys=keys, connect=connect, symbols=(), clock=clock)
              if c.name in _COUNTED]
    failed = [c for c in checks if c.verdict in (Verdict.FAIL, Verdict.SKIPPED)]
    figure = f"{venue} live: " + "; ".join(f"{c.name} {c.verdict.value}" for c in checks)
    return ItemResult(section=SECTION, item=ITEM, requirement=REQUIREMENT, figure=figure, passed=not failed,
                      detail="; ".join(_what_to_do(c) for c in failed))


def _what_to_do(check: Check) -> str:
    return f"{check.name}: {check.detail}"


def live_key_problems(account: VenueAccount) -> list[str]:
    """At a live start: what the live endpoint says against trading with these keys ([] = none)."""
    try:
        snapshot = account.account()
    except QuantShiftError as exc:
        return [f"the live endpoint did not accept the key ({exc}); a key of the other environment (paper, "
                "sandbox) is refused there"]
    problems = []
    assessment = assess_account(snapshot)
    if assessment.level is AlertLevel.CRITICAL:
        problems.append(assessment.summary)
    try:
        permissions = account.permissions()
    except QuantShiftError as exc:
        return problems + [f"key permissions unreadable: {exc}"]
    if not (permissions.can_read and permissions.can_trade):
        problems.append(f"the key may not {'trade' if permissions.can_read else 'read'}"
                        + (f" ({permissions.detail})" if permissions.detail else ""))
    return problems


def equal_keys(*, live: Mapping[str, str], paper: Mapping[str, str]) -> list[str]:
    """The live variables whose (non-empty) value equals a paper key variable's."""
    papers = {v.strip() for v in paper.values() if v.strip()}
    return [name for name, value in live.items() if value.strip() and value.strip() in papers]

