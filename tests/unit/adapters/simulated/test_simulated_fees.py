"""Commission models of the simulated venue: exact amounts, quantized to 8 places."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.simulated import MakerTaker, NoCommission, PerNotional, PerShare

D = Decimal
IBKR_LIKE = PerShare(rate=D("0.005"), minimum=D("1.00"), maximum_fraction=D("0.01"))


def charge(model, quantity, price, liquidity="taker") -> Decimal:
    return model.commission(quantity=D(str(quantity)), price=D(str(price)), liquidity=liquidity)


def assert_money(value: Decimal, expected: str) -> None:
    assert value == D(expected)
    assert value.as_tuple().exponent == -8, f"{value} is not quantized to 8 places"


@pytest.mark.parametrize(
    ("quantity", "price", "expected"),
    [
        (100, 50, "1.00000000"),  # 0.50 by rate -> the 1.00 minimum
        (200, 50, "1.00000000"),  # exactly the minimum
        (1000, 50, "5.00000000"),  # 5.00 by rate, above the minimum, below the 1% cap (500)
        (100, "0.50", "0.50000000"),  # minimum 1.00 capped at 1% of a 50.00 notional
        (3, "0.07", "0.00210000"),  # cap of a tiny notional: 1% of 0.21
        (1, "133.33", "1.00000000"),
    ],
)
def test_per_share_with_minimum_and_maximum_fraction(quantity, price, expected):
    assert_money(charge(IBKR_LIKE, quantity, price), expected)


def test_per_share_without_a_cap_charges_the_minimum_however_small_the_trade():
    model = PerShare(rate=D("0.005"), minimum=D("1.00"))
    assert_money(charge(model, 3, "0.07"), "1.00000000")
    assert_money(charge(model, 10_000, "0.07"), "50.00000000")


def test_per_share_defaults_to_no_minimum_and_no_cap():
    model = PerShare(rate=D("0.0035"))
    assert_money(charge(model, 7, 100), "0.02450000")
    assert_money(charge(model, "0.001", 100), "0.00000350")


def test_per_share_ignores_liquidity():
    assert charge(IBKR_LIKE, 1000, 50, "maker") == charge(IBKR_LIKE, 1000, 50, "taker")


@pytest.mark.parametrize(
    ("bps", "quantity", "price", "expected"),
    [
        ("5", "0.12345678", "43210.99", "2.66734484"),  # 2.6673448430061
        ("10", 100, 250, "25.00000000"),
        ("10", 1, "0.000125", "0.00000012"),  # ...125 is a tie: half-even keeps the even 2
        ("10", 1, "0.000135", "0.00000014"),  # ...135 is a tie: half-even goes to the even 4
        ("0", 100, 250, "0E-8"),
    ],
)
def test_per_notional(bps, quantity, price, expected):
    assert_money(charge(PerNotional(bps=D(bps)), quantity, price), expected)


def test_maker_taker_charges_less_for_resting_liquidity():
    model = MakerTaker(maker_bps=D(40), taker_bps=D(60))
    assert_money(charge(model, "0.5", 40000, "maker"), "80.00000000")
    assert_money(charge(model, "0.5", 40000, "taker"), "120.00000000")
    assert_money(charge(model, "0.00012345", "43210.99", "maker"), "0.02133759")  # 0.021337586862 -> half up
    assert_money(charge(model, "0.00012345", "43210.99", "taker"), "0.03200638")  # 0.032006380293 -> down


def test_no_commission_is_zero_for_everything():
    for liquidity in ("maker", "taker"):
        assert NoCommission().commission(quantity=D(1000), price=D("123.45"), liquidity=liquidity) == 0


def test_commission_models_are_immutable_values():
    assert PerShare(rate=D("0.005")) == PerShare(rate=D("0.005"))
    with pytest.raises(AttributeError):
        IBKR_LIKE.rate = D(1)  # type: ignore[misc]
