"""Declared strategy parameters: checked values, safe conversions, unknown names, search spaces."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.strategy_params import (
    Param,
    ParamError,
    ParamKind,
    SearchDimension,
    bind_params,
    bool_param,
    choice_param,
    float_param,
    int_param,
    search_space,
)

PERIOD = int_param("period", default=14, low=2, high=100, help="RSI length")
LEVEL = float_param("level", default=30.0, low=1.0, high=50.0, step=0.5)
SHORT = bool_param("allow_short", default=False)
CONFIRM = choice_param("confirm", default="none", choices=("none", "volume"))
DECLARED = (PERIOD, LEVEL, SHORT, CONFIRM)


def test_values_in_range_pass_and_come_back_as_their_kind():
    assert PERIOD.validate(2, where="s") == 2 and PERIOD.validate(100, where="s") == 100  # bounds inclusive
    assert LEVEL.validate(1.0, where="s") == 1.0 and LEVEL.validate(50, where="s") == 50.0
    assert SHORT.validate(True, where="s") is True
    assert CONFIRM.validate("volume", where="s") == "volume"


def test_safe_conversions_only():
    # An int where a float is declared, a whole float or a numpy integer where an int is.
    assert type(LEVEL.validate(20, where="s")) is float
    assert PERIOD.validate(14.0, where="s") == 14 and type(PERIOD.validate(14.0, where="s")) is int
    assert type(PERIOD.validate(np.int64(7), where="s")) is int
    assert SHORT.validate(np.bool_(True), where="s") is True


@pytest.mark.parametrize(
    ("param", "value"),
    [
        (PERIOD, True),  # bool is an int subclass; True is not a period of 1
        (PERIOD, 2.5),  # a fraction would be silently truncated
        (PERIOD, "14"),  # no parsing: TOML already gives numbers as numbers
        (PERIOD, float("inf")),
        (PERIOD, 1),
        (PERIOD, 101),
        (LEVEL, float("nan")),
        (LEVEL, float("inf")),
        (LEVEL, False),
        (LEVEL, 0.99),
        (SHORT, 1),
        (SHORT, "true"),
        (CONFIRM, "adx"),
        (CONFIRM, 0),
    ],
)
def test_refused_values_name_the_param_the_value_and_what_is_allowed(param, value):
    with pytest.raises(ParamError) as error:
        param.validate(value, where="rsi_mean_reversion")
    message = str(error.value)
    assert error.value.param == param.name
    assert message.startswith(f"rsi_mean_reversion: {param.name} must be {param.allowed()}")
    assert repr(value) in message


def test_allowed_in_words():
    assert PERIOD.allowed() == "an integer from 2 to 100"
    assert LEVEL.allowed() == "a number from 1 to 50"
    assert SHORT.allowed() == "true or false"
    assert CONFIRM.allowed() == "one of 'none', 'volume'"


def test_bind_fills_defaults_and_converts():
    bound = bind_params(DECLARED, {"period": 5, "level": 20}, strategy="s")
    assert bound == {"period": 5, "level": 20.0, "allow_short": False, "confirm": "none"}
    assert type(bound["level"]) is float
    assert bind_params(DECLARED, {}, strategy="s") == {p.name: p.default for p in DECLARED}


def test_bind_refuses_unknown_names_and_lists_the_known_ones():
    with pytest.raises(ParamError, match=r"s: unknown parameter 'perod'; known: period, level, allow_short, confirm") as error:
        bind_params(DECLARED, {"perod": 5}, strategy="s")
    assert error.value.param == "perod"
    with pytest.raises(ParamError, match="known: none"):
        bind_params((), {"x": 1}, strategy="s")


def test_bind_reports_the_bad_value():
    with pytest.raises(ParamError, match="period must be an integer from 2 to 100, got 1") as error:
        bind_params(DECLARED, {"period": 1}, strategy="s")
    assert error.value.param == "period"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (dict(name="p", kind="int", default=1), "needs both low and high"),
        (dict(name="p", kind="int", default=1, low=5, high=2), "low <= high"),
        (dict(name="p", kind="float", default=1.0, low=0.0, high=math.inf), "must be finite"),
        (dict(name="p", kind="int", default=50, low=1, high=10), "p must be an integer from 1 to 10, got 50"),
        (dict(name="p", kind="float", default=1.0, low=0.0, high=2.0, log=True), "log scale needs low > 0"),
        (dict(name="p", kind="int", default=2, low=1, high=10, step=2, log=True), "cannot have a step"),
        (dict(name="p", kind="int", default=2, low=1, high=10, step=0.5), "whole number"),
        (dict(name="p", kind="float", default=1.0, low=0.0, high=2.0, step=0), "step must be > 0"),
        (dict(name="p", kind="bool", default=True, low=0, high=1), "int and float parameters only"),
        (dict(name="p", kind="choice", default="a"), "needs a non-empty tuple"),
        (dict(name="p", kind="choice", default="c", choices=("a", "b")), "one of 'a', 'b'"),
        (dict(name="p", kind="int", default=1, low=0, high=2, choices=("a",)), "choice parameters only"),
        (dict(name="not a name", kind="bool", default=True), "identifier"),
        (dict(name="p", kind="integer", default=1), "integer"),
    ],
)
def test_a_bad_declaration_fails_when_it_is_made(arguments, message):
    with pytest.raises(ValueError, match=message):
        Param(**arguments)


def test_search_space_is_what_an_optimiser_needs():
    declared = (*DECLARED, float_param("fraction", default=0.1, low=0.01, high=1.0, log=True),
                int_param("slow", default=30, low=10, high=200, step=10))
    space = search_space(declared)
    assert list(space) == ["period", "level", "allow_short", "confirm", "fraction", "slow"]
    assert space["period"] == SearchDimension(kind=ParamKind.INT, low=2, high=100, step=1, log=False, choices=())
    assert space["level"] == SearchDimension(kind=ParamKind.FLOAT, low=1.0, high=50.0, step=0.5, log=False, choices=())
    assert space["allow_short"].choices == (False, True)
    assert space["confirm"].choices == ("none", "volume") and space["confirm"].kind is ParamKind.CHOICE
    assert space["fraction"].log and space["fraction"].step is None
    assert space["slow"].step == 10


@given(st.integers(min_value=-10_000, max_value=10_000))
def test_an_int_is_taken_exactly_when_in_range(value):
    if 2 <= value <= 100:
        assert PERIOD.validate(value, where="s") == value
        assert PERIOD.validate(float(value), where="s") == value
    else:
        with pytest.raises(ParamError):
            PERIOD.validate(value, where="s")


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_a_float_is_taken_exactly_when_finite_and_in_range(value):
    if math.isfinite(value) and 1.0 <= value <= 50.0:
        assert LEVEL.validate(value, where="s") == value
    else:
        with pytest.raises(ParamError, match="level must be a number from 1 to 50"):
            LEVEL.validate(value, where="s")


@given(st.floats(min_value=-1e6, max_value=1e6).filter(lambda v: not float(v).is_integer()))
def test_a_fraction_is_never_an_int(value):
    with pytest.raises(ParamError):
        PERIOD.validate(value, where="s")


@given(st.dictionaries(st.sampled_from([p.name for p in DECLARED]),
                       st.one_of(st.integers(-5, 200), st.floats(allow_nan=True), st.booleans(), st.sampled_from(["none", "volume", "adx", "1"]))))
def test_bind_either_returns_every_declared_name_checked_or_names_the_bad_one(given_params):
    try:
        bound = bind_params(DECLARED, given_params, strategy="s")
    except ParamError as error:
        assert error.param in given_params
        return
    assert set(bound) == {p.name for p in DECLARED}
    for param in DECLARED:
        assert param.validate(bound[param.name], where="s") == bound[param.name]
