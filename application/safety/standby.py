"""Hot standby: wait, without trading, until this instance holds every bot's lease."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from application.ports import UnitOfWork, UnitOfWorkFactory
from application.safety.lease import LeaseGuard
from domain.errors import StoreUnavailable

log = logging.getLogger(__name__)


def wait_for_leadership(
    *,
    guard: LeaseGuard,
    uow_factory: UnitOfWorkFactory,
    account: str,
    bots: Sequence[str],
    should_stop: Callable[[], bool],
    sleep: Callable[[float], None],
    poll_seconds: float = 0.2,
    on_standby: Callable[[], None] | None = None,
    announce: Callable[[UnitOfWork], None] | None = None,
) -> bool:
    """True once the leases are ours; False if asked to stop first. A store outage only delays.
    `announce` writes this instance's STANDBY beat (for `status`) on every try."""
    announced = False
    while not should_stop():
        try:
            if guard.acquire_all(uow_factory, account=account, bots=bots):
                return True
            if announce is not None:
                with uow_factory() as uow:
                    announce(uow)
                    uow.commit()
        except StoreUnavailable as exc:
            log.warning("standby: store unavailable (%s); still waiting", exc)
        if not announced and on_standby is not None:
            on_standby()
            announced = True
        sleep(poll_seconds)
    return False
