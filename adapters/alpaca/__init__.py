"""Alpaca (US equities) through alpaca-py: the Broker port, the venue account, history and streams.

Build everything with `build_alpaca_venue` (adapters/alpaca/venue.py); wire types never leave
this folder.
"""

from adapters.alpaca.venue import AlpacaVenue, build_alpaca_venue

__all__ = ["AlpacaVenue", "build_alpaca_venue"]
