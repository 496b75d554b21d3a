-- 0006: the admin platform's people: users, their login sessions, invitations and the
-- login attempts that rate-limit logins (application/ports.py UserRepository,
-- LoginSessionRepository, InvitationRepository, LoginAttemptRepository).
-- Times are UTC ISO 8601 text (fixed width: text order is time order); flags are 0/1.

CREATE TABLE users (
    user_id        TEXT NOT NULL PRIMARY KEY,
    email          TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    password_hash  TEXT NOT NULL,  -- argon2id PHC string, never the password
    email_verified INTEGER NOT NULL CHECK (email_verified IN (0, 1)),
    created_at     TEXT NOT NULL,
    disabled       INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
) STRICT;

-- One account per address, whatever its case. SQLite's lower() folds ASCII only, as
-- Postgres's does under COLLATE "C".
CREATE UNIQUE INDEX users_by_email ON users (lower(email));

CREATE TABLE login_sessions (
    session_id     TEXT NOT NULL PRIMARY KEY,  -- the JWT's `sid`
    user_id        TEXT NOT NULL REFERENCES users (user_id),
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    address        TEXT NOT NULL DEFAULT '',
    user_agent     TEXT NOT NULL DEFAULT '',
    revoked_at     TEXT,  -- NULL while not revoked
    revoked_reason TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX login_sessions_by_user ON login_sessions (user_id, revoked_at);

CREATE TABLE invitations (
    invitation_id TEXT NOT NULL PRIMARY KEY,
    email         TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    invited_by    TEXT NOT NULL,  -- user_id of the admin
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    accepted_at   TEXT  -- NULL until accepted; set once
) STRICT;

CREATE TABLE login_attempts (
    id        INTEGER PRIMARY KEY,
    ts        TEXT NOT NULL,
    email     TEXT NOT NULL,  -- as typed, lower-cased: it may name nobody
    address   TEXT NOT NULL,
    succeeded INTEGER NOT NULL CHECK (succeeded IN (0, 1))
) STRICT;

CREATE INDEX login_attempts_by_email_ts ON login_attempts (email, ts);
CREATE INDEX login_attempts_by_address_ts ON login_attempts (address, ts);
