"""Ports of the admin platform's security: password hashes, session tokens, invitation links.

Adapters (adapters/security/) implement these; the use cases never see argon2 or JWT.
Every verification failure is an `AuthenticationError` whose message is a short reason for
the log and never the credential itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import attrs

from application.records import Role


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
