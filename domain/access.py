"""Who may do what on the admin platform, and the policies a login passes: the permission
matrix, the login throttle, the password rules and the e-mail address form.

All of it is data and pure functions: the store counts failures, the web layer asks.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType

import attrs


class Action(enum.StrEnum):
    READ = "read"  # dashboards, status, reports, audit
    BOTS_CONTROL = "bots.control"  # start / stop a bot
    HALT = "halt"  # halt / resume trading (the kill switch)
    USERS_MANAGE = "users.manage"
    SETTINGS_MANAGE = "settings.manage"
    INVITATIONS_MANAGE = "invitations.manage"
    GOLIVE_CHECK = "golive.check"  # run the go-live checklist and the drills it rests on (kill switch)
    GOLIVE_APPROVE = "golive.approve"  # sign off a go-live certificate: real money follows
    ALERTS_ACK = "alerts.ack"  # acknowledge an alert: its repeats stop (someone is on it)


# Keyed by the role's value ("viewer", ...): Role lives in application/records.py, which the
# domain may not import, and the value is what the store and the token carry anyway.
# Only grants are listed, so anything not written here is denied; read-only so that nothing
# can grant itself a permission at run time.
PERMISSIONS: Mapping[str, frozenset[Action]] = MappingProxyType({
    "viewer": frozenset({Action.READ}),
    "operator": frozenset({Action.READ, Action.BOTS_CONTROL, Action.HALT, Action.GOLIVE_CHECK, Action.ALERTS_ACK}),
    "admin": frozenset(Action),
})


def allowed(role: enum.Enum | str, action: Action | str) -> bool:
    """Whether `role` (a Role or its value) may perform `action`.

    An unknown role or action raises ValueError rather than answering False: a typo in a
    controller should fail its first test, not quietly lock everybody out (or in)."""
    name = role.value if isinstance(role, enum.Enum) else role
    if name not in PERMISSIONS:
        raise ValueError(f"unknown role {name!r}")
    try:
        wanted = Action(action)
    except ValueError:
        raise ValueError(f"unknown action {action!r}") from None
    return wanted in PERMISSIONS[name]


# --- login throttle ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ThrottleDecision:
    allowed: bool
    retry_after_seconds: int  # 0 when allowed
    reason: str  # for the log only; the person is always told the same generic message


@attrs.frozen(kw_only=True)
class LoginThrottle:
    """Failed logins slow down; they never lock anyone out. Counted per (account, client
    address) pair, so a guesser elsewhere neither refuses the right password from the
    operator's address nor, behind one proxy address, other people's logins.

    The first `free_failures` failures of a pair cost nothing; after that each attempt waits
    `first_delay`, doubling with every further failure up to `max_delay`, counted from the
    pair's last attempt. A success for the pair, or `window` without failures, starts over.
    At the default 60 s ceiling a guesser gets at most ~1,440 tries a day per pair (against
    argon2id and 12+ character passwords), while the owner waits a minute at worst."""

    free_failures: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    first_delay: timedelta = attrs.field(default=timedelta(seconds=1), validator=attrs.validators.gt(timedelta(0)))
    max_delay: timedelta = attrs.field(default=timedelta(seconds=60))
    window: timedelta = attrs.field(default=timedelta(minutes=15), validator=attrs.validators.gt(timedelta(0)))

    @max_delay.validator
    def _max_delay_covers_first(self, _: attrs.Attribute, value: timedelta) -> None:
        if value < self.first_delay:
            raise ValueError("max_delay must be at least first_delay")

    def delay_after(self, failures: int) -> timedelta:
        """The wait before the next attempt of a pair with `failures` recent failures."""
        if failures < 0:
            raise ValueError("failure counts cannot be negative")
        extra = failures - self.free_failures
        if extra < 0:
            return timedelta(0)
        # min() on the exponent first: 2**extra of a long attack must not grow without bound.
        return min(self.first_delay * 2 ** min(extra, 32), self.max_delay)

    def decide(self, *, failures: int, last_attempt_at: datetime | None, now: datetime) -> ThrottleDecision:
        """Whether a pair with `failures` recent failures, the last attempt at `last_attempt_at`,
        may try again at `now`."""
        delay = self.delay_after(failures)
        if delay <= timedelta(0) or last_attempt_at is None:
            return ThrottleDecision(allowed=True, retry_after_seconds=0, reason="")
        wait = last_attempt_at + delay - now
        if wait <= timedelta(0):
            return ThrottleDecision(allowed=True, retry_after_seconds=0, reason="")
        # Rounded up: a Retry-After that is too short only invites another refused attempt.
        return ThrottleDecision(allowed=False, retry_after_seconds=max(1, math.ceil(wait.total_seconds())),
                                reason=f"{failures} failures for this account from this address; "
                                       f"next attempt in {delay.total_seconds():g} s")


# --- passwords -------------------------------------------------------------------------------

MIN_PASSWORD_LENGTH = 12  # NIST SP 800-63B asks for 8; 12 is the common stricter floor
MAX_PASSWORD_LENGTH = 256  # generous for pass phrases, yet bounds the work one request can ask of the hasher


def check_password(password: str, *, email: str = "") -> list[str]:
    """The problems with `password` as a new password, in words a person can act on;
    empty when it is acceptable. Length rules count characters, not bytes."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"must be at most {MAX_PASSWORD_LENGTH} characters long")
    if password and len(set(password)) == 1:
        problems.append("must not be one character repeated")
    if email and password.strip().lower() == email.strip().lower():
        problems.append("must not be the e-mail address")
    return problems


# --- e-mail addresses ------------------------------------------------------------------------

MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a forward path


def normalise_email(email: str) -> str:
    """`email` stripped and lower-cased, after a sanity check (not full RFC 5322: the
    invitation mail is the real proof that the address works).

    Lower-casing the local part is a choice: strictly it is case-sensitive, but no mail
    provider in use treats it so, and one person must not get two accounts by case."""
    address = email.strip().lower()
    if not address:
        raise ValueError("e-mail address is empty")
    if len(address) > MAX_EMAIL_LENGTH:
        raise ValueError(f"e-mail address is longer than {MAX_EMAIL_LENGTH} characters")
    if any(c.isspace() or not c.isprintable() for c in address):
        raise ValueError("e-mail address contains spaces or control characters")
    if address.count("@") != 1:
        raise ValueError("e-mail address must contain exactly one '@'")
    local, domain = address.split("@")
    if not local:
        raise ValueError("e-mail address has nothing before the '@'")
    labels = domain.split(".")
    if len(labels) < 2 or not all(labels):
        raise ValueError("e-mail address needs a domain like example.com after the '@'")
    return address
