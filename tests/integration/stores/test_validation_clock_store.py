"""The validation clock on each engine (SQLite and Postgres, the `store` fixture): the epoch
record survives the store's JSON, and the figures read back through each engine's filters
(audit since/kinds, trades since, equity and heartbeats) match."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from application.golive.validation_clock import current_epoch, ensure_epoch, validation_status
from application.records import AuditKind
from domain.analytics.golive import GoLiveCriteria
from entrypoints.golive_calendar import NyseCalendar
from tests.support.validation_records import beat, critical, fingerprint, trip, write

START = datetime(2026, 11, 30, 15, 0, tzinfo=timezone.utc)  # a Monday, 10:00 in New York


def test_epochs_and_figures_round_trip_through_the_engine(store):
    with store() as uow:
        first = ensure_epoch(uow, fingerprint=fingerprint("eq"), account="paper", now=START - timedelta(days=7))
        second = ensure_epoch(uow, fingerprint=fingerprint("eq", **{"params.slow": 40, "risk.max_heat": "0.10"}),
                              account="paper", now=START)
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert current_epoch(uow, bot="eq") == second
    assert (first.number, second.number, second.changed) == (1, 2, ("params.slow", "risk.max_heat"))
    # Read back from the engine's JSON as written: the next change is measured against it.
    assert second.ingredients == dict(fingerprint("eq", **{"params.slow": 40, "risk.max_heat": "0.10"}).ingredients)

    hour = timedelta(hours=1)
    write(store, bot="eq",
          points=[(START - hour, 90_000), (START + hour, 100_000), (START + 2 * hour, 80_000),
                  (START + timedelta(days=1, hours=1), 100_000)],  # Monday and Tuesday
          trips=[trip("eq", opened=START - 2 * hour, closed=START + hour, pnl=9),  # opened in epoch 1
                 trip("eq", opened=START + hour, closed=START + 2 * hour, pnl=4),
                 trip("eq", opened=START + 2 * hour, closed=START + 3 * hour, pnl=-4)],
          audit=[critical(START - hour, "before the epoch", bot="eq"),
                 critical(START + hour, "strategy disabled", bot="eq"),
                 critical(START + hour, "halted by the operator", bot="eq", kind=AuditKind.HALT, actor="ops@desk")])
    # Running again on Thursday (Wednesday off): the heartbeat's span counts the day.
    beat(store, bot="eq", started=START + timedelta(days=3), last=START + timedelta(days=3, hours=2))
    with store.unit_of_work(read_only=True) as uow:
        status = validation_status(uow, bot="eq", asset_class="equity", now=START + timedelta(days=3, hours=3),
                                   criteria=GoLiveCriteria(), calendar=NyseCalendar())
    assert [d.isoformat() for d in status.days] == ["2026-11-30", "2026-12-01", "2026-12-03"]
    assert (status.round_trips, status.win_rate) == (2, 0.5)
    assert status.max_drawdown == pytest.approx(0.2)
    assert [e.message for e in status.critical_events] == ["strategy disabled"]
    assert status.to_json()["epoch"]["epoch"] == 2 and status.to_json()["passed"] is False
