-- 0001: the initial QuantShift store (the same tables as adapters/sqlite/migrations/0001).
--
-- Money, prices and quantities are numeric without a type modifier: exact, and the
-- scale is kept ('1.50' reads back as 1.50). Times are timestamptz (an instant; read in
-- UTC). JSON is jsonb. Enums are stored by their value.
-- Names and ids are COLLATE "C": byte order, the same ordering as SQLite's BINARY, and
-- independent of the database's locale.
-- seq / id identity columns break ties in insertion order, as SQLite's rowid does.

CREATE TABLE orders (
    seq                bigint GENERATED ALWAYS AS IDENTITY,
    client_order_id    text COLLATE "C" PRIMARY KEY,  -- deterministic per intent: one order per intent
    account            text COLLATE "C" NOT NULL,
    bot                text COLLATE "C" NOT NULL,
    strategy           text COLLATE "C" NOT NULL,
    symbol             text COLLATE "C" NOT NULL,
    side               text NOT NULL,
    order_type         text NOT NULL,
    quantity           numeric NOT NULL,
    created_at         timestamptz NOT NULL,
    signal_ts          timestamptz NOT NULL,
    limit_price        numeric,
    stop_price         numeric,
    status             text NOT NULL,
    filled_quantity    numeric NOT NULL,
    average_fill_price numeric,
    venue_order_id     text,
    reason             text NOT NULL DEFAULT '',
    updated_at         timestamptz,
    submitted_at       timestamptz
);
CREATE INDEX orders_by_bot_symbol_status ON orders (account, bot, symbol, status);
CREATE INDEX orders_by_bot_submitted_at ON orders (account, bot, submitted_at);
CREATE INDEX orders_by_created_at ON orders (created_at, seq);

CREATE TABLE fills (
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    fill_id         text COLLATE "C" PRIMARY KEY,  -- the venue's id: a replayed fill is never counted twice
    account         text COLLATE "C" NOT NULL,
    bot             text COLLATE "C" NOT NULL,
    client_order_id text COLLATE "C" NOT NULL,
    symbol          text COLLATE "C" NOT NULL,
    side            text NOT NULL,
    quantity        numeric NOT NULL,
    price           numeric NOT NULL,
    commission      numeric NOT NULL,
    ts              timestamptz NOT NULL,
    liquidity       text NOT NULL
);
CREATE INDEX fills_by_bot_ts ON fills (account, bot, ts);
CREATE INDEX fills_by_order ON fills (client_order_id);

CREATE TABLE positions (
    account      text COLLATE "C" NOT NULL,
    bot          text COLLATE "C" NOT NULL,
    symbol       text COLLATE "C" NOT NULL,
    quantity     numeric NOT NULL,
    cost_basis   numeric NOT NULL,  -- what the open quantity cost (>= 0); the average is derived
    realized_pnl numeric NOT NULL,
    commissions  numeric NOT NULL,
    trip         jsonb,  -- the open round trip, NULL when flat
    updated_at   timestamptz,
    last_price   numeric,
    PRIMARY KEY (account, bot, symbol)
);

CREATE TABLE accounts (
    account      text COLLATE "C" NOT NULL,
    bot          text COLLATE "C" NOT NULL,
    initial_cash numeric NOT NULL,
    cash         numeric NOT NULL,
    PRIMARY KEY (account, bot)
);

CREATE TABLE trades (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account         text COLLATE "C" NOT NULL,
    bot             text COLLATE "C" NOT NULL,
    symbol          text COLLATE "C" NOT NULL,
    direction       text NOT NULL,
    quantity        numeric NOT NULL,
    entry_price     numeric NOT NULL,
    exit_price      numeric NOT NULL,
    opened_at       timestamptz NOT NULL,
    closed_at       timestamptz NOT NULL,
    gross_pnl       numeric NOT NULL,
    commission      numeric NOT NULL,
    closing_fill_id text COLLATE "C" NOT NULL,
    UNIQUE (account, bot, closing_fill_id)  -- the same closing fill never records a second trip
);
CREATE INDEX trades_by_closed_at ON trades (account, bot, closed_at);

CREATE TABLE heartbeats (
    account          text COLLATE "C" NOT NULL,
    bot              text COLLATE "C" NOT NULL,
    pid              bigint NOT NULL,
    host             text NOT NULL,
    mode             text NOT NULL,
    started_at       timestamptz NOT NULL,
    beat_at          timestamptz NOT NULL,
    interval_seconds double precision NOT NULL,
    run_state        text NOT NULL,
    detail           text NOT NULL DEFAULT '',
    PRIMARY KEY (account, bot)
);

CREATE TABLE control (
    scope      text COLLATE "C" PRIMARY KEY,  -- '*' (every bot) or a bot name
    state      text NOT NULL,
    reason     text NOT NULL,
    actor      text NOT NULL,
    changed_at timestamptz NOT NULL
);

CREATE TABLE audit_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- never reused
    ts              timestamptz NOT NULL,  -- domain time
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),  -- the server's wall clock
    kind            text NOT NULL,
    severity        text NOT NULL,
    account         text COLLATE "C" NOT NULL DEFAULT '',
    bot             text COLLATE "C" NOT NULL DEFAULT '',
    symbol          text COLLATE "C" NOT NULL DEFAULT '',
    client_order_id text COLLATE "C" NOT NULL DEFAULT '',
    message         text NOT NULL,
    data            jsonb NOT NULL DEFAULT '{}'  -- a JSON object
);
CREATE INDEX audit_by_account_ts ON audit_log (account, ts);
CREATE INDEX audit_by_ts ON audit_log (ts, id);

-- The audit trail is evidence: nothing rewrites or removes it. Statement-level triggers
-- refuse every UPDATE, DELETE and TRUNCATE, even one that would touch no row. (A
-- superuser can still disable triggers; grant the application role no more than it needs.)
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

CREATE TABLE equity (
    account text COLLATE "C" NOT NULL,
    bot     text COLLATE "C" NOT NULL,
    ts      timestamptz NOT NULL,
    equity  numeric NOT NULL,
    PRIMARY KEY (account, bot, ts)
);

CREATE TABLE sessions (
    account      text COLLATE "C" PRIMARY KEY,
    mode         text NOT NULL,
    seed         bigint,
    trading_days bigint,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    config       jsonb NOT NULL DEFAULT '{}',  -- a JSON object
    report       jsonb  -- a JSON object, NULL until the session finishes
);
