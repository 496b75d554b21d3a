"""The admin platform's people: users, login sessions, invitations and login attempts."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from adapters.sqlite.connection import Statements, where
from adapters.sqlite.converter import (
    datetime_to_text,
    optional_datetime_to_text,
    text_to_datetime,
    text_to_optional_datetime,
)
from application.records import Invitation, LoginAttempt, LoginPairHistory, LoginSession, Role, User

SESSION_LIMIT_REASON = "session limit: oldest revoked"

_USER_COLUMNS = "user_id, email, role, password_hash, email_verified, created_at, disabled"
_SESSION_COLUMNS = "session_id, user_id, created_at, expires_at, address, user_agent, revoked_at, revoked_reason"
_INVITATION_COLUMNS = "invitation_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at"


def checked_max_live(max_live: int) -> int:
    if isinstance(max_live, bool) or not isinstance(max_live, int) or max_live < 1:
        raise ValueError(f"max_live must be a positive integer, got {max_live!r}")
    return max_live


class SqliteUsers:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add(self, user: User) -> bool:
        u = user
        # DO NOTHING without a conflict target covers the primary key and the lower(email)
        # index alike, and writes nothing; a CHECK failure (a bug) still raises.
        changed = self._db.execute(
            f"INSERT INTO users ({_USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (u.user_id, u.email, u.role.value, u.password_hash, int(u.email_verified),
             datetime_to_text(u.created_at), int(u.disabled)),
        )
        return changed == 1

    def get(self, user_id: str) -> User | None:
        row = self._db.one(f"SELECT {_USER_COLUMNS} FROM users WHERE user_id = ?", (user_id,))
        return None if row is None else _user_from(row)

    def by_email(self, email: str) -> User | None:
        row = self._db.one(f"SELECT {_USER_COLUMNS} FROM users WHERE lower(email) = lower(?)", (email,))
        return None if row is None else _user_from(row)

    def save(self, user: User) -> None:
        u = user
        changed = self._db.execute(
            "UPDATE users SET role = ?, password_hash = ?, email_verified = ?, disabled = ? WHERE user_id = ?",
            (u.role.value, u.password_hash, int(u.email_verified), int(u.disabled), u.user_id),
        )
        if changed != 1:
            raise LookupError(f"no stored user {u.user_id} to save")

    def list(self) -> list[User]:
        rows = self._db.all(f"SELECT {_USER_COLUMNS} FROM users ORDER BY created_at, rowid")
        return [_user_from(row) for row in rows]


class SqliteLoginSessions:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def open(self, login: LoginSession, *, max_live: int, now: datetime) -> list[str]:
        # Atomic by construction: a writing unit of work holds SQLite's write lock from
        # BEGIN IMMEDIATE, so no other login of this user interleaves between the insert,
        # the count and the revocation.
        cap = checked_max_live(max_live)
        s = login
        if self._db.one("SELECT 1 FROM users WHERE user_id = ?", (s.user_id,)) is None:
            raise LookupError(f"no stored user {s.user_id} to open a session for")
        self._db.execute(
            f"INSERT INTO login_sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (s.session_id, s.user_id, datetime_to_text(s.created_at), datetime_to_text(s.expires_at), s.address,
             s.user_agent, optional_datetime_to_text(s.revoked_at), s.revoked_reason),
        )
        at = datetime_to_text(now)
        # Newest first; everything past the first `cap` is revoked, reported oldest first.
        rows = self._db.all(
            "SELECT session_id FROM login_sessions WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?"
            " ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?",
            (s.user_id, at, cap),
        )
        revoked = [row["session_id"] for row in reversed(rows)]
        self._db.execute_many(
            "UPDATE login_sessions SET revoked_at = ?, revoked_reason = ? WHERE session_id = ?",
            [(at, SESSION_LIMIT_REASON, session_id) for session_id in revoked],
        )
        return revoked

    def get(self, session_id: str) -> LoginSession | None:
        row = self._db.one(f"SELECT {_SESSION_COLUMNS} FROM login_sessions WHERE session_id = ?", (session_id,))
        return None if row is None else _session_from(row)

    def revoke(self, session_id: str, *, at: datetime, reason: str) -> bool:
        when = datetime_to_text(at)
        changed = self._db.execute(
            "UPDATE login_sessions SET revoked_at = ?, revoked_reason = ?"
            " WHERE session_id = ? AND revoked_at IS NULL AND expires_at > ?",
            (when, reason, session_id, when),
        )
        return changed == 1

    def revoke_all(self, user_id: str, *, at: datetime, reason: str) -> int:
        when = datetime_to_text(at)
        return self._db.execute(
            "UPDATE login_sessions SET revoked_at = ?, revoked_reason = ?"
            " WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?",
            (when, reason, user_id, when),
        )

    def live(self, user_id: str, *, now: datetime) -> list[LoginSession]:
        rows = self._db.all(
            f"SELECT {_SESSION_COLUMNS} FROM login_sessions"
            " WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at, rowid",
            (user_id, datetime_to_text(now)),
        )
        return [_session_from(row) for row in rows]


class SqliteInvitations:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add(self, invitation: Invitation) -> None:
        i = invitation
        self._db.execute(
            f"INSERT INTO invitations ({_INVITATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (i.invitation_id, i.email, i.role.value, i.invited_by, datetime_to_text(i.created_at),
             datetime_to_text(i.expires_at), optional_datetime_to_text(i.accepted_at),
             optional_datetime_to_text(i.revoked_at)),
        )

    def get(self, invitation_id: str) -> Invitation | None:
        row = self._db.one(f"SELECT {_INVITATION_COLUMNS} FROM invitations WHERE invitation_id = ?", (invitation_id,))
        return None if row is None else _invitation_from(row)

    def accept(self, invitation_id: str, *, at: datetime) -> bool:
        # One conditional UPDATE: of two racing accepts, the second finds accepted_at set.
        changed = self._db.execute(
            "UPDATE invitations SET accepted_at = ? WHERE invitation_id = ? AND accepted_at IS NULL AND revoked_at IS NULL",
            (datetime_to_text(at), invitation_id),
        )
        return changed == 1

    def revoke(self, invitation_id: str, *, at: datetime) -> bool:
        changed = self._db.execute(
            "UPDATE invitations SET revoked_at = ? WHERE invitation_id = ? AND accepted_at IS NULL AND revoked_at IS NULL",
            (datetime_to_text(at), invitation_id),
        )
        return changed == 1

    def list(self) -> list[Invitation]:
        rows = self._db.all(f"SELECT {_INVITATION_COLUMNS} FROM invitations ORDER BY created_at DESC, rowid DESC")
        return [_invitation_from(row) for row in rows]


class SqliteLoginAttempts:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add(self, attempt: LoginAttempt) -> None:
        a = attempt
        self._db.execute(
            "INSERT INTO login_attempts (ts, email, address, succeeded) VALUES (?, ?, ?, ?)",
            (datetime_to_text(a.ts), a.email, a.address, int(a.succeeded)),
        )

    def failures_since(self, *, since: datetime, email: str | None = None, address: str | None = None) -> int:
        clause, params = where([("succeeded = ?", 0), ("ts >= ?", datetime_to_text(since)),
                                ("email = ?", email), ("address = ?", address)])
        row = self._db.one(f"SELECT COUNT(*) AS n FROM login_attempts{clause}", params)
        assert row is not None
        return row["n"]

    def lock_pair(self, *, email: str, address: str) -> None:
        # Nothing to take: a writing unit of work holds SQLite's one write lock from BEGIN
        # IMMEDIATE, so no other login interleaves between the count and the insert.
        return None

    def pair_history(self, *, email: str, address: str, since: datetime) -> LoginPairHistory:
        # After the pair's latest success by id (ids grow in insert order; ts may tie).
        row = self._db.one(
            "SELECT COUNT(*) AS n, MAX(ts) AS last FROM login_attempts"
            " WHERE email = ? AND address = ? AND succeeded = 0 AND ts >= ? AND id > COALESCE("
            "(SELECT MAX(id) FROM login_attempts WHERE email = ? AND address = ? AND succeeded = 1), 0)",
            (email, address, datetime_to_text(since), email, address),
        )
        assert row is not None
        return LoginPairHistory(failures=row["n"], last_failure_at=text_to_optional_datetime(row["last"]))

    def begin(self, attempt: LoginAttempt) -> int:
        a = attempt
        row = self._db.one(
            "INSERT INTO login_attempts (ts, email, address, succeeded) VALUES (?, ?, ?, 0) RETURNING id",
            (datetime_to_text(a.ts), a.email, a.address),
        )
        assert row is not None
        return row["id"]

    def succeed(self, attempt_id: int) -> None:
        if self._db.execute("UPDATE login_attempts SET succeeded = 1 WHERE id = ?", (attempt_id,)) != 1:
            raise LookupError(f"no login attempt {attempt_id}")


def _user_from(row: sqlite3.Row) -> User:
    return User(
        user_id=row["user_id"],
        email=row["email"],
        role=Role(row["role"]),
        password_hash=row["password_hash"],
        email_verified=bool(row["email_verified"]),
        created_at=text_to_datetime(row["created_at"]),
        disabled=bool(row["disabled"]),
    )


def _session_from(row: sqlite3.Row) -> LoginSession:
    return LoginSession(
        session_id=row["session_id"],
        user_id=row["user_id"],
        created_at=text_to_datetime(row["created_at"]),
        expires_at=text_to_datetime(row["expires_at"]),
        address=row["address"],
        user_agent=row["user_agent"],
        revoked_at=text_to_optional_datetime(row["revoked_at"]),
        revoked_reason=row["revoked_reason"],
    )


def _invitation_from(row: sqlite3.Row) -> Invitation:
    return Invitation(
        invitation_id=row["invitation_id"],
        email=row["email"],
        role=Role(row["role"]),
        invited_by=row["invited_by"],
        created_at=text_to_datetime(row["created_at"]),
        expires_at=text_to_datetime(row["expires_at"]),
        accepted_at=text_to_optional_datetime(row["accepted_at"]),
        revoked_at=text_to_optional_datetime(row["revoked_at"]),
    )
