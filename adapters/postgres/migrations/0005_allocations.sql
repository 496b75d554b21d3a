-- 0005: the allocation history, one row per strategy sleeve (bot) per rebalance of an
-- account's capital (application/ports.py AllocationRepository).

CREATE TABLE allocations (
    -- Insertion order. An identity column (the SQL-standard bigserial), as audit_log's id:
    -- never reused, and ALWAYS refuses a hand-written id.
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account  text COLLATE "C" NOT NULL,
    bot      text COLLATE "C" NOT NULL,
    ts       timestamptz NOT NULL,
    weight   numeric NOT NULL,
    equity   numeric NOT NULL,
    transfer numeric NOT NULL,  -- + into the sleeve, - out of it
    reason   text NOT NULL,
    metrics  jsonb NOT NULL     -- the figures the allocation was decided on
);

CREATE INDEX allocations_by_account_bot_ts ON allocations (account, bot, ts);

-- Every capital move stays on record: statement-level triggers refuse every UPDATE, DELETE
-- and TRUNCATE, even one that would touch no row (as on audit_log).
CREATE FUNCTION allocations_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'allocations is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER allocations_no_update_or_delete BEFORE UPDATE OR DELETE ON allocations
    FOR EACH STATEMENT EXECUTE FUNCTION allocations_refuse_change();
CREATE TRIGGER allocations_no_truncate BEFORE TRUNCATE ON allocations
    FOR EACH STATEMENT EXECUTE FUNCTION allocations_refuse_change();
