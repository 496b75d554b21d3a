-- 0009: the audit trail by kind. The alert lifecycle (application/alerting/lifecycle.py) reads
-- the ALERT entries on every alert and every watchdog tick: without this index each read would
-- scan the whole trail, which a long simulation fills with orders and fills.

CREATE INDEX audit_by_kind_ts ON audit_log (kind, ts, id);
