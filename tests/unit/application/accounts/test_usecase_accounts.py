"""Users, logins and invitations through the use cases, over the in-memory store and the real
hasher and token adapters: the 3-session cap, logout, throttling with one generic message,
roles from the store, and the invitation flow with its single use."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.security import Argon2PasswordHasher, HmacInvitationSigner, JwtTokenService
from application.accounts.accounts import GENERIC_FAILURE, MAX_SESSIONS, Accounts, LoginThrottled, PermissionDenied
from application.records import Role
from domain.errors import AuthenticationError, ConfigurationError
from tests.fakes.builders import T0
from tests.fakes.clock import FixedClock
from tests.fakes.memory_store import InMemoryStore

PASSWORD = "correct horse battery"


@pytest.fixture
def accounts():
    clock = FixedClock(T0)
    return Accounts(uow_factory=InMemoryStore(wall_clock=clock), clock=clock, hasher=Argon2PasswordHasher.for_tests(),
                    tokens=JwtTokenService(secret=b"k" * 32, issuer="quantshift", audience="quantshift-admin"),
                    invitations_signer=HmacInvitationSigner(key=b"i" * 32))


def test_a_fourth_login_revokes_the_oldest_session_and_its_token_stops_working(accounts):
    accounts.create_user(email="Ops@Example.com", password=PASSWORD, role=Role.OPERATOR)
    logins = []
    for i in range(MAX_SESSIONS + 1):
        accounts.clock.advance(timedelta(seconds=1))
        logins.append(accounts.login(email="ops@example.com", password=PASSWORD, address=f"10.0.0.{i}"))
    assert logins[-1].revoked == (logins[0].session.session_id,)
    with pytest.raises(AuthenticationError, match="not live"):
        accounts.authenticate(logins[0].token)
    for login in logins[1:]:
        principal = accounts.authenticate(login.token)
        assert principal.email == "ops@example.com" and principal.role is Role.OPERATOR


def test_logout_and_logout_everywhere_revoke_at_once(accounts):
    accounts.create_user(email="a@example.com", password=PASSWORD, role=Role.VIEWER)
    first = accounts.login(email="a@example.com", password=PASSWORD, address="1.1.1.1")
    second = accounts.login(email="a@example.com", password=PASSWORD, address="1.1.1.2")
    accounts.logout(accounts.authenticate(first.token))
    with pytest.raises(AuthenticationError):
        accounts.authenticate(first.token)
    assert accounts.logout_everywhere(accounts.authenticate(second.token)) == 1
    with pytest.raises(AuthenticationError):
        accounts.authenticate(second.token)


def test_failures_say_the_same_thing_and_slow_down_per_account_and_address(accounts):
    accounts.create_user(email="b@example.com", password=PASSWORD, role=Role.VIEWER)
    messages = set()
    for email, password in [("b@example.com", "wrong password!"), ("nobody@example.com", PASSWORD)]:
        with pytest.raises(AuthenticationError) as failure:
            accounts.login(email=email, password=password, address="2.2.2.2")
        messages.add(str(failure.value))
    assert messages == {GENERIC_FAILURE}
    for _ in range(5):
        with pytest.raises(AuthenticationError, match=GENERIC_FAILURE):
            accounts.login(email="b@example.com", password="wrong password!", address="3.3.3.3")
    # The guesser's pair waits; the owner's right password from another address does not
    # (seen: 5 wrong passwords refused the right one from every address for 900 s).
    with pytest.raises(LoginThrottled) as throttled:
        accounts.login(email="b@example.com", password=PASSWORD, address="3.3.3.3")
    assert throttled.value.retry_after_seconds == 1
    assert accounts.login(email="b@example.com", password=PASSWORD, address="4.4.4.4").token
    # Each further failure of the pair doubles its wait: slowed, never locked out.
    waits = []
    for _ in range(9):
        accounts.clock.advance(timedelta(seconds=waits[-1] if waits else 1))
        with pytest.raises(AuthenticationError, match=GENERIC_FAILURE):
            accounts.login(email="b@example.com", password="wrong password!", address="3.3.3.3")
        with pytest.raises(LoginThrottled) as throttled:
            accounts.login(email="b@example.com", password="wrong password!", address="3.3.3.3")
        waits.append(throttled.value.retry_after_seconds)
    assert waits == [2, 4, 8, 16, 32, 60, 60, 60, 60]
    accounts.clock.advance(timedelta(seconds=60))
    assert accounts.login(email="b@example.com", password=PASSWORD, address="3.3.3.3").token
    # A success starts the pair over: five free failures again.
    for _ in range(5):
        with pytest.raises(AuthenticationError, match=GENERIC_FAILURE):
            accounts.login(email="b@example.com", password="wrong password!", address="3.3.3.3")


def test_many_accounts_behind_one_address_do_not_slow_each_other(accounts):
    """Seen: 20 failures from one address refused every user there (everyone behind a proxy)."""
    accounts.create_user(email="c@example.com", password=PASSWORD, role=Role.VIEWER)
    for n in range(30):
        with pytest.raises(AuthenticationError, match=GENERIC_FAILURE):
            accounts.login(email=f"guess{n}@example.com", password="wrong password!", address="10.9.9.9")
    assert accounts.login(email="c@example.com", password=PASSWORD, address="10.9.9.9").token


def test_the_role_comes_from_the_store_and_viewers_cannot_invite(accounts):
    admin = accounts.create_user(email="root@example.com", password=PASSWORD, role=Role.ADMIN)
    viewer = accounts.create_user(email="v@example.com", password=PASSWORD, role=Role.VIEWER)
    token = accounts.login(email="v@example.com", password=PASSWORD, address="5.5.5.5").token
    with pytest.raises(PermissionDenied, match="viewer may not invitations.manage"):
        accounts.invite(accounts.authenticate(token), email="new@example.com", role=Role.VIEWER)
    with accounts.uow_factory() as uow:
        import attrs

        uow.users.save(attrs.evolve(viewer, role=Role.OPERATOR))
        uow.commit()
    assert accounts.authenticate(token).role is Role.OPERATOR  # a change of role applies at once
    assert admin.role is Role.ADMIN


def test_an_invitation_verifies_the_address_sets_the_password_and_works_once(accounts):
    accounts.create_user(email="root@example.com", password=PASSWORD, role=Role.ADMIN)
    admin = accounts.authenticate(accounts.login(email="root@example.com", password=PASSWORD, address="6.6.6.6").token)
    invitation, link_token = accounts.invite(admin, email="New.Person@Example.com", role=Role.OPERATOR)
    assert invitation.email == "new.person@example.com"
    with pytest.raises(ConfigurationError, match="password"):
        accounts.accept_invitation(token=link_token, password="short")
    user = accounts.accept_invitation(token=link_token, password=PASSWORD)
    assert user.email_verified and user.role is Role.OPERATOR
    assert accounts.login(email="new.person@example.com", password=PASSWORD, address="7.7.7.7").token
    with pytest.raises(AuthenticationError, match="used already"):
        accounts.accept_invitation(token=link_token, password=PASSWORD)
    _, late = accounts.invite(admin, email="late@example.com", role=Role.VIEWER)
    accounts.clock.advance(timedelta(days=4))
    with pytest.raises(AuthenticationError, match="expired"):
        accounts.accept_invitation(token=late, password=PASSWORD)
    with pytest.raises(AuthenticationError):
        accounts.accept_invitation(token=link_token[:-2] + "xx", password=PASSWORD)


def test_a_second_user_with_the_same_email_and_a_weak_password_are_refused(accounts):
    accounts.create_user(email="c@example.com", password=PASSWORD, role=Role.VIEWER)
    with pytest.raises(ConfigurationError, match="exists already"):
        accounts.create_user(email="C@example.com", password=PASSWORD, role=Role.VIEWER)
    with pytest.raises(ConfigurationError, match="password"):
        accounts.create_user(email="d@example.com", password="aaaaaaaaaaaaaaaa", role=Role.VIEWER)
