"""The store contract for corrected fills and venue charges (migration 0008), on SQLite and
Postgres alike (the `store` fixture, tests/integration/conftest.py), and the in-memory fake
that the use-case tests rely on keeps the same promises."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import attrs
import pytest

from application.records import VenueCharge
from domain.orders.fill_corrections import FillCorrection
from tests.fakes.memory_store import InMemoryStore
from tests.integration.stores.test_store_contract import T0, NEW_YORK, make_trip

D = Decimal


@pytest.fixture(params=["engine", "memory"])
def any_store(request, store):
    return store if request.param == "engine" else InMemoryStore()


def test_corrections_are_recorded_once_each_oldest_first_with_exact_decimals(any_store) -> None:
    bust = FillCorrection(correction_id="c-1", fill_id="f-1", quantity=D(0), price=None, ts=T0, reason="trade_bust")
    restate = FillCorrection(correction_id="c-2", fill_id="f-2", quantity=D("2.500"), price=D("100.0500"),
                             ts=(T0 + timedelta(minutes=1)).astimezone(NEW_YORK), reason="restated")
    with any_store() as uow:
        assert uow.fill_corrections.add(bust, account="acc", bot="bot")
        assert uow.fill_corrections.add(restate, account="acc", bot="bot")
        assert not uow.fill_corrections.add(attrs.evolve(bust, reason="again"), account="acc", bot="bot")
        assert uow.fill_corrections.add(attrs.evolve(bust, correction_id="c-3"), account="acc", bot="other")
        uow.commit()
    with any_store() as uow:
        mine = uow.fill_corrections.list(account="acc", bot="bot")
        assert mine == [bust, attrs.evolve(restate, ts=T0 + timedelta(minutes=1))]
        assert str(mine[1].price) == "100.0500" and str(mine[1].quantity) == "2.500"
        assert [c.correction_id for c in uow.fill_corrections.list(account="acc")] == ["c-1", "c-2", "c-3"]
        assert uow.fill_corrections.list(account="elsewhere") == []


def test_venue_charges_are_recorded_once_each_with_their_attribution(any_store) -> None:
    on_fill = VenueCharge(charge_id="a-1", amount=D("0.03"), ts=T0, description="TAF fee", client_order_id="o-1",
                          symbol="SPY", account="acc", bot="bot", fill_id="f-1")
    account_wide = VenueCharge(charge_id="a-2", amount=D("-0.01"), ts=T0, description="REG fee refund",
                               account="acc")
    with any_store() as uow:
        assert uow.venue_charges.add(on_fill) and uow.venue_charges.add(account_wide)
        assert not uow.venue_charges.add(attrs.evolve(on_fill, amount=D(5)))
        uow.commit()
    with any_store() as uow:
        assert uow.venue_charges.list(account="acc") == [on_fill, account_wide]
        assert uow.venue_charges.list(account="acc", bot="") == [account_wide]


def test_a_rolled_back_correction_leaves_nothing(any_store) -> None:
    with any_store() as uow:
        uow.fill_corrections.add(FillCorrection(correction_id="c-9", fill_id="f", quantity=D(0), price=None, ts=T0,
                                                reason="x"), account="acc", bot="bot")
    with any_store() as uow:
        assert uow.fill_corrections.list(account="acc") == []


def test_trades_of_one_bots_symbol_are_replaced_and_others_kept(any_store) -> None:
    spy_1, spy_2 = make_trip("f-2"), make_trip("f-4")
    qqq = attrs.evolve(make_trip("f-6"), symbol="QQQ")
    other_bot = attrs.evolve(make_trip("f-8"), bot="other")
    with any_store() as uow:
        for trip in (spy_1, spy_2, qqq, other_bot):
            uow.trades.add(trip, account="acc")
        uow.commit()
    corrected = attrs.evolve(spy_2, gross_pnl=D("1.25"))
    with any_store() as uow:
        uow.trades.replace(account="acc", bot="bot", symbol="SPY", trips=[corrected])
        uow.commit()
    with any_store() as uow:
        assert sorted((t.bot, t.symbol, t.closing_fill_id, t.gross_pnl) for _, t in uow.trades.list(account="acc")) == [
            ("bot", "QQQ", "f-6", D("3.75")), ("bot", "SPY", "f-4", D("1.25")), ("other", "SPY", "f-8", D("3.75"))]
