-- 0007: running the platform: run-time settings (notification settings, ...), what an
-- operator asked of each bot (running or stopped), the dashboard's daily snapshots and the
-- venues' API health per minute (application/settings_ports.py, application/operations_ports.py).
-- Times are UTC ISO 8601 text (fixed width: text order is time order).

CREATE TABLE settings (
    key        TEXT NOT NULL PRIMARY KEY,
    value      TEXT NOT NULL,  -- one JSON document
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE bot_runs (
    account    TEXT NOT NULL,
    bot        TEXT NOT NULL,
    desired    TEXT NOT NULL CHECK (desired IN ('running', 'stopped')),
    actor      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (account, bot)
) STRICT;

CREATE TABLE daily_snapshots (
    day      TEXT NOT NULL,  -- YYYY-MM-DD, UTC
    scope    TEXT NOT NULL,  -- 'all' or 'bot:<account>/<bot>'
    taken_at TEXT NOT NULL,
    figures  TEXT NOT NULL,  -- JSON
    PRIMARY KEY (scope, day)
) STRICT;

CREATE TABLE venue_health (
    venue           TEXT NOT NULL,
    operation       TEXT NOT NULL,
    minute          TEXT NOT NULL,
    calls           INTEGER NOT NULL CHECK (calls >= 0),
    errors          INTEGER NOT NULL CHECK (errors >= 0 AND errors <= calls),
    latency_sum_ms  REAL NOT NULL,
    latency_max_ms  REAL NOT NULL,
    histogram       TEXT NOT NULL,  -- JSON list of counts per LATENCY_BOUNDS_MS bucket
    last_success_at TEXT,
    last_error_at   TEXT,
    last_error      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (venue, operation, minute)
) STRICT;

CREATE INDEX venue_health_by_minute ON venue_health (minute);

-- An admin can withdraw an invitation before it is accepted: its link then stops working.
ALTER TABLE invitations ADD COLUMN revoked_at TEXT;  -- NULL unless revoked; set once
