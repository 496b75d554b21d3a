"""Records the application keeps besides orders, fills and positions."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

import attrs

from domain.orders.order import OrderStatus
from domain.risk.trading_state import TradingState

GLOBAL_SCOPE = "*"  # a halt of this scope stops every bot of every account


def bot_scope(account: str, bot: str) -> str:
    """The switch of one bot of one account: a runaway halted in one simulated session
    must not stop the same-named bot of another account."""
    return f"{account}/{bot}"


@attrs.frozen(kw_only=True)
class BotAccount:
    account: str
    bot: str
    initial_cash: Decimal
    cash: Decimal


@attrs.frozen(kw_only=True)
class ControlState:
    """The durable trading switch of one scope (GLOBAL_SCOPE or bot_scope(account, bot))."""

    scope: str
    state: TradingState
    reason: str
    actor: str
    changed_at: datetime


class BotRunState(enum.Enum):
    RUNNING = "running"  # the process says it runs; status still checks the beat's age
    STOPPED = "stopped"  # the process ended cleanly and said so


@attrs.frozen(kw_only=True)
class Heartbeat:
    account: str
    bot: str
    pid: int
    host: str
    mode: str  # "paper" (real time) or "simulation" (accelerated)
    started_at: datetime
    beat_at: datetime  # wall clock
    interval_seconds: float
    run_state: BotRunState
    detail: str = ""


class AuditKind(enum.Enum):
    SIGNAL = "signal"
    RISK = "risk"
    ORDER = "order"
    FILL = "fill"
    TRADE = "trade"
    HALT = "halt"
    RESUME = "resume"
    DATA = "data"
    ERROR = "error"
    SESSION = "session"
    ALLOCATION = "allocation"  # capital moved between strategy sleeves
    BOT_RUN = "bot_run"  # an operator started or stopped a bot (application/trading/bot_runs.py)
    # The go-live gate's evidence (application/golive/): kept in the append-only trail, so a
    # certificate, and every drill and backup it rests on, can never be rewritten afterwards.
    VALIDATION = "validation"  # a bot's validation epoch started (data["event"] == "epoch_started")
    DRILL = "drill"  # a kill-switch or failover drill and its figures (data["drill"])
    BACKUP = "backup"  # a backup taken or verified by a restore (data["event"])
    GOLIVE = "golive"  # a check, certificate, approval, probation step or live gate decision (data["event"])
    ALERT_TEST = "alert_test"  # a test alert sent to the configured channels, and who received it
    ALERT = "alert"  # an alert fired, deduplicated, repeated, acknowledged or resolved (application/alerting/)


@attrs.frozen(kw_only=True)
class AuditEntry:
    ts: datetime  # domain time (simulated time in an accelerated session)
    kind: AuditKind
    message: str
    account: str = ""
    bot: str = ""
    symbol: str = ""
    client_order_id: str = ""
    data: Mapping[str, object] = attrs.field(factory=dict)  # JSON-serialisable figures
    severity: str = "info"  # info, warning, critical
    recorded_at: datetime | None = None  # wall clock, set by the store


@attrs.frozen(kw_only=True)
class SessionRecord:
    """One paper-trading run: accelerated sessions each get their own account id."""

    account: str
    mode: str
    seed: int | None
    trading_days: int | None
    started_at: datetime
    config: Mapping[str, object] = attrs.field(factory=dict)
    finished_at: datetime | None = None
    report: Mapping[str, object] | None = None


@attrs.frozen(kw_only=True)
class EquityPoint:
    ts: datetime
    equity: Decimal


@attrs.frozen(kw_only=True)
class AllocationRecord:
    """One strategy sleeve (a bot) at one rebalance of its account's capital.

    `transfer` is the cash moved into (+) or out of (-) the sleeve at `ts`: returns and
    performance subtract it, so a reallocation never looks like profit or loss."""

    account: str
    bot: str
    ts: datetime
    weight: Decimal  # the sleeve's target fraction of the account's capital from now on
    equity: Decimal  # the sleeve's equity at the rebalance, before the transfer
    transfer: Decimal
    reason: str
    metrics: Mapping[str, object] = attrs.field(factory=dict)  # the figures it was decided on (JSON)


@attrs.frozen(kw_only=True)
class VenueOrderState:
    """What the venue says about an order, when asked by client_order_id."""

    client_order_id: str
    venue_order_id: str
    status: OrderStatus
    filled_quantity: Decimal
    venue_status: str = ""  # the venue's own word for the status
    # False: a status the adapter does not know; `status` is then its cautious reading (still working).
    status_known: bool = True


@attrs.frozen(kw_only=True)
class Lease:
    """Who may trade a bot, until when (the store's clock)."""

    account: str
    bot: str
    holder: str  # "pid@host/instance"
    acquired_at: datetime
    expires_at: datetime


class InstanceRole(enum.Enum):
    LIVE = "live"  # holds the bots' leases (or runs them alone, on SQLite) and trades
    STANDBY = "standby"  # waits to take over when the leader dies
    STOPPED = "stopped"  # ended cleanly


@attrs.frozen(kw_only=True)
class InstanceBeat:
    """One running `quantshift paper` process, as `status` lists it."""

    instance: str  # "pid@host"
    account: str
    role: InstanceRole
    pid: int
    host: str
    bots: str  # comma-separated bot names
    beat_at: datetime  # wall clock
    interval_seconds: float


# --- the admin platform: people, their login sessions and invitations ------------------


class Role(enum.Enum):
    """Viewers read; operators also start/stop bots and halt/resume; admins also manage
    users, settings and invitations."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


@attrs.frozen(kw_only=True)
class User:
    user_id: str
    email: str  # stored lower-cased; unique
    role: Role
    password_hash: str  # argon2id, PHC string
    email_verified: bool
    created_at: datetime
    disabled: bool = False


@attrs.frozen(kw_only=True)
class LoginSession:
    """One login: a JWT names it (claim `sid`) and is honoured only while it is live."""

    session_id: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    address: str = ""  # the client address at login
    user_agent: str = ""
    revoked_at: datetime | None = None
    revoked_reason: str = ""

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


@attrs.frozen(kw_only=True)
class Invitation:
    invitation_id: str
    email: str
    role: Role
    invited_by: str  # user_id of the admin
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None = None
    revoked_at: datetime | None = None  # withdrawn by an admin before it was accepted


@attrs.frozen(kw_only=True)
class LoginAttempt:
    ts: datetime
    email: str  # as typed, lower-cased (it may name nobody)
    address: str
    succeeded: bool


@attrs.frozen(kw_only=True)
class VenueCharge:
    """A fee the venue charged apart from fills (Alpaca's FEE activities: SEC REG, FINRA TAF,
    CAT fees...). Venues report them late (Alpaca at the end of the day). Attributed to the
    order (its bot, its latest fill) when the venue names one; else an account charge
    (bot ""): recorded and shown, but no bot's cash is reduced, since no one order paid it."""

    charge_id: str  # the venue's id: recorded once
    amount: Decimal  # > 0 charged, < 0 refunded
    ts: datetime
    description: str
    client_order_id: str | None = None
    symbol: str = ""
    account: str = ""  # set when recorded
    bot: str = ""
    fill_id: str | None = None


@attrs.frozen(kw_only=True)
class LoginPairHistory:
    """What the login throttle needs of one (email, address) pair."""

    failures: int  # in the window, after the pair's latest success
    last_failure_at: datetime | None
