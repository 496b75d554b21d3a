"""Which account a read shows when none is named: one rule for the CLI's read commands, the API's
reports and the dashboard.

The continuous account (`paper`, or a venue's paper account: sessions that carry on across
restarts) comes first, because it is the one that trades while the operator looks; the
accelerated sessions (`sim-0001`, ...) are throw-away runs, shown by default only while no
continuous session has run. Among several of a kind, the most recently started. Commands that
list rows of many accounts (status, trades, positions, audit) show every account unless
--account narrows them: each row names its account.
"""

from __future__ import annotations

from collections.abc import Sequence

from application.ports import UnitOfWork
from application.records import SessionRecord

SIMULATION_MODE = "simulation"  # SessionRecord.mode of an accelerated session
PAPER_ACCOUNT = "paper"  # the continuous session's account, shown before any session ran


def default_account(uow: UnitOfWork) -> str | None:
    """The account shown when none is named; None before any session ran."""
    return pick_default(uow.sessions.list())


def pick_default(sessions: Sequence[SessionRecord]) -> str | None:
    continuous = [s for s in sessions if s.mode != SIMULATION_MODE]
    pool = continuous or list(sessions)
    return max(pool, key=lambda s: s.started_at).account if pool else None


def simulated_accounts(sessions: Sequence[SessionRecord]) -> set[str]:
    return {s.account for s in sessions if s.mode == SIMULATION_MODE}
