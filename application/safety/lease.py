"""The trading lease: only the instance holding a bot's lease may trade it.

It is renewed with the heartbeat and checked again inside every intent transaction (the
fence): an instance that lost its lease (paused too long, cut off) cannot commit an intent,
so two instances never both trade a bot, even for a moment.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from application.ports import UnitOfWork, UnitOfWorkFactory
from application.records import Lease

# The watchdogs' leader lease (application/monitoring/watchdog.py) sits in the same table as the
# bots' leases, under an account no bot has: it names no bot, and listings of bots leave it out.
WATCHDOG_LEASE_ACCOUNT = ""
WATCHDOG_LEASE_BOT = "watchdog"


def is_bot_lease(lease: Lease) -> bool:
    return (lease.account, lease.bot) != (WATCHDOG_LEASE_ACCOUNT, WATCHDOG_LEASE_BOT)


class NotLeader(Exception):
    """This instance does not hold the bot's lease (any more)."""


@attrs.frozen(kw_only=True)
class LeaseGuard:
    holder: str
    ttl_seconds: float

    def hold(self, uow: UnitOfWork, *, account: str, bot: str) -> bool:
        """Renew (or take) the lease inside the caller's transaction."""
        return uow.leases.acquire(account=account, bot=bot, holder=self.holder, ttl_seconds=self.ttl_seconds) is not None

    def acquire_all(self, uow_factory: UnitOfWorkFactory, *, account: str, bots: Sequence[str]) -> bool:
        """All of a session's bots or none: a half-led session would trade some bots twice over."""
        with uow_factory() as uow:
            if all(self.hold(uow, account=account, bot=bot) for bot in bots):
                uow.commit()
                return True
        return False

    def release_all(self, uow_factory: UnitOfWorkFactory, *, account: str, bots: Sequence[str]) -> None:
        with uow_factory() as uow:
            for bot in bots:
                uow.leases.release(account=account, bot=bot, holder=self.holder)
            uow.commit()
