"""The admin platform's people: users, login sessions, invitations and login attempts."""

from __future__ import annotations

from datetime import datetime

from adapters.postgres.connection import Row, Statements, where
from adapters.postgres.converter import checked_datetime, optional_datetime, optional_utc, utc
from application.records import Invitation, LoginAttempt, LoginPairHistory, LoginSession, Role, User

SESSION_LIMIT_REASON = "session limit: oldest revoked"

_USER_COLUMNS = "user_id, email, role, password_hash, email_verified, created_at, disabled"
_SESSION_COLUMNS = "session_id, user_id, created_at, expires_at, address, user_agent, revoked_at, revoked_reason"
_INVITATION_COLUMNS = "invitation_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at"


def checked_max_live(max_live: int) -> int:
    if isinstance(max_live, bool) or not isinstance(max_live, int) or max_live < 1:
        raise ValueError(f"max_live must be a positive integer, got {max_live!r}")
    return max_live


class PostgresUsers:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add(self, user: User) -> bool:
        u = user
        # DO NOTHING without a conflict target covers the primary key and the lower(email)
        # index alike and writes nothing, and the transaction stays usable (a caught
        # unique violation would abort it); a CHECK failure (a bug) still raises. A racing
        # insert of the same address waits for the other transaction, then does nothing.
        changed = self._db.execute(
            f"INSERT INTO users ({_USER_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (u.user_id, u.email, u.role.value, u.password_hash, u.email_verified,
             checked_datetime(u.created_at), u.disabled),
        )
        return changed == 1

    def get(self, user_id: str) -> User | None:
        row = self._db.one(f"SELECT {_USER_COLUMNS} FROM users WHERE user_id = %s", (user_id,))
        return None if row is None else _user_from(row)

    def by_email(self, email: str) -> User | None:
        row = self._db.one(f"SELECT {_USER_COLUMNS} FROM users WHERE lower(email) = lower(%s)", (email,))
        return None if row is None else _user_from(row)

    def save(self, user: User) -> None:
        u = user
        changed = self._db.execute(
            "UPDATE users SET role = %s, password_hash = %s, email_verified = %s, disabled = %s WHERE user_id = %s",
            (u.role.value, u.password_hash, u.email_verified, u.disabled, u.user_id),
        )
        if changed != 1:
            raise LookupError(f"no stored user {u.user_id} to save")

    def list(self) -> list[User]:
        rows = self._db.all(f"SELECT {_USER_COLUMNS} FROM users ORDER BY created_at, seq")
        return [_user_from(row) for row in rows]


class PostgresLoginSessions:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def open(self, login: LoginSession, *, max_live: int, now: datetime) -> list[str]:
        cap = checked_max_live(max_live)
        s = login
        # Concurrent logins of one user from other connections serialise on the user's row,
        # held to the end of the unit of work's transaction: under READ COMMITTED each
        # statement after the lock sees the sessions the previous holder committed, so the
        # count below is never stale. (The lock also tells a missing user apart.)
        if self._db.one("SELECT 1 FROM users WHERE user_id = %s FOR UPDATE", (s.user_id,)) is None:
            raise LookupError(f"no stored user {s.user_id} to open a session for")
        self._db.execute(
            f"INSERT INTO login_sessions ({_SESSION_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (s.session_id, s.user_id, checked_datetime(s.created_at), checked_datetime(s.expires_at), s.address,
             s.user_agent, optional_datetime(s.revoked_at), s.revoked_reason),
        )
        at = checked_datetime(now)
        # Newest first; everything past the first `cap` is revoked, reported oldest first.
        rows = self._db.all(
            "SELECT session_id FROM login_sessions WHERE user_id = %s AND revoked_at IS NULL AND expires_at > %s"
            " ORDER BY created_at DESC, seq DESC OFFSET %s",
            (s.user_id, at, cap),
        )
        revoked = [row["session_id"] for row in reversed(rows)]
        if revoked:
            self._db.execute(
                "UPDATE login_sessions SET revoked_at = %s, revoked_reason = %s WHERE session_id = ANY(%s)",
                (at, SESSION_LIMIT_REASON, revoked),
            )
        return revoked

    def get(self, session_id: str) -> LoginSession | None:
        row = self._db.one(f"SELECT {_SESSION_COLUMNS} FROM login_sessions WHERE session_id = %s", (session_id,))
        return None if row is None else _session_from(row)

    def revoke(self, session_id: str, *, at: datetime, reason: str) -> bool:
        when = checked_datetime(at)
        changed = self._db.execute(
            "UPDATE login_sessions SET revoked_at = %s, revoked_reason = %s"
            " WHERE session_id = %s AND revoked_at IS NULL AND expires_at > %s",
            (when, reason, session_id, when),
        )
        return changed == 1

    def revoke_all(self, user_id: str, *, at: datetime, reason: str) -> int:
        when = checked_datetime(at)
        return self._db.execute(
            "UPDATE login_sessions SET revoked_at = %s, revoked_reason = %s"
            " WHERE user_id = %s AND revoked_at IS NULL AND expires_at > %s",
            (when, reason, user_id, when),
        )

    def live(self, user_id: str, *, now: datetime) -> list[LoginSession]:
        rows = self._db.all(
            f"SELECT {_SESSION_COLUMNS} FROM login_sessions"
            " WHERE user_id = %s AND revoked_at IS NULL AND expires_at > %s ORDER BY created_at, seq",
            (user_id, checked_datetime(now)),
        )
        return [_session_from(row) for row in rows]


