-- 0003: running instances of `quantshift paper`, LIVE or STANDBY, for `quantshift status`.

CREATE TABLE instances (
    instance         text COLLATE "C" NOT NULL PRIMARY KEY,  -- "pid@host"
    account          text COLLATE "C" NOT NULL,
    role             text NOT NULL,  -- live, standby, stopped
    pid              integer NOT NULL,
    host             text NOT NULL,
    bots             text NOT NULL,
    beat_at          timestamptz NOT NULL,  -- wall clock of the instance
    interval_seconds double precision NOT NULL
);
