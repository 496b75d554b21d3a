"""pytest fixtures and helpers for the Coinbase adapter tests (the fake venue + the real SDK)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from adapters.coinbase import CoinbaseVenue, build_coinbase_venue
from domain.orders.events import BrokerEvent
from domain.orders.order import Order, OrderSide, OrderType
from tests.fakes.clock import FixedClock
from tests.fakes.coinbase_venue import FakeCoinbase

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
    wait_for(lambda: fake.ws.subscribers("user") == 1)
    yield built
    built.close()


def order(client_order_id: str = "qs-1", *, symbol: str = "BTC-USD", side: OrderSide = OrderSide.BUY,
          order_type: OrderType = OrderType.MARKET, quantity: str = "0.5", limit: str | None = None,
          stop: str | None = None) -> Order:
    return Order(client_order_id=client_order_id, account="acct", bot="bot", strategy="strat", symbol=symbol,
                 side=side, order_type=order_type, quantity=Decimal(quantity), created_at=NOW, signal_ts=NOW,
                 limit_price=Decimal(limit) if limit else None, stop_price=Decimal(stop) if stop else None)


def wait_for(condition: Callable[[], object], *, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def poll_until(broker, predicate: Callable[[list[BrokerEvent]], bool], *, timeout: float = 5.0) -> list[BrokerEvent]:
    """Poll events until the events collected so far satisfy `predicate`; returns them all."""
    collected: list[BrokerEvent] = []
    deadline = time.monotonic() + timeout
    while True:
        collected.extend(broker.poll_events())
        if predicate(collected):
            return collected
        if time.monotonic() > deadline:
            raise AssertionError(f"events never satisfied the condition: {collected}")
        time.sleep(0.01)
