"""Who may do what on the admin platform, and the policies a login passes: the permission
matrix, the login throttle, the password rules and the e-mail address form.

All of it is data and pure functions: the store counts failures, the web layer asks.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType

import attrs


class Action(enum.StrEnum):
    READ = "read"  # dashboards, status, reports, audit
    BOTS_CONTROL = "bots.control"  # start / stop a bot
    HALT = "halt"  # halt / resume trading (the kill switch)
    USERS_MANAGE = "users.manage"
    SETTINGS_MANAGE = "settings.manage"
    INVITATIONS_MANAGE = "invitations.manage"


# Keyed by the role's value ("viewer", ...): Role lives in application/records.py, which the
# domain may not import, and the value is what the store and the token carry anyway.
# Only grants are listed, so anything not written here is denied; read-only so that nothing
# can grant itself a permission at run time.
PERMISSIONS: Mapping[str, frozenset[Action]] = MappingProxyType({
    "viewer": frozenset({Action.READ}),
    "operator": frozenset({Action.READ, Action.BOTS_CONTROL, Action.HALT}),
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
    """At most `max_failures_per_email` failed logins for one account and
    `max_failures_per_address` from one client address within `window`.

    Per account stops guessing one password; per address stops one client spraying many
    accounts (which the per-account limit never sees). The caller counts the failures in
    the last `window`; the policy only compares."""

    max_failures_per_email: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    max_failures_per_address: int = attrs.field(default=20, validator=attrs.validators.ge(1))
    window: timedelta = attrs.field(default=timedelta(minutes=15), validator=attrs.validators.gt(timedelta(0)))

    @property
    def window_seconds(self) -> int:
        # Rounded up: a Retry-After that is too short only invites another refused attempt.
        return math.ceil(self.window.total_seconds())

    def decide(self, failures_for_email: int, failures_for_address: int) -> ThrottleDecision:
        if failures_for_email < 0 or failures_for_address < 0:
            raise ValueError("failure counts cannot be negative")
        # Counts carry no timestamps, so the wait is the whole window: an upper bound that
        # is never too short (the oldest failure leaves the window by then at the latest).
        if failures_for_email >= self.max_failures_per_email:
            return ThrottleDecision(
                allowed=False,
                retry_after_seconds=self.window_seconds,
                reason=f"{failures_for_email} failures for this account in {self.window_seconds}s",
            )
        if failures_for_address >= self.max_failures_per_address:
            return ThrottleDecision(
                allowed=False,
                retry_after_seconds=self.window_seconds,
                reason=f"{failures_for_address} failures from this address in {self.window_seconds}s",
            )
        return ThrottleDecision(allowed=True, retry_after_seconds=0, reason="")


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
