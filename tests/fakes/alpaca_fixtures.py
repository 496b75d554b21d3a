"""pytest fixtures and helpers for the Alpaca adapter tests (the fixtures reach every test
through tests/conftest.py).

`fake_alpaca` is a started FakeAlpaca; `alpaca` an AlpacaVenue built on it with short waits
(retry 10 ms, reconnect backoff 50 ms, HTTP timeout 0.5 s) and a real wall clock (the
429 reset header is a unix time)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from adapters.alpaca import AlpacaVenue, build_alpaca_venue
from domain.orders.order import Order, OrderSide, OrderType
from tests.fakes.alpaca_venue import FakeAlpaca


class WallClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


FAST = {"retry_wait": 0.01, "reconnect_backoff": 0.05, "timeout": 0.5}


@pytest.fixture
def fake_alpaca() -> Iterator[FakeAlpaca]:
    with FakeAlpaca() as fake:
        yield fake


@pytest.fixture
def alpaca(fake_alpaca: FakeAlpaca) -> Iterator[AlpacaVenue]:
    venue = build_alpaca_venue(**fake_alpaca.connection(), clock=WallClock(), **FAST)
    yield venue
    venue.close()


def order(client_order_id: str, *, symbol: str = "AAPL", side: OrderSide = OrderSide.BUY, quantity: str = "3",
          order_type: OrderType = OrderType.MARKET, limit: str | None = None, stop: str | None = None) -> Order:
    now = datetime.now(timezone.utc)
    return Order(client_order_id=client_order_id, account="paper", bot="bot", strategy="s", symbol=symbol,
                 side=side, order_type=order_type, quantity=Decimal(quantity), created_at=now, signal_ts=now,
                 limit_price=None if limit is None else Decimal(limit),
                 stop_price=None if stop is None else Decimal(stop))