class PostgresInvitations:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add(self, invitation: Invitation) -> None:
        i = invitation
        self._db.execute(
            f"INSERT INTO invitations ({_INVITATION_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (i.invitation_id, i.email, i.role.value, i.invited_by, checked_datetime(i.created_at),
             checked_datetime(i.expires_at), optional_datetime(i.accepted_at), optional_datetime(i.revoked_at)),
        )

    def get(self, invitation_id: str) -> Invitation | None:
        row = self._db.one(f"SELECT {_INVITATION_COLUMNS} FROM invitations WHERE invitation_id = %s", (invitation_id,))
        return None if row is None else _invitation_from(row)

    def accept(self, invitation_id: str, *, at: datetime) -> bool:
        # One conditional UPDATE: of two racing accepts, the second waits for the first's
        # row lock, re-checks accepted_at against the committed row and changes nothing.
        changed = self._db.execute(
            "UPDATE invitations SET accepted_at = %s WHERE invitation_id = %s AND accepted_at IS NULL AND revoked_at IS NULL",
            (checked_datetime(at), invitation_id),
        )
        return changed == 1

    def revoke(self, invitation_id: str, *, at: datetime) -> bool:
        # Conditional, like accept: a revoke racing an accept waits for its row lock, and
        # exactly one of them changes the row.
        changed = self._db.execute(
            "UPDATE invitations SET revoked_at = %s"
            " WHERE invitation_id = %s AND accepted_at IS NULL AND revoked_at IS NULL",
            (checked_datetime(at), invitation_id),
        )
        return changed == 1

    def list(self) -> list[Invitation]:
        rows = self._db.all(f"SELECT {_INVITATION_COLUMNS} FROM invitations ORDER BY created_at DESC, seq DESC")
        return [_invitation_from(row) for row in rows]


class PostgresLoginAttempts:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add(self, attempt: LoginAttempt) -> None:
        a = attempt
        self._db.execute(
            "INSERT INTO login_attempts (ts, email, address, succeeded) VALUES (%s, %s, %s, %s)",
            (checked_datetime(a.ts), a.email, a.address, a.succeeded),
        )

    def failures_since(self, *, since: datetime, email: str | None = None, address: str | None = None) -> int:
        clause, params = where([("succeeded = %s", False), ("ts >= %s", checked_datetime(since)),
                                ("email = %s", email), ("address = %s", address)])
        row = self._db.one(f"SELECT COUNT(*) AS n FROM login_attempts{clause}", params)
        assert row is not None
        return row["n"]

    def lock_pair(self, *, email: str, address: str) -> None:
        # READ COMMITTED lets two transactions count the same failures and both insert (10 of
        # 100 concurrent wrong logins were evaluated against a limit of 5). A transaction-scoped
        # advisory lock on the pair serialises them; it ends with the unit of work. A hash
        # collision of two pairs only makes them wait for each other, never miscount.
        self._db.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"login\n{email}\n{address}",))

    def pair_history(self, *, email: str, address: str, since: datetime) -> LoginPairHistory:
        # After the pair's latest success by id: under the pair lock ids grow in insert order.
        row = self._db.one(
            "SELECT COUNT(*) AS n, MAX(ts) AS last FROM login_attempts"
            " WHERE email = %s AND address = %s AND NOT succeeded AND ts >= %s AND id > COALESCE("
            "(SELECT MAX(id) FROM login_attempts WHERE email = %s AND address = %s AND succeeded), 0)",
            (email, address, checked_datetime(since), email, address),
        )
        assert row is not None
        return LoginPairHistory(failures=row["n"], last_failure_at=optional_utc(row["last"]))

    def begin(self, attempt: LoginAttempt) -> int:
        a = attempt
        row = self._db.one(
            "INSERT INTO login_attempts (ts, email, address, succeeded) VALUES (%s, %s, %s, false) RETURNING id",
            (checked_datetime(a.ts), a.email, a.address),
        )
        assert row is not None
        return row["id"]

    def succeed(self, attempt_id: int) -> None:
        if self._db.execute("UPDATE login_attempts SET succeeded = true WHERE id = %s", (attempt_id,)) != 1:
            raise LookupError(f"no login attempt {attempt_id}")


def _user_from(row: Row) -> User:
    return User(
        user_id=row["user_id"],
        email=row["email"],
        role=Role(row["role"]),
        password_hash=row["password_hash"],
        email_verified=bool(row["email_verified"]),
        created_at=utc(row["created_at"]),
        disabled=bool(row["disabled"]),
    )


def _session_from(row: Row) -> LoginSession:
    return LoginSession(
        session_id=row["session_id"],
        user_id=row["user_id"],
        created_at=utc(row["created_at"]),
        expires_at=utc(row["expires_at"]),
        address=row["address"],
        user_agent=row["user_agent"],
        revoked_at=optional_utc(row["revoked_at"]),
        revoked_reason=row["revoked_reason"],
    )


def _invitation_from(row: Row) -> Invitation:
    return Invitation(
        invitation_id=row["invitation_id"],
        email=row["email"],
        role=Role(row["role"]),
        invited_by=row["invited_by"],
        created_at=utc(row["created_at"]),
        expires_at=utc(row["expires_at"]),
        accepted_at=optional_utc(row["accepted_at"]),
        revoked_at=optional_utc(row["revoked_at"]),
    )
