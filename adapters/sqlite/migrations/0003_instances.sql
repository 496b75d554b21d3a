-- 0003: running instances of `quantshift paper`, LIVE or STANDBY, for `quantshift status`.

CREATE TABLE instances (
    instance         TEXT NOT NULL PRIMARY KEY,  -- "pid@host"
    account          TEXT NOT NULL,
    role             TEXT NOT NULL,  -- live, standby, stopped
    pid              INTEGER NOT NULL,
    host             TEXT NOT NULL,
    bots             TEXT NOT NULL,
    beat_at          TEXT NOT NULL,  -- wall clock, UTC ISO 8601
    interval_seconds REAL NOT NULL
) STRICT;
