"""Ports of accounts and the admin platform's security: users, login sessions, invitations,
login attempts, run-time settings (notification settings, ...), the mailer, and password
hashes, session tokens and invitation links.

Adapters (adapters/security/) implement the security ports; the use cases never see argon2 or JWT.
Every verification failure is an `AuthenticationError` whose message is a short reason for
the log and never the credential itself. Settings keys hold one JSON-able document each.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import attrs

from application.records import Invitation, LoginAttempt, LoginPairHistory, LoginSession, Role, User


@attrs.frozen(kw_only=True)
class TokenClaims:
    """What a verified session token says. The token alone is not enough to act on: the
    caller still checks that the LoginSession `session_id` is live and the user enabled,
    so a logout or a disabled account takes effect before the token expires."""

    user_id: str
    session_id: str
    role: Role
    issued_at: datetime  # UTC
    expires_at: datetime  # UTC


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str:
        """A self-describing hash (PHC string: algorithm, parameters, salt) of `password`."""
        ...

    def verify(self, password: str, hashed: str) -> bool:
        """Whether `password` matches `hashed`. False (never an exception) for a wrong
        password or an unreadable hash, so that every failure takes the same path."""
        ...

    def needs_rehash(self, hashed: str) -> bool:
        """Whether `hashed` was made with other parameters than today's: after a successful
        login the caller re-hashes the password it just verified and stores the new hash."""
        ...


class TokenService(Protocol):
    def issue(self, *, user_id: str, session_id: str, role: Role, now: datetime) -> str:
        """A signed, short-lived token naming the user, the login session and the role."""
        ...

    def verify(self, token: str, *, now: datetime) -> TokenClaims:
        """The claims of `token`, if its signature, issuer, audience and times hold at `now`.

        Raises AuthenticationError otherwise."""
        ...


class InvitationSigner(Protocol):
    def sign(self, invitation_id: str, expires_at: datetime) -> str:
        """A URL-safe token for the invitation link, valid until `expires_at`."""
        ...

    def verify(self, token: str, *, now: datetime) -> str:
        """The invitation_id that `token` names.

        Raises AuthenticationError("invitation expired") or ("invitation forged") otherwise:
        the caller still checks the Invitation itself (not yet accepted, not revoked)."""
        ...


class Mailer(Protocol):
    """Sends one email (invitations, alert emails). Raises TransientError when the server
    cannot take it now; the caller decides whether to retry."""

    def send(self, *, to: str, subject: str, text: str, html: str | None = None) -> None: ...


class UserRepository(Protocol):
    def add(self, user: User) -> bool:
        """False when the email (case-insensitive) or the id is taken; nothing is written then."""
        ...

    def get(self, user_id: str) -> User | None: ...

    def by_email(self, email: str) -> User | None:
        """Case-insensitive."""
        ...

    def save(self, user: User) -> None:
        """Update an existing user (role, password hash, verified, disabled)."""
        ...

    def list(self) -> list[User]:
        """Oldest first."""
        ...


class LoginSessionRepository(Protocol):
    def open(self, login: LoginSession, *, max_live: int, now: datetime) -> list[str]:
        """Add a session and revoke the user's oldest live ones beyond `max_live`, atomically:
        concurrent logins of one user never leave more than `max_live` live sessions (the
        user's row is locked for the transaction). Returns the ids revoked."""
        ...

    def get(self, session_id: str) -> LoginSession | None: ...

    def revoke(self, session_id: str, *, at: datetime, reason: str) -> bool:
        """False when it was not live."""
        ...

    def revoke_all(self, user_id: str, *, at: datetime, reason: str) -> int: ...

    def live(self, user_id: str, *, now: datetime) -> list[LoginSession]:
        """Oldest first."""
        ...


class InvitationRepository(Protocol):
    def add(self, invitation: Invitation) -> None: ...

    def get(self, invitation_id: str) -> Invitation | None: ...

    def accept(self, invitation_id: str, *, at: datetime) -> bool:
        """Mark accepted once: False when it was accepted already (single use, even under races)."""
        ...

    def revoke(self, invitation_id: str, *, at: datetime) -> bool:
        """Withdraw a pending invitation (neither accepted nor revoked): True if this call did."""
        ...

    def list(self) -> list[Invitation]:
        """Newest first."""
        ...


class LoginAttemptRepository(Protocol):
    def add(self, attempt: LoginAttempt) -> None: ...

    def failures_since(self, *, since: datetime, email: str | None = None, address: str | None = None) -> int:
        """Failed attempts at or after `since` for this email and/or address."""
        ...

    def lock_pair(self, *, email: str, address: str) -> None:
        """Hold this (email, address) pair until the unit of work ends: concurrent logins of
        one pair are counted and admitted one after the other, never on a stale count."""
        ...

    def pair_history(self, *, email: str, address: str, since: datetime) -> LoginPairHistory:
        """The pair's failures at or after `since` and after its latest success, and when
        the latest of them was."""
        ...

    def begin(self, attempt: LoginAttempt) -> int:
        """Add an attempt that counts as failed until `succeed(id)`: an attempt whose outcome
        is never written (a crash, a slow verify) counts against the pair. Returns its id."""
        ...

    def succeed(self, attempt_id: int) -> None:
        """Mark a begun attempt succeeded."""
        ...


class SettingsRepository(Protocol):
    def get(self, key: str) -> dict[str, Any] | None:
        """The document stored under `key`, or None when nothing is stored yet."""
        ...

    def put(self, key: str, value: dict[str, Any], *, at: datetime) -> None:
        """Store `value` under `key` (replacing what was there); `at` is when it changed (UTC)."""
        ...
