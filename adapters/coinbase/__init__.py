"""Coinbase Advanced Trade (crypto) through coinbase-advanced-py: build_coinbase_venue()."""

from adapters.coinbase.venue import CoinbaseVenue, build_coinbase_venue

__all__ = ["CoinbaseVenue", "build_coinbase_venue"]
