"""The hook of the continuous session into the validation clock: when it leads (holds the bots'
leases, or runs them alone on SQLite) on a real-time paper account, each bot it trades gets its
epoch for the fingerprint it trades with now (application/golive/validation_clock.py)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from datetime import datetime

from application.golive.validation_clock import REAL_TIME_PAPER_ACCOUNTS, ValidationEpoch, ensure_epoch
from domain.errors import StoreUnavailable
from entrypoints.container import Container
from entrypoints.golive_fingerprint import bot_fingerprint

log = logging.getLogger(__name__)


def installed_version() -> str:
    from entrypoints.cli.main import installed_version as version  # the CLI's own answer; imported late (cycle)

    return version()


def ensure_epochs(container: Container, *, account: str, bots: Sequence[str], now: datetime) -> list[ValidationEpoch]:
    """Only for the real-time paper accounts: live trading and accelerated sessions never earn an
    epoch. A store outage here costs the epoch record, never the session (the next start writes it)."""
    if account not in REAL_TIME_PAPER_ACCOUNTS:
        return []
    settings = container.settings()
    version = installed_version()
    prints = [bot_fingerprint(settings, b, version=version) for b in settings.bots if b.name in bots]
    try:
        with container.store()() as uow:
            epochs = [ensure_epoch(uow, fingerprint=f, account=account, now=now) for f in prints]
            uow.commit()
    except StoreUnavailable as exc:
        log.warning("validation epochs not recorded (store unavailable: %s); the next start records them", exc)
        return []
    for epoch in epochs:
        if epoch.started_at == now:
            print(f"validation: bot {epoch.bot} starts epoch {epoch.number} on {account} ({epoch.reason}"
                  + (f": {', '.join(epoch.changed)}" if epoch.changed else "") + ")", file=sys.stderr, flush=True)
    return epochs
