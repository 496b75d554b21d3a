"""Helpers shared by every kind of test: waiting for a condition, polling a broker's events,
and running `quantshift` processes (`serve` among them)."""
