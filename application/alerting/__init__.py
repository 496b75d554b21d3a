"""Alerting: what is worth telling a person, to whom, how often, and the record of it.

alert.py (the Alert value and its events), lifecycle.py (deduplication, grouping, repeats and
acknowledgement, read from the ALERT audit trail), dispatcher.py (the one Notifier and AlertSink
of a process: a background sender), bot_alerts.py (the bot-raised alerts and their keys), and the
channels a notice goes out on (channels.py, channel_store.py, channel_admin.py).
"""
