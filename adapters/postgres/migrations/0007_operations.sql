-- 0007: running the platform: run-time settings (notification settings, ...), what an
-- operator asked of each bot (running or stopped), the dashboard's daily snapshots and the
-- venues' API health per minute (application/settings_ports.py, application/operations_ports.py).

CREATE TABLE settings (
    key        text COLLATE "C" NOT NULL PRIMARY KEY,
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE bot_runs (
    account    text COLLATE "C" NOT NULL,
    bot        text COLLATE "C" NOT NULL,
    desired    text NOT NULL CHECK (desired IN ('running', 'stopped')),
    actor      text NOT NULL,
    reason     text NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (account, bot)
);

CREATE TABLE daily_snapshots (
    day      date NOT NULL,  -- UTC
    scope    text COLLATE "C" NOT NULL,  -- 'all' or 'bot:<account>/<bot>'
    taken_at timestamptz NOT NULL,
    figures  jsonb NOT NULL,
    PRIMARY KEY (scope, day)
);

CREATE TABLE venue_health (
    venue           text COLLATE "C" NOT NULL,
    operation       text COLLATE "C" NOT NULL,
    minute          timestamptz NOT NULL,
    calls           bigint NOT NULL CHECK (calls >= 0),
    errors          bigint NOT NULL CHECK (errors >= 0 AND errors <= calls),
    latency_sum_ms  double precision NOT NULL,
    latency_max_ms  double precision NOT NULL,
    histogram       bigint[] NOT NULL,  -- counts per LATENCY_BOUNDS_MS bucket
    last_success_at timestamptz,
    last_error_at   timestamptz,
    last_error      text NOT NULL DEFAULT '',
    PRIMARY KEY (venue, operation, minute)
);

CREATE INDEX venue_health_by_minute ON venue_health (minute);

-- An admin can withdraw an invitation before it is accepted: its link then stops working.
ALTER TABLE invitations ADD COLUMN revoked_at timestamptz;  -- NULL unless revoked; set once
