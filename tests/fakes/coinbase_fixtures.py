"""pytest fixtures and helpers for the Coinbase adapter tests: the fake venue + the real SDK.

The fixtures reach every test through tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from adapters.coinbase import CoinbaseVenue, build_coinbase_venue
from domain.orders.order import Order, OrderSide, OrderType
from tests.fakes.clock import FixedClock
from tests.fakes.coinbase_venue import FakeCoinbase
from tests.support.waiting import wait_until

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def fake(tmp_path) -> Iterator[FakeCoinbase]:
    venue = FakeCoinbase.start(tmp_path)
    yield venue
    venue.stop()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def connect(fake: FakeCoinbase, clock: FixedClock, **options: object) -> CoinbaseVenue:
    settings: dict = dict(api_key=fake.key.name, api_secret=fake.key.secret, clock=clock, rest_host=fake.rest_host,
                          ws_url=fake.ws_url, ws_user_url=fake.ws_url, ca_bundle=fake.ca_file, timeout=2.0,
                          retry_wait=0.01, reconnect_backoff=0.05)
    settings.update(options)
    return build_coinbase_venue(**settings)


@pytest.fixture
def venue(fake, clock) -> Iterator[CoinbaseVenue]:
    built = connect(fake, clock)
    assert built.user_stream is not None and built.user_stream.connected.wait(5), "user stream did not connect"
    wait_until(lambda: fake.ws.subscribers("user") == 1, message="the user channel subscribed")
    yield built
    built.close()


def order(client_order_id: str = "qs-1", *, symbol: str = "BTC-USD", side: OrderSide = OrderSide.BUY,
          order_type: OrderType = OrderType.MARKET, quantity: str = "0.5", limit: str | None = None,
          stop: str | None = None) -> Order:
    return Order(client_order_id=client_order_id, account="acct", bot="bot", strategy="strat", symbol=symbol,
                 side=side, order_type=order_type, quantity=Decimal(quantity), created_at=NOW, signal_ts=NOW,
                 limit_price=Decimal(limit) if limit else None, stop_price=Decimal(stop) if stop else None)
