"""Monitoring: the watchdog that does not live inside the bots (a crashed bot cannot tell of
itself). Each tick it reads the store only (heartbeats, instances, leases, venue health, the
audit trail's reconciliations) and raises or resolves alerts through an AlertSink.

policy.py (the thresholds and the alert keys), observation.py (one read of the store),
bot_conditions.py, venue_conditions.py and conditions.py (the decisions, pure, on a given
time), watchdog.py (the tick: the leader lease, firing on changes, repeats), tick_record.py
(the leader's last tick, for /metrics), ports.py (the process probe, the repeats).
"""
