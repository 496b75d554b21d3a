"""The checklist's Platform items: the admin platform as an operator reaches it.

`serve` must answer at the configured public URL, show the bot with a fresh heartbeat, and
stop and start the bot's paper run through its API, exactly as an operator would in an
emergency. The AdminApi port is a client of that public URL (adapters/admin_api), logged in
as the operator the deployment names.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from application.golive.checklist import ItemResult
from domain.errors import QuantShiftError

SECTION = "Platform"
# The accounts a bot earns its paper record on; the round trip never touches real money.
PAPER_ACCOUNTS = ("paper", "alpaca-paper", "coinbase-sandbox")


class AdminApiError(QuantShiftError):
    """The admin API could not be reached or refused the request; the message says which and why."""


@attrs.frozen(kw_only=True)
class BotView:
    """One row of GET /api/v1/bots, as much as the gate reads."""

    account: str
    bot: str
    state: str  # running, stale, stopped, halted (from the heartbeat's age)
    heartbeat_age_seconds: float
    mode: str  # "paper" (real time) or "simulation"
    desired: str  # running / stopped, what operators asked


class AdminApi(Protocol):
    @property
    def base_url(self) -> str: ...

    def health(self) -> float:
        """GET /health; the seconds it took. Raises AdminApiError unless it answers 200."""
        ...

    def bots(self) -> list[BotView]:
        """GET /api/v1/bots as the deployment's operator. Raises AdminApiError."""
        ...

    def stop_bot(self, *, account: str, bot: str, reason: str) -> str:
        """POST .../stop; the bot's desired state afterwards. Raises AdminApiError."""
        ...

    def start_bot(self, *, account: str, bot: str, reason: str) -> str:
        """POST .../start; the bot's desired state afterwards. Raises AdminApiError."""
        ...


def reachable_item(api: AdminApi | None, *, problem: str = "") -> ItemResult:
    """`api` None: no public URL or no operator login configured (`problem` says which)."""
    requirement = "`quantshift serve` answers /health at the configured public URL"
    if api is None:
        return ItemResult(section=SECTION, item="serve reachable", requirement=requirement,
                          figure="not checked", passed=False, detail=problem)
    try:
        seconds = api.health()
    except AdminApiError as exc:
        return ItemResult(section=SECTION, item="serve reachable", requirement=requirement,
                          figure=f"{api.base_url}: {exc}", passed=False,
                          detail=f"start `quantshift serve` where {api.base_url} reaches it")
    return ItemResult(section=SECTION, item="serve reachable", requirement=requirement, passed=True,
                      figure=f"{api.base_url}/health answered 200 in {seconds * 1000:.0f} ms")


def _paper_row(api: AdminApi, *, bot: str) -> tuple[BotView | None, list[BotView]]:
    rows = [b for b in api.bots() if b.bot == bot]
    paper = [b for b in rows if b.account in PAPER_ACCOUNTS and b.mode == "paper"]
    return (min(paper, key=lambda b: b.heartbeat_age_seconds) if paper else None), rows


def bot_visible_item(api: AdminApi | None, *, bot: str, problem: str = "") -> ItemResult:
    requirement = "the bot listed by the API (GET /api/v1/bots) with a fresh heartbeat (state running)"
    item = "bot visible with a fresh heartbeat"
    if api is None:
        return ItemResult(section=SECTION, item=item, requirement=requirement, figure="not checked", passed=False,
                          detail=problem)
    try:
        row, rows = _paper_row(api, bot=bot)
    except AdminApiError as exc:
        return ItemResult(section=SECTION, item=item, requirement=requirement, figure=str(exc), passed=False,
                          detail="the operator must be able to log in and read the bots")
    if row is None:
        seen = ", ".join(f"{b.account} ({b.mode}, {b.state})" for b in rows) or "not listed at all"
        return ItemResult(section=SECTION, item=item, requirement=requirement, passed=False,
                          figure=f"{bot}: no real-time paper run listed; {seen}",
                          detail=f"run {bot} in real time on a paper account (`quantshift paper`) against this store")
    figure = f"{bot} on {row.account}: {row.state}, heartbeat {row.heartbeat_age_seconds:.1f} s ago"
    if row.state != "running":
        return ItemResult(section=SECTION, item=item, requirement=requirement, figure=figure, passed=False,
                          detail=f"{bot} is {row.state}: start its paper run (and `quantshift resume` if halted)")
    return ItemResult(section=SECTION, item=item, requirement=requirement, figure=figure, passed=True)


def stop_start_item(api: AdminApi | None, *, bot: str, actor: str, problem: str = "") -> ItemResult:
    """Stop the bot's paper run through the API, then start it again; both answers must say so.
    A bot stopped by someone before the check is not started by it (that is their decision)."""
    requirement = "the bot's paper run stopped and started again through the API"
    item = "stop/start round trip"
    if api is None:
        return ItemResult(section=SECTION, item=item, requirement=requirement, figure="not checked", passed=False,
                          detail=problem)
    try:
        row, _ = _paper_row(api, bot=bot)
        if row is None:
            return ItemResult(section=SECTION, item=item, requirement=requirement, passed=False,
                              figure=f"{bot}: no real-time paper run to stop",
                              detail=f"run {bot} in real time on a paper account first")
        if row.desired != "running":
            return ItemResult(section=SECTION, item=item, requirement=requirement, passed=False,
                              figure=f"{bot} on {row.account} is stopped by an operator; not touched",
                              detail=f"`quantshift bots start --bot {bot} --account {row.account}`, then check again")
        reason = f"go-live check by {actor}: stop/start round trip"
        stopped = api.stop_bot(account=row.account, bot=bot, reason=reason)
        started = api.start_bot(account=row.account, bot=bot, reason=reason)
    except AdminApiError as exc:
        return ItemResult(section=SECTION, item=item, requirement=requirement, figure=str(exc), passed=False,
                          detail="the operator needs the bots-control permission (role operator or admin); "
                                 f"check that {bot} is running again (`quantshift status`)")
    passed = stopped == "stopped" and started == "running"
    return ItemResult(section=SECTION, item=item, requirement=requirement, passed=passed,
                      figure=f"{bot} on {row.account}: stop -> {stopped}, start -> {started}",
                      detail="" if passed else f"the API did not stop and start {bot}: see its audit (kind bot_run)")
