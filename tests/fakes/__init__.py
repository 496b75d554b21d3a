"""Fakes of the ports (store, broker, clock, notifier) and builders for the use-case tests."""
