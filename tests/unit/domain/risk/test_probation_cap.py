"""The probation cap on a live bot's entries (domain/risk/probation_cap.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from domain.accounting.instrument import crypto, equity
from domain.orders.intent import OrderIntent
from domain.orders.order import OrderSide, OrderType
from domain.risk.probation_cap import ProbationCap

T = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)
CAP = ProbationCap(fraction=Decimal("0.1"), label="probation since 2026-12-01, 10 trading days")


def intent(quantity: str, *, price: str = "100", reduces: bool = False, symbol: str = "SPY") -> OrderIntent:
    instrument = crypto(symbol) if "-" in symbol else equity(symbol)
    return OrderIntent(account="alpaca-live", bot="equity", strategy="ma", instrument=instrument,
                       side=OrderSide.SELL if reduces else OrderSide.BUY, quantity=Decimal(quantity),
                       order_type=OrderType.MARKET, signal_ts=T, reference_price=Decimal(price), reduces_risk=reduces)


def check(order: OrderIntent, *, held: str = "0", notional: str = "250000", capital: str = "100000"):
    return CAP.check(order, max_order_notional=Decimal(notional), capital=Decimal(capital),
                     gross_exposure=Decimal(held))


def test_an_entry_within_the_cap_goes_as_it_is() -> None:
    order, result = check(intent("50"))  # 5 000 of a 10 000 positions cap, 25 000 order cap
    assert order.quantity == 50 and result.passed and result.check == "probation"


def test_a_full_size_entry_is_resized_to_the_fraction_of_the_capital() -> None:
    order, result = check(intent("450"))  # 45 000: the bot's certified size
    assert order.quantity == 100 and result.passed
    assert "resized from 450 to 100" in result.detail and "10 %" in result.detail


def test_the_order_notional_cap_binds_too() -> None:
    order, _ = check(intent("450"), notional="5000")  # 10 % of 5 000 = 500
    assert order.quantity == 5


def test_what_is_held_counts_against_the_capital_cap() -> None:
    order, result = check(intent("100"), held="9550")
    assert order.quantity == 4 and result.passed
    denied, result = check(intent("100"), held="10000")
    assert not result.passed and "not one lot fits" in result.detail and denied.quantity == 100


def test_crypto_is_resized_in_its_lots() -> None:
    order, _ = check(intent("1", price="97000", symbol="BTC-USD"), capital="50000")
    assert order.quantity == Decimal("0.05154639")


def test_exits_are_never_capped() -> None:
    order, result = check(intent("450", reduces=True), held="45000")
    assert order.quantity == 450 and result.passed


def test_a_demoted_bot_has_every_entry_denied_and_its_exits_kept() -> None:
    demoted = ProbationCap(fraction=Decimal("0.1"), entries_stopped="win_rate 20.00% outside the band")
    _, result = demoted.check(intent("1"), max_order_notional=Decimal(250000), capital=Decimal(100000),
                              gross_exposure=Decimal(0))
    assert not result.passed and result.detail.startswith("demoted: win_rate")
    _, exit_result = demoted.check(intent("1", reduces=True), max_order_notional=Decimal(250000),
                                   capital=Decimal(100000), gross_exposure=Decimal(100))
    assert exit_result.passed


def test_a_fraction_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="probation fraction"):
        ProbationCap(fraction=Decimal("1.1"))
