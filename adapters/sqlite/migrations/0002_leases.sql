-- 0002: bot leases, the trading right of one instance at a time (application/ports.py LeaseRepository).
--
-- One row per (account, bot). A row whose expires_at is not after the store's clock is a
-- free lease: the next acquire() takes it over. Times are UTC ISO 8601 text like 0001's.

CREATE TABLE leases (
    account     TEXT NOT NULL,
    bot         TEXT NOT NULL,
    holder      TEXT NOT NULL,  -- "pid@host/instance"
    acquired_at TEXT NOT NULL,  -- start of the holder's uninterrupted tenure
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (account, bot)
) STRICT;
