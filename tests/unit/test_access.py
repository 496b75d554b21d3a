"""The admin platform's permission matrix, login throttle, password rules and e-mail form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.records import Role
from domain.access import (
    MAX_PASSWORD_LENGTH,
    Action,
    LoginThrottle,
    ThrottleDecision,
    allowed,
    check_password,
    normalise_email,
)

# Every role x every action, written out: a change to the matrix must change this table.
MATRIX = [
    # role           read   bots.control  halt   users.manage  settings.manage  invitations.manage
    (Role.VIEWER,   (True,  False,        False, False,        False,           False)),
    (Role.OPERATOR, (True,  True,         True,  False,        False,           False)),
    (Role.ADMIN,    (True,  True,         True,  True,         True,            True)),
]
ACTIONS = ("read", "bots.control", "halt", "users.manage", "settings.manage", "invitations.manage")


@pytest.mark.parametrize(
    ("role", "action", "expected"),
    [(role, action, grant) for role, grants in MATRIX for action, grant in zip(ACTIONS, grants, strict=True)],
    ids=lambda v: getattr(v, "value", v) if not isinstance(v, bool) else str(v),
)
def test_permission_matrix(role, action, expected):
    assert allowed(role, action) is expected
    assert allowed(role.value, Action(action)) is expected


def test_the_table_covers_every_role_and_action():
    assert {role for role, _ in MATRIX} == set(Role)
    assert set(ACTIONS) == {a.value for a in Action}


@pytest.mark.parametrize(("role", "action"), [("superuser", "read"), (Role.ADMIN, "bots.delete"), ("admin", "")])
def test_an_unknown_role_or_action_is_an_error_not_a_quiet_answer(role, action):
    with pytest.raises(ValueError, match="unknown"):
        allowed(role, action)


# --- throttle --------------------------------------------------------------------------------


def test_throttle_defaults():
    throttle = LoginThrottle()
    assert (throttle.max_failures_per_email, throttle.max_failures_per_address, throttle.window) == (
        5,
        20,
        timedelta(minutes=15),
    )
    assert throttle.decide(4, 19) == ThrottleDecision(allowed=True, retry_after_seconds=0, reason="")
    blocked = throttle.decide(5, 0)
    assert not blocked.allowed and blocked.retry_after_seconds == 900 and "account" in blocked.reason
    blocked = throttle.decide(0, 20)
    assert not blocked.allowed and blocked.retry_after_seconds == 900 and "address" in blocked.reason


@given(
    per_email=st.integers(min_value=1, max_value=50),
    per_address=st.integers(min_value=1, max_value=200),
    window=st.integers(min_value=1, max_value=86_400),
    email_failures=st.integers(min_value=0, max_value=300),
    address_failures=st.integers(min_value=0, max_value=300),
)
def test_throttle_never_allows_past_a_limit_and_always_allows_below_both(
    per_email, per_address, window, email_failures, address_failures
):
    throttle = LoginThrottle(max_failures_per_email=per_email, max_failures_per_address=per_address,
                             window=timedelta(seconds=window))
    decision = throttle.decide(email_failures, address_failures)
    below = email_failures < per_email and address_failures < per_address
    assert decision.allowed is below
    if decision.allowed:
        assert decision.retry_after_seconds == 0
    else:
        assert 0 < decision.retry_after_seconds <= window and decision.reason


def test_throttle_refuses_nonsense():
    with pytest.raises(ValueError):
        LoginThrottle(max_failures_per_email=0)
    with pytest.raises(ValueError):
        LoginThrottle(window=timedelta(0))
    with pytest.raises(ValueError):
        LoginThrottle().decide(-1, 0)


# --- passwords -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "at least 12"),
        ("", "at least 12"),
        ("a" * 12, "one character repeated"),
        ("x" * (MAX_PASSWORD_LENGTH + 1), "at most 256"),
        ("Alice@Example.com", "e-mail address"),
    ],
)
def test_password_problems(password, problem):
    problems = check_password(password, email="alice@example.com")
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize("password", ["correct horse battery", "y" * 255 + "z", "ünïcödé-pässwörd"])
def test_good_passwords_have_no_problems(password):
    assert check_password(password, email="alice@example.com") == []


def test_length_counts_characters_not_bytes():
    assert check_password("é" * 6 + "abcdef") == []  # 12 characters, 18 bytes


# --- e-mail ----------------------------------------------------------------------------------


def test_normalise_email_strips_and_lowers():
    assert normalise_email("  Alice.Smith+bots@Example.COM \n") == "alice.smith+bots@example.com"


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("alice", "exactly one '@'"),
        ("a@b@example.com", "exactly one '@'"),
        ("@example.com", "nothing before"),
        ("alice@", "domain"),
        ("alice@localhost", "domain"),
        ("alice@example..com", "domain"),
        ("alice@.example.com", "domain"),
        ("al ice@example.com", "spaces"),
        ("alice@exa\x00mple.com", "control"),
        ("a" * 250 + "@example.com", "longer than"),
    ],
)
def test_normalise_email_refuses_with_a_clear_message(email, message):
    with pytest.raises(ValueError, match=message):
        normalise_email(email)
