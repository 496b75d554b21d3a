"""Logins racing each other on the real stores (SQLite file, Postgres schema) and the fake:
the throttle's count is taken and spent atomically per (account, address), and a login never
hands out a token whose session a racing login already revoked.

Seen before: of 100 concurrent wrong logins for one account 10 were evaluated (limit 5); of
12 concurrent logins 9 got a token whose session was revoked before it was returned."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest

from adapters.security import Argon2PasswordHasher, HmacInvitationSigner, JwtTokenService
from application.accounts.accounts import GENERIC_FAILURE, MAX_SESSIONS, Accounts, LoginRaced, LoginThrottled
from application.records import LoginAttempt, Role
from domain.errors import AuthenticationError
from tests.fakes.builders import T0
from tests.fakes.clock import FixedClock
from tests.fakes.memory_store import InMemoryStore
from tests.integration.conftest import engine_store

PASSWORD = "correct horse battery"


def make_accounts(store, clock: FixedClock) -> Accounts:
    return Accounts(uow_factory=store, clock=clock, hasher=Argon2PasswordHasher.for_tests(),
                    tokens=JwtTokenService(secret=b"k" * 32), invitations_signer=HmacInvitationSigner(key=b"i" * 32))


@pytest.fixture(params=["sqlite", "postgres", "fake"])
def any_store(request, tmp_path):
    """Each real engine (as conftest.store makes them) and the in-memory fake: the port's contract."""
    if request.param == "fake":
        yield InMemoryStore(wall_clock=lambda: T0)
    else:
        yield from engine_store(request.param, request=request, tmp_path=tmp_path)


def test_pair_history_counts_the_pairs_failures_after_its_latest_success(any_store) -> None:
    def at(seconds: int) -> datetime:
        return T0 + timedelta(seconds=seconds)

    with any_store() as uow:
        uow.login_attempts.lock_pair(email="ann@example.com", address="10.0.0.1")
        first = uow.login_attempts.begin(LoginAttempt(ts=at(0), email="ann@example.com", address="10.0.0.1",
                                                      succeeded=False))
        uow.login_attempts.begin(LoginAttempt(ts=at(1), email="ann@example.com", address="10.0.0.1", succeeded=False))
        uow.login_attempts.begin(LoginAttempt(ts=at(2), email="ann@example.com", address="10.0.0.2", succeeded=False))
        uow.login_attempts.begin(LoginAttempt(ts=at(3), email="bob@example.com", address="10.0.0.1", succeeded=False))
        uow.commit()
    with any_store() as uow:
        history = uow.login_attempts.pair_history(email="ann@example.com", address="10.0.0.1", since=T0)
        assert (history.failures, history.last_failure_at) == (2, at(1))
        assert uow.login_attempts.pair_history(email="ann@example.com", address="10.0.0.1", since=at(1)).failures == 1
        nobody = uow.login_attempts.pair_history(email="cid@example.com", address="10.0.0.1", since=T0)
        assert (nobody.failures, nobody.last_failure_at) == (0, None)
        # A begun attempt counts as failed until it succeeds; a success starts the pair over.
        uow.login_attempts.succeed(first)
        assert uow.login_attempts.pair_history(email="ann@example.com", address="10.0.0.1", since=T0).failures == 1
        second = uow.login_attempts.begin(LoginAttempt(ts=at(4), email="ann@example.com", address="10.0.0.1",
                                                       succeeded=False))
        uow.login_attempts.succeed(second)
        assert uow.login_attempts.pair_history(email="ann@example.com", address="10.0.0.1", since=T0).failures == 0
        with pytest.raises(LookupError):
            uow.login_attempts.succeed(10_000)


def test_concurrent_wrong_logins_for_one_pair_are_evaluated_no_more_than_the_throttle_allows(store) -> None:
    clock = FixedClock(T0)  # time stands still: only the free failures may be evaluated
    accounts = make_accounts(store, clock)
    accounts.create_user(email="ops@example.com", password=PASSWORD, role=Role.OPERATOR)
    start = threading.Barrier(24)

    def wrong(_: int) -> str:
        start.wait()
        try:
            accounts.login(email="ops@example.com", password="not the password", address="10.0.0.1")
        except LoginThrottled:
            return "throttled"
        except AuthenticationError as exc:
            assert str(exc) == GENERIC_FAILURE
            return "evaluated"
        return "logged in"

    with ThreadPoolExecutor(max_workers=24) as pool:
        outcomes = list(pool.map(wrong, range(24)))
    assert outcomes.count("evaluated") == accounts.throttle.free_failures, outcomes
    assert outcomes.count("throttled") == 24 - accounts.throttle.free_failures
    # The right password from another address is not slowed by the guesser's pair.
    assert accounts.login(email="ops@example.com", password=PASSWORD, address="10.0.0.2").token


class RacingTokens:
    """The TokenService port with a race put in: the first token it issues is issued only after
    `race()` ran (other logins of the same user completing in the gap between the session's
    commit and the token leaving the use case)."""

    def __init__(self, inner: JwtTokenService) -> None:
        self.inner = inner
        self.race = lambda: None
        self._raced = False

    def issue(self, **kwargs) -> str:
        if not self._raced:
            self._raced = True
            self.race()
        return self.inner.issue(**kwargs)

    def verify(self, token: str, *, now: datetime):
        return self.inner.verify(token, now=now)


def test_a_login_whose_session_a_racing_login_revoked_hands_out_no_token(any_store) -> None:
    clock = FixedClock(T0)
    accounts = make_accounts(any_store, clock)
    accounts.create_user(email="ops@example.com", password=PASSWORD, role=Role.OPERATOR)
    racing = RacingTokens(accounts.tokens)
    accounts.tokens = racing
    winners = []
    racing.race = lambda: winners.extend(
        accounts.login(email="ops@example.com", password=PASSWORD, address="10.0.0.2") for _ in range(MAX_SESSIONS))
    with pytest.raises(LoginRaced, match="log in again"):
        accounts.login(email="ops@example.com", password=PASSWORD, address="10.0.0.1")
    # The racing logins' tokens are all live: every token handed out works when handed out.
    assert [accounts.authenticate(w.token).email for w in winners] == ["ops@example.com"] * MAX_SESSIONS


def test_concurrent_logins_hand_out_only_tokens_that_are_live(store) -> None:
    clock = FixedClock(T0)
    accounts = make_accounts(store, clock)
    accounts.create_user(email="ops@example.com", password=PASSWORD, role=Role.OPERATOR)
    start = threading.Barrier(12)

    def log_in(n: int):
        start.wait()
        try:
            return accounts.login(email="ops@example.com", password=PASSWORD, address=f"10.0.1.{n}")
        except LoginRaced:
            return None

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(log_in, range(12)))
    handed_out = [r for r in results if r is not None]
    assert handed_out, "every login lost the race"
    with store() as uow:
        live = {s.session_id for s in uow.login_sessions.live(handed_out[0].session.user_id, now=T0)}
    assert len(live) == MAX_SESSIONS
