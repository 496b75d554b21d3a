-- 0001: the initial QuantShift store.
--
-- Money, prices and quantities are TEXT holding str(Decimal): exact. STRICT tables stop
-- SQLite's type affinity from ever turning '1.50' into the REAL 1.5.
-- Datetimes are TEXT, ISO 8601 in UTC with microseconds: fixed width, so text order is
-- time order. Enums are stored by their value.

CREATE TABLE orders (
    client_order_id    TEXT PRIMARY KEY,  -- deterministic per intent: one order per intent
    account            TEXT NOT NULL,
    bot                TEXT NOT NULL,
    strategy           TEXT NOT NULL,
    symbol             TEXT NOT NULL,
    side               TEXT NOT NULL,
    order_type         TEXT NOT NULL,
    quantity           TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    signal_ts          TEXT NOT NULL,
    limit_price        TEXT,
    stop_price         TEXT,
    status             TEXT NOT NULL,
    filled_quantity    TEXT NOT NULL,
    average_fill_price TEXT,
    venue_order_id     TEXT,
    reason             TEXT NOT NULL DEFAULT '',
    updated_at         TEXT,
    submitted_at       TEXT
) STRICT;
CREATE INDEX orders_by_bot_symbol_status ON orders (account, bot, symbol, status);
CREATE INDEX orders_by_bot_submitted_at ON orders (account, bot, submitted_at);
CREATE INDEX orders_by_created_at ON orders (created_at);

CREATE TABLE fills (
    fill_id         TEXT PRIMARY KEY,  -- the venue's id: a replayed fill is never counted twice
    account         TEXT NOT NULL,
    bot             TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    symbol          TEXT NOT NULL,
    side            TEXT NOT NULL,
    quantity        TEXT NOT NULL,
    price           TEXT NOT NULL,
    commission      TEXT NOT NULL,
    ts              TEXT NOT NULL,
    liquidity       TEXT NOT NULL
) STRICT;
CREATE INDEX fills_by_bot_ts ON fills (account, bot, ts);
CREATE INDEX fills_by_order ON fills (client_order_id);

CREATE TABLE positions (
    account      TEXT NOT NULL,
    bot          TEXT NOT NULL,
    symbol       TEXT NOT NULL,
    quantity     TEXT NOT NULL,
    cost_basis   TEXT NOT NULL,  -- what the open quantity cost (>= 0); the average is derived
    realized_pnl TEXT NOT NULL,
    commissions  TEXT NOT NULL,
    trip         TEXT,  -- JSON of the open round trip, NULL when flat
    updated_at   TEXT,
    last_price   TEXT,
    PRIMARY KEY (account, bot, symbol)
) STRICT;

CREATE TABLE accounts (
    account      TEXT NOT NULL,
    bot          TEXT NOT NULL,
    initial_cash TEXT NOT NULL,
    cash         TEXT NOT NULL,
    PRIMARY KEY (account, bot)
) STRICT;

CREATE TABLE trades (
    id              INTEGER PRIMARY KEY,
    account         TEXT NOT NULL,
    bot             TEXT NOT NULL,
    symbol          TEXT NOT NULL,
    direction       TEXT NOT NULL,
    quantity        TEXT NOT NULL,
    entry_price     TEXT NOT NULL,
    exit_price      TEXT NOT NULL,
    opened_at       TEXT NOT NULL,
    closed_at       TEXT NOT NULL,
    gross_pnl       TEXT NOT NULL,
    commission      TEXT NOT NULL,
    closing_fill_id TEXT NOT NULL,
    UNIQUE (account, bot, closing_fill_id)  -- the same closing fill never records a second trip
) STRICT;
CREATE INDEX trades_by_closed_at ON trades (account, bot, closed_at);

CREATE TABLE heartbeats (
    account          TEXT NOT NULL,
    bot              TEXT NOT NULL,
    pid              INTEGER NOT NULL,
    host             TEXT NOT NULL,
    mode             TEXT NOT NULL,
    started_at       TEXT NOT NULL,
    beat_at          TEXT NOT NULL,
    interval_seconds REAL NOT NULL,
    run_state        TEXT NOT NULL,
    detail           TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account, bot)
) STRICT;

CREATE TABLE control (
    scope      TEXT PRIMARY KEY,  -- '*' (every bot) or a bot name
    state      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    changed_at TEXT NOT NULL
) STRICT;

CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: ids are never reused
    ts              TEXT NOT NULL,  -- domain time
    recorded_at     TEXT NOT NULL,  -- wall clock, set by the store
    kind            TEXT NOT NULL,
    severity        TEXT NOT NULL,
    account         TEXT NOT NULL DEFAULT '',
    bot             TEXT NOT NULL DEFAULT '',
    symbol          TEXT NOT NULL DEFAULT '',
    client_order_id TEXT NOT NULL DEFAULT '',
    message         TEXT NOT NULL,
    data            TEXT NOT NULL DEFAULT '{}'  -- JSON object
) STRICT;
CREATE INDEX audit_by_account_ts ON audit_log (account, ts);
CREATE INDEX audit_by_ts ON audit_log (ts);

-- The audit trail is evidence: nothing rewrites or removes it.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TABLE equity (
    account TEXT NOT NULL,
    bot     TEXT NOT NULL,
    ts      TEXT NOT NULL,
    equity  TEXT NOT NULL,
    PRIMARY KEY (account, bot, ts)
) STRICT;

CREATE TABLE sessions (
    account      TEXT PRIMARY KEY,
    mode         TEXT NOT NULL,
    seed         INTEGER,
    trading_days INTEGER,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    config       TEXT NOT NULL DEFAULT '{}',  -- JSON object
    report       TEXT  -- JSON object, NULL until the session finishes
) STRICT;
