"""Trading hours from the venue's clock, not the local one.

The venue says whether its market is open and when it next opens or closes; between two
reads the answer is computed from those times, so the venue is asked again only when a
boundary passes (or every `refresh_seconds` at most). Crypto trades around the clock. A clock
that cannot be read and no earlier answer means closed: no order goes out on a guess.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from application.venues.ports import MarketClock, VenueAccount
from domain.accounting.instrument import AssetClass
from domain.errors import QuantShiftError

log = logging.getLogger(__name__)


class MarketHours(Protocol):
    def is_open(self, asset_class: AssetClass, *, now: datetime) -> bool: ...


class VenueMarketHours:
    def __init__(self, *, account: VenueAccount, refresh_seconds: float = 300.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._account = account
        self._refresh = refresh_seconds
        self._monotonic = monotonic
        self._clock: MarketClock | None = None
        self._read_at: float | None = None

    def is_open(self, asset_class: AssetClass, *, now: datetime) -> bool:
        if asset_class is AssetClass.CRYPTO:
            return True
        clock = self._current(now=now)
        if clock is None:
            return False
        if clock.is_open:
            return clock.next_close is None or now < clock.next_close
        return clock.next_open is not None and clock.next_open <= now and (
            clock.next_close is None or now < clock.next_close)

    def _current(self, *, now: datetime) -> MarketClock | None:
        clock = self._clock
        due = (clock is None or self._read_at is None or self._monotonic() - self._read_at >= self._refresh
               or (clock.is_open and clock.next_close is not None and now >= clock.next_close)
               or (not clock.is_open and clock.next_open is not None and now >= clock.next_open))
        if due:
            try:
                self._clock, self._read_at = self._account.clock(), self._monotonic()
            except QuantShiftError as exc:
                log.warning("%s clock unreadable (%s); trading hours from the last answer", self._account.name, exc)
        return self._clock
