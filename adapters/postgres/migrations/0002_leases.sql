-- 0002: bot leases, the trading right of one instance at a time (application/ports.py LeaseRepository).
--
-- One row per (account, bot). A row whose expires_at is not after the server's clock is a
-- free lease: the next acquire() takes it over. The same table as adapters/sqlite/migrations/0002.

CREATE TABLE leases (
    account     text COLLATE "C" NOT NULL,
    bot         text COLLATE "C" NOT NULL,
    holder      text COLLATE "C" NOT NULL,  -- "pid@host/instance"
    acquired_at timestamptz NOT NULL,  -- start of the holder's uninterrupted tenure
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (account, bot)
);
