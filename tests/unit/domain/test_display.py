"""Figures for people (domain/display.py): the CLI tables, the HTML report and the dashboard
format through it, so 0E-8, 455.44000000 and 28-digit quotients never reach a reader."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain import display


@pytest.mark.parametrize(("value", "money", "price", "quantity"), [
    (Decimal("0E-8"), "0.00", "0.00", "0"),
    (Decimal("455.44000000"), "455.44", "455.44", "455.44"),
    (Decimal("46800.1360667710123456789012345"), "46,800.14", "46,800.13606677", "46,800.1360667710123456789012345"),
    (Decimal("0.00012345"), "0.00", "0.00012345", "0.00012345"),
    (Decimal("-0.001"), "0.00", "-0.001", "-0.001"),
    (Decimal("284"), "284.00", "284.00", "284"),
    (Decimal("1E+3"), "1,000.00", "1,000.00", "1,000"),
    (0.1, "0.10", "0.10", "0.1"),
])
def test_money_prices_and_quantities(value, money, price, quantity):
    assert display.money(value) == money
    assert display.price(value) == price
    assert display.quantity(value) == quantity


def test_price_at_the_instruments_tick_and_missing_values():
    assert display.price(Decimal("190.7712"), tick=Decimal("0.01")) == "190.77"
    assert display.price(Decimal("0.123456"), tick=Decimal("0.0001")) == "0.1235"
    assert display.price(None) == "" and display.price(None, missing="–") == "–"
    assert display.money(None) == "" and display.quantity(None, missing="-") == "-"


def test_ratios_percentages_and_settings():
    assert display.percent(0.062092) == "6.21%"
    assert display.percent(Decimal("0.1")) == "10.00%"
    assert display.percent(None) == "n/a" and display.percent(float("inf")) == "inf"
    assert display.percent(-0.00001) == "0.00%"  # no "-0.00%"
    assert display.ratio(2.6) == "2.60" and display.ratio(float("-inf")) == "-inf" and display.ratio(None) == "n/a"
    assert display.signed_money(Decimal("5")) == "+5.00" and display.signed_money(Decimal("-5")) == "-5.00"
    assert display.setting(None) == "unlimited" and display.setting(True) == "on"
    assert display.setting(Decimal("0.50")) == "0.5" and display.setting(0.0) == "0" and display.setting("x") == "x"
