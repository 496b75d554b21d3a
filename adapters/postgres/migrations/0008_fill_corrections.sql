-- 0008: fills corrected after the fact and fees charged apart from fills
-- (application/ports.py FillCorrectionRepository, VenueChargeRepository). The fill rows stay
-- as first told; these sit beside them and the effective fills are rebuilt from both.

CREATE TABLE fill_corrections (
    seq           bigint GENERATED ALWAYS AS IDENTITY,
    correction_id text COLLATE "C" PRIMARY KEY,  -- the venue's id of the correction: applied once
    account       text COLLATE "C" NOT NULL,
    bot           text COLLATE "C" NOT NULL,
    fill_id       text COLLATE "C" NOT NULL,
    quantity      numeric NOT NULL,  -- 0 = busted
    price         numeric,
    ts            timestamptz NOT NULL,
    reason        text NOT NULL
);
CREATE INDEX fill_corrections_by_bot ON fill_corrections (account, bot, seq);

CREATE TABLE venue_charges (
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    charge_id       text COLLATE "C" PRIMARY KEY,  -- the venue's id (an activity id): recorded once
    account         text COLLATE "C" NOT NULL,
    bot             text COLLATE "C" NOT NULL,  -- '' for an account charge (no order named)
    client_order_id text COLLATE "C",
    fill_id         text COLLATE "C",
    symbol          text COLLATE "C" NOT NULL,
    amount          numeric NOT NULL,  -- > 0 charged, < 0 refunded
    ts              timestamptz NOT NULL,
    description     text NOT NULL
);
CREATE INDEX venue_charges_by_bot ON venue_charges (account, bot, seq);
