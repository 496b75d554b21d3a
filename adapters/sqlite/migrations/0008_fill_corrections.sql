-- 0008: fills corrected after the fact and fees charged apart from fills
-- (application/ports.py FillCorrectionRepository, VenueChargeRepository). The fill rows stay
-- as first told; these sit beside them and the effective fills are rebuilt from both.

CREATE TABLE fill_corrections (
    correction_id TEXT PRIMARY KEY,  -- the venue's id of the correction: applied once
    account       TEXT NOT NULL,
    bot           TEXT NOT NULL,
    fill_id       TEXT NOT NULL,
    quantity      TEXT NOT NULL,  -- Decimal as text; 0 = busted
    price         TEXT,
    ts            TEXT NOT NULL,
    reason        TEXT NOT NULL
) STRICT;
CREATE INDEX fill_corrections_by_bot ON fill_corrections (account, bot);

CREATE TABLE venue_charges (
    charge_id       TEXT PRIMARY KEY,  -- the venue's id (an activity id): recorded once
    account         TEXT NOT NULL,
    bot             TEXT NOT NULL,  -- '' for an account charge (no order named)
    client_order_id TEXT,
    fill_id         TEXT,
    symbol          TEXT NOT NULL,
    amount          TEXT NOT NULL,  -- Decimal as text; > 0 charged, < 0 refunded
    ts              TEXT NOT NULL,
    description     TEXT NOT NULL
) STRICT;
CREATE INDEX venue_charges_by_bot ON venue_charges (account, bot);
