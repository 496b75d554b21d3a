"""Adapters: implementations of the application ports (brokers, stores, market data, notifiers)."""
