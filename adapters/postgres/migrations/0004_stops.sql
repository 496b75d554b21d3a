-- 0004: the current stop of each open position (application/ports.py StopRepository).

CREATE TABLE stops (
    account    text COLLATE "C" NOT NULL,
    bot        text COLLATE "C" NOT NULL,
    symbol     text COLLATE "C" NOT NULL,
    price      numeric NOT NULL,
    kind       text NOT NULL,
    reason     text NOT NULL,
    sar        jsonb,  -- the Parabolic SAR state, when the stop is one
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (account, bot, symbol)
);
