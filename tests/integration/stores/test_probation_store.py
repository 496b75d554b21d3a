"""The probation scenarios of tests/unit/application/golive/test_probation.py, on each store
engine (SQLite and Postgres): the stage of a bot is read back from the audit trail, trades and
equity, so both engines must give the same decisions."""

from __future__ import annotations

from tests.unit.application.golive import test_probation as scenarios

# Collected here with this folder's `store` fixture (a fresh store of each engine).
test_demotion_on_a_breach_on_each_engine = scenarios.test_a_breach_demotes_the_bot_stops_its_entries_and_alerts
test_promotion_after_the_days_on_each_engine = scenarios.test_within_the_band_after_the_days_promotes_to_full_size
test_the_paper_epoch_sets_the_band_on_each_engine = scenarios.test_the_paper_epoch_sets_the_band
