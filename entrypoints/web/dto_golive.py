"""Wire types of the go-live endpoints (/api/v1/golive, /api/v1/drills): msgspec Structs like
dto.py, strict on input; times ISO 8601, ratios as numbers (fractions, 0.45 is 45 %)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from entrypoints.web.dto import Strict

BotName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
CertificateId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class CheckRequest(Strict):
    """POST /api/v1/golive/{bot}/check: `broker` as `golive check --broker` (the live venue the
    bot would trade on; none: the one its asset class uses)."""

    broker: Literal["alpaca", "coinbase"] | None = None


class ApproveRequest(Strict):
    """POST /api/v1/golive/{bot}/approve: the certificate signed off, by its id, so that a
    certificate replaced since the page was read is never approved unseen."""

    certificate_id: CertificateId


class KillSwitchDrillRequest(Strict):
    """POST /api/v1/drills/killswitch: as `quantshift drill killswitch [--bot NAME] [--broker B]`:
    on the paper account of `broker` (simulated: the continuous `paper` session), which must be
    running; the bot is its first one when not named."""

    bot: BotName | None = None
    broker: Literal["simulated", "alpaca", "coinbase"] = "simulated"


class ItemResponse(msgspec.Struct, kw_only=True):
    section: str  # Bot validation, Risk management, Infrastructure, Platform
    item: str
    requirement: str
    figure: str  # what was measured
    passed: bool
    detail: str  # on a failure: what to do


class CheckResponse(msgspec.Struct, kw_only=True):
    checked_at: datetime
    checked_by: str
    fingerprint: str
    broker: str
    passed: bool  # every item passed (a certificate was issued)
    items: list[ItemResponse]


class ValidationResponse(msgspec.Struct, kw_only=True):
    """The validation clock: the current epoch and, where the clock measured them, its figures
    against the [golive] criteria. A figure not measured yet is null."""

    epoch: int
    account: str  # the paper account it is earned on
    started_at: datetime
    fingerprint: str
    reason: str  # first run, configuration changed, reset: ..., account changed
    changed: list[str]  # the ingredients that changed at its start
    current: bool  # the epoch's fingerprint is the configuration's now
    trading_days: int | None
    day_unit: str  # NYSE sessions (equity bots) or UTC days (crypto bots)
    min_trading_days: int
    round_trips: int | None
    min_trades: int
    win_rate: float | None
    min_win_rate: float
    max_drawdown: float | None
    drawdown_limit: float  # the drawdown must stay below it
    critical_events: int | None
    passed: bool | None


class DrillResponse(msgspec.Struct, kw_only=True):
    drill: Literal["killswitch", "failover"]
    at: datetime
    account: str
    passed: bool
    detail: str
    # The drill's figures as recorded: kill switch: venue, orders_open, orders_cancelled,
    # cancel_seconds, last_submission_seconds, submissions_after_1s, resumed; failover:
    # from_instance, to_instance, takeover_seconds.
    figures: dict[str, Any]


class BackupResponse(msgspec.Struct, kw_only=True):
    event: Literal["taken", "verified"]
    at: datetime
    path: str
    engine: str
    tables: dict[str, Any]  # table -> rows
    sha256: str
    passed: bool | None  # verified only: the restore matched row by row
    detail: str


class CertificateResponse(msgspec.Struct, kw_only=True):
    """The latest certificate issued for the bot, whatever its state."""

    certificate_id: str
    state: Literal["valid", "awaiting approval", "expired", "configuration changed"]
    fingerprint: str
    broker: str
    checked_by: str
    issued_at: datetime | None
    valid_until: datetime | None
    approved_by: str | None
    approved_at: datetime | None


class ProbationResponse(msgspec.Struct, kw_only=True):
    event: Literal["probation_started", "promoted", "demoted"]
    at: datetime
    fraction: Any  # of the target capital and per-order notional while on probation
    days: Any
    figures: dict[str, Any]
    reason: str


class GoLiveSummaryResponse(msgspec.Struct, kw_only=True):
    """One row of GET /api/v1/golive."""

    bot: str
    asset_class: str
    fingerprint: str | None  # null: the configuration could not be fingerprinted (detail in the bot's page)
    certified: bool  # holds a current certificate: approved, not expired, for its fingerprint now
    validation: ValidationResponse | None
    last_check_passed: bool | None
    last_checked_at: datetime | None
    killswitch: DrillResponse | None
    failover: DrillResponse | None
    certificate: CertificateResponse | None


class GoLiveBotResponse(msgspec.Struct, kw_only=True):
    """GET /api/v1/golive/{bot}: everything the gate rests on for one bot."""

    bot: str
    asset_class: str
    fingerprint: str | None
    certified: bool  # holds a current certificate: approved, not expired, for its fingerprint now
    problems: list[str]  # why it does not (the certificate's state, the items the latest check failed)
    validation: ValidationResponse | None
    check: CheckResponse | None  # the checklist as last checked
    killswitch: DrillResponse | None
    failover: DrillResponse | None
    backup_taken: BackupResponse | None
    backup_verified: BackupResponse | None
    certificate: CertificateResponse | None
    probation: ProbationResponse | None
    entries_blocked: str | None  # why live entries are blocked, while they are


class ApprovalResponse(msgspec.Struct, kw_only=True):
    bot: str
    certificate_id: str
    approved_by: str
    approved_at: datetime
    valid_until: datetime
    changed: bool  # false: it was approved already (by approved_by), nothing recorded


class CheckRunResponse(msgspec.Struct, kw_only=True):
    """POST /api/v1/golive/{bot}/check: the run as recorded (a check entry; a certificate when
    every item passed, awaiting an admin's approval)."""

    bot: str
    passed: bool
    seconds: float
    check: CheckResponse | None  # null only if the record cannot be read back
    certificate: CertificateResponse | None  # issued by this run
