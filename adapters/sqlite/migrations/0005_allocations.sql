-- 0005: the allocation history, one row per strategy sleeve (bot) per rebalance of an
-- account's capital (application/ports.py AllocationRepository).

CREATE TABLE allocations (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,  -- insertion order; AUTOINCREMENT: ids are never reused
    account  TEXT NOT NULL,
    bot      TEXT NOT NULL,
    ts       TEXT NOT NULL,
    weight   TEXT NOT NULL,  -- Decimal as text
    equity   TEXT NOT NULL,  -- Decimal as text
    transfer TEXT NOT NULL,  -- Decimal as text: + into the sleeve, - out of it
    reason   TEXT NOT NULL,
    metrics  TEXT NOT NULL   -- JSON object: the figures the allocation was decided on
) STRICT;

CREATE INDEX allocations_by_account_bot_ts ON allocations (account, bot, ts);

-- Every capital move stays on record: nothing rewrites or removes it.
CREATE TRIGGER allocations_no_update BEFORE UPDATE ON allocations
BEGIN
    SELECT RAISE(ABORT, 'allocations is append-only');
END;
CREATE TRIGGER allocations_no_delete BEFORE DELETE ON allocations
BEGIN
    SELECT RAISE(ABORT, 'allocations is append-only');
END;
