-- 0004: the current stop of each open position (application/ports.py StopRepository).

CREATE TABLE stops (
    account    TEXT NOT NULL,
    bot        TEXT NOT NULL,
    symbol     TEXT NOT NULL,
    price      TEXT NOT NULL,  -- Decimal as text
    kind       TEXT NOT NULL,
    reason     TEXT NOT NULL,
    sar        TEXT,  -- JSON of the Parabolic SAR state, when the stop is one
    updated_at TEXT NOT NULL,
    PRIMARY KEY (account, bot, symbol)
) STRICT;
