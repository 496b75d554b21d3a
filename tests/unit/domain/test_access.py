"""The admin platform's permission matrix, login throttle, password rules and e-mail form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
    # role           read   bots.control  halt   users.manage  settings.manage  invitations.manage  golive.check  golive.approve  alerts.ack
    (Role.VIEWER,   (True,  False,        False, False,        False,           False,              False,        False,          False)),
    (Role.OPERATOR, (True,  True,         True,  False,        False,           False,              True,         False,          True)),
    (Role.ADMIN,    (True,  True,         True,  True,         True,            True,               True,         True,           True)),
]
ACTIONS = ("read", "bots.control", "halt", "users.manage", "settings.manage", "invitations.manage", "golive.check",
           "golive.approve", "alerts.ack")


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


def test_throttle_defaults_slow_down_and_never_lock_out():
    throttle = LoginThrottle()
    assert (throttle.free_failures, throttle.first_delay, throttle.max_delay, throttle.window) == (
        5, timedelta(seconds=1), timedelta(seconds=60), timedelta(minutes=15))
    assert [throttle.delay_after(n).total_seconds() for n in range(4, 14)] == [0, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert throttle.delay_after(10**6) == timedelta(seconds=60)
    last = datetime(2025, 1, 1, tzinfo=UTC)
    assert throttle.decide(failures=4, last_attempt_at=last, now=last) == ThrottleDecision(
        allowed=True, retry_after_seconds=0, reason="")
    refused = throttle.decide(failures=7, last_attempt_at=last, now=last + timedelta(seconds=1.5))
    assert not refused.allowed and refused.retry_after_seconds == 3 and "address" in refused.reason
    assert throttle.decide(failures=7, last_attempt_at=last, now=last + timedelta(seconds=4)).allowed


@given(
    free=st.integers(min_value=1, max_value=50),
    first=st.integers(min_value=1, max_value=60),
    ceiling=st.integers(min_value=60, max_value=3600),
    failures=st.integers(min_value=0, max_value=10_000),
    elapsed=st.floats(min_value=0, max_value=7200),
)
def test_throttle_waits_at_most_the_ceiling_and_only_past_the_free_failures(free, first, ceiling, failures, elapsed):
    throttle = LoginThrottle(free_failures=free, first_delay=timedelta(seconds=first),
                             max_delay=timedelta(seconds=ceiling))
    last = datetime(2025, 1, 1, tzinfo=UTC)
    decision = throttle.decide(failures=failures, last_attempt_at=last, now=last + timedelta(seconds=elapsed))
    if failures < free or elapsed >= ceiling:
        assert decision.allowed and decision.retry_after_seconds == 0
    if not decision.allowed:
        assert 0 < decision.retry_after_seconds <= ceiling and decision.reason


def test_throttle_refuses_nonsense():
    with pytest.raises(ValueError):
        LoginThrottle(free_failures=0)
    with pytest.raises(ValueError):
        LoginThrottle(window=timedelta(0))
    with pytest.raises(ValueError):
        LoginThrottle(first_delay=timedelta(seconds=10), max_delay=timedelta(seconds=5))
    with pytest.raises(ValueError):
        LoginThrottle().delay_after(-1)


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
