"""The wire types of the API: msgspec Structs, strict on input (unknown fields refused,
sizes and ranges bounded), money as decimal strings on output."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from domain.access import MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=MAX_EMAIL_LENGTH)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
RoleName = Literal["viewer", "operator", "admin"]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A request body: every field known, every size bounded."""


class LoginRequest(Strict):
    email: Email
    password: Password


class ReasonRequest(Strict):
    reason: Reason

    def __post_init__(self) -> None:
        # Checked here, in the API's words: the use cases refuse a blank reason too, but they
        # say it for the CLI ("--reason TEXT"). "field: message" is how errors.py names the field.
        if not self.reason.strip():
            raise ValueError("reason: must hold some text, not only spaces")


class ResumeRequest(ReasonRequest):
    """POST /api/v1/resume: lifts the global halt; a bot's own halt or breaker only when named
    (`account`: every bot of it; `all`: every bot of every account), as `quantshift resume`.
    The reason is checked as every other reason (ReasonRequest)."""

    account: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    all_accounts: bool = msgspec.field(default=False, name="all")


class NewUserRequest(Strict):
    email: Email
    role: RoleName
    password: Password


class TokenResponse(msgspec.Struct, kw_only=True):
    token: str
    token_type: str
    expires_in: int  # seconds
    session_id: str
    revoked_sessions: list[str]


class MeResponse(msgspec.Struct, kw_only=True):
    user_id: str
    email: str
    role: str
    session_id: str


class LogoutAllResponse(msgspec.Struct, kw_only=True):
    revoked_sessions: int


class UserResponse(msgspec.Struct, kw_only=True):
    user_id: str
    email: str
    role: str
    verified: bool
    disabled: bool
    created_at: datetime


class PositionResponse(msgspec.Struct, kw_only=True):
    account: str
    bot: str
    symbol: str
    quantity: Decimal
    average_cost: Decimal
    last_price: Decimal | None
    unrealized_pnl: Decimal
    realized_pnl: Decimal


class BotResponse(msgspec.Struct, kw_only=True):
    account: str
    bot: str
    state: str  # running, stale, stopped, halted
    role: str | None  # LIVE / STANDBY of the instance running it, when one beats
    last_heartbeat: datetime
    heartbeat_age_seconds: float
    mode: str
    pid: int
    host: str
    trading_state: str
    halt_reason: str | None
    cash: Decimal
    equity: Decimal
    pnl: Decimal
    positions: list[PositionResponse]
    desired: Literal["running", "stopped"] = "running"  # what operators asked (start / stop)
    stopped_by: str | None = None  # who stopped it, while desired is stopped
    stop_reason: str | None = None


class ControlResponse(msgspec.Struct, kw_only=True):
    scope: str
    state: str
    reason: str
    actor: str
    changed_at: datetime


class BotRunResponse(msgspec.Struct, kw_only=True):
    """A bot's start/stop request as stored: the latest one wins."""

    account: str
    bot: str
    desired: Literal["running", "stopped"]
    actor: str
    reason: str
    updated_at: datetime
    trading_state: str  # active, reducing, halted: a halt holds a started bot all the same
    changed: bool = True  # false: the bot already was as asked (a start of a running bot), nothing recorded


class TradeResponse(msgspec.Struct, kw_only=True):
    account: str
    bot: str
    strategy: str
    symbol: str
    direction: str
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal
    opened_at: datetime
    closed_at: datetime
    gross_pnl: Decimal
    commission: Decimal
    net_pnl: Decimal


class TradePage(msgspec.Struct, kw_only=True):
    items: list[TradeResponse]
    total: int
    limit: int
    offset: int


class FieldProblem(msgspec.Struct, kw_only=True):
    field: str | None  # the parameter or body field, when the error names one
    source: str | None  # body, query, path, header, ...
    message: str


class ProblemResponse(msgspec.Struct, kw_only=True, omit_defaults=True):
    """RFC 9457 problem details: the body of every error (errors.problem builds it)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None  # the offending fields of a 400; absent otherwise


class HealthResponse(msgspec.Struct, kw_only=True):
    status: str  # ok | degraded
    store: str  # reachable | unreachable
    version: str
