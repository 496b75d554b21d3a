"""Market-data adapters: the NYSE calendar, a seeded synthetic feed and a CSV bar feed."""

from adapters.marketdata.calendar import Session, is_nyse_open, next_nyse_open, nyse_sessions
from adapters.marketdata.csv_feed import CsvBarFeed
from adapters.marketdata.synthetic import Regime, RegimeSpell, SyntheticBarFeed, SyntheticPriceProcess

__all__ = [
    "CsvBarFeed",
    "Regime",
    "RegimeSpell",
    "Session",
    "SyntheticBarFeed",
    "SyntheticPriceProcess",
    "is_nyse_open",
    "next_nyse_open",
    "nyse_sessions",
]
