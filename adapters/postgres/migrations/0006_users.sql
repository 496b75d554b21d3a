-- 0006: the admin platform's people: users, their login sessions, invitations and the
-- login attempts that rate-limit logins (the same tables as adapters/sqlite/migrations/0006).
-- seq / id identity columns break ties in insertion order, as SQLite's rowid does.

CREATE TABLE users (
    seq            bigint GENERATED ALWAYS AS IDENTITY,
    user_id        text COLLATE "C" PRIMARY KEY,
    -- COLLATE "C": lower() folds ASCII only, as SQLite's lower() does, so both engines
    -- agree on which addresses are the same.
    email          text COLLATE "C" NOT NULL,
    role           text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    password_hash  text NOT NULL,  -- argon2id PHC string, never the password
    email_verified boolean NOT NULL,
    created_at     timestamptz NOT NULL,
    disabled       boolean NOT NULL DEFAULT false
);

-- One account per address, whatever its case.
CREATE UNIQUE INDEX users_by_email ON users (lower(email));

CREATE TABLE login_sessions (
    seq            bigint GENERATED ALWAYS AS IDENTITY,
    session_id     text COLLATE "C" PRIMARY KEY,  -- the JWT's `sid`
    user_id        text COLLATE "C" NOT NULL REFERENCES users (user_id),
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    address        text NOT NULL DEFAULT '',
    user_agent     text NOT NULL DEFAULT '',
    revoked_at     timestamptz,  -- NULL while not revoked
    revoked_reason text NOT NULL DEFAULT ''
);

CREATE INDEX login_sessions_by_user ON login_sessions (user_id, revoked_at);

CREATE TABLE invitations (
    seq           bigint GENERATED ALWAYS AS IDENTITY,
    invitation_id text COLLATE "C" PRIMARY KEY,
    email         text COLLATE "C" NOT NULL,
    role          text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    invited_by    text COLLATE "C" NOT NULL,  -- user_id of the admin
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    accepted_at   timestamptz  -- NULL until accepted; set once
);

CREATE TABLE login_attempts (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts        timestamptz NOT NULL,
    email     text COLLATE "C" NOT NULL,  -- as typed, lower-cased: it may name nobody
    address   text COLLATE "C" NOT NULL,
    succeeded boolean NOT NULL
);

CREATE INDEX login_attempts_by_email_ts ON login_attempts (email, ts);
CREATE INDEX login_attempts_by_address_ts ON login_attempts (address, ts);
