"""The use-case side of invitations and logins the admin endpoints rely on: a throttled
login is its own exception (with the wait), the invitation lifetime is configurable and
an expired link is refused (fixed clock), the accept page's look-up, and the link target."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from adapters.security import Argon2PasswordHasher, HmacInvitationSigner, JwtTokenService
from application.accounts.accounts import Accounts, InvitationClosed, LoginThrottled, UnknownInvitation
from application.accounts.invitation_mail import send_invitation
from application.records import Role
from domain.errors import AuthenticationError, ConfigurationError
from tests.fakes.builders import T0
from tests.fakes.clock import FixedClock
from tests.fakes.mailer import RecordingMailer
from tests.fakes.memory_store import InMemoryStore

PASSWORD = "correct horse battery"


def make_accounts(*, lifetime: timedelta | None = None) -> Accounts:
    clock = FixedClock(T0)
    extra = {"invitation_lifetime": lifetime} if lifetime is not None else {}
    return Accounts(uow_factory=InMemoryStore(wall_clock=clock), clock=clock, hasher=Argon2PasswordHasher.for_tests(),
                    tokens=JwtTokenService(secret=b"k" * 32, issuer="quantshift", audience="quantshift-admin"),
                    invitations_signer=HmacInvitationSigner(key=b"i" * 32), **extra)


def admin(accounts: Accounts):
    accounts.create_user(email="root@example.com", password=PASSWORD, role=Role.ADMIN)
    return accounts.authenticate(accounts.login(email="root@example.com", password=PASSWORD, address="10.0.0.1").token)


def test_a_throttled_login_is_login_throttled_with_the_wait_and_the_generic_message():
    accounts = make_accounts()
    for _ in range(5):
        with pytest.raises(AuthenticationError) as failure:
            accounts.login(email="ghost@example.com", password="guess number one", address="1.1.1.1")
        assert not isinstance(failure.value, LoginThrottled)
    with pytest.raises(LoginThrottled) as throttled:  # per (account, address): the sixth waits a second
        accounts.login(email="ghost@example.com", password="guess number one", address="1.1.1.1")
    assert throttled.value.retry_after_seconds == 1
    assert str(throttled.value) == "too many failed logins; try again in 1 s"
    with pytest.raises(AuthenticationError) as other:  # another address is not slowed
        accounts.login(email="ghost@example.com", password="guess number one", address="2.2.2.2")
    assert not isinstance(other.value, LoginThrottled)


def test_the_invitation_lifetime_is_configurable_and_an_expired_link_is_refused():
    accounts = make_accounts(lifetime=timedelta(hours=1))
    invitation, token = accounts.invite(admin(accounts), email="new@example.com", role=Role.VIEWER)
    assert invitation.expires_at == T0 + timedelta(hours=1)
    assert accounts.pending_invitation(token) == invitation
    accounts.clock.advance(timedelta(hours=1))
    with pytest.raises(AuthenticationError, match="expired"):
        accounts.pending_invitation(token)
    with pytest.raises(AuthenticationError, match="expired"):
        accounts.accept_invitation(token=token, password="a brand new pass phrase")


def test_the_accept_page_lookup_refuses_a_used_or_forged_link():
    accounts = make_accounts()
    _, token = accounts.invite(admin(accounts), email="new@example.com", role=Role.OPERATOR)
    accounts.accept_invitation(token=token, password="a brand new pass phrase")
    for bad in (token, token[:-2] + "xx", "", "garbage"):
        with pytest.raises(AuthenticationError):
            accounts.pending_invitation(bad)


def test_the_link_points_at_the_configured_page():
    accounts = make_accounts()
    mailer = RecordingMailer()
    send_invitation(accounts=accounts, mailer=mailer, principal=admin(accounts), email="new@example.com",
                    role=Role.VIEWER, base_url="https://qs.example.com/", accept_path="/dashboard/welcome")
    [(_, _, text)] = mailer.sent
    [link] = re.findall(r"https://\S+", text)
    assert link.startswith("https://qs.example.com/dashboard/welcome?token=")
    [token] = parse_qs(urlsplit(link).query)["token"]
    assert accounts.pending_invitation(token).email == "new@example.com"


@pytest.mark.parametrize("path", ["dashboard", "/accept?x=1", "/a#b"])
def test_a_bad_accept_path_creates_no_invitation(path):
    accounts = make_accounts()
    with pytest.raises(ConfigurationError, match="accept_path"):
        send_invitation(accounts=accounts, mailer=RecordingMailer(), principal=admin(accounts),
                        email="new@example.com", role=Role.VIEWER, base_url="https://qs.example.com",
                        accept_path=path)
    with accounts.uow_factory() as uow:
        assert uow.invitations.list() == []


def test_a_revoked_invitation_is_refused_audited_and_revoked_only_once():
    accounts = make_accounts()
    root = admin(accounts)
    invitation, token = accounts.invite(root, email="new@example.com", role=Role.OPERATOR)
    revoked = accounts.revoke_invitation(root, invitation_id=invitation.invitation_id)
    assert revoked.revoked_at == T0 and revoked.accepted_at is None
    with pytest.raises(AuthenticationError, match="revoked"):
        accounts.pending_invitation(token)
    with pytest.raises(AuthenticationError, match="revoked"):
        accounts.accept_invitation(token=token, password="a brand new pass phrase")
    with pytest.raises(InvitationClosed, match="revoked already"):
        accounts.revoke_invitation(root, invitation_id=invitation.invitation_id)
    with pytest.raises(UnknownInvitation):
        accounts.revoke_invitation(root, invitation_id="i-unknown")
    with accounts.uow_factory() as uow:
        assert uow.users.by_email("new@example.com") is None
        assert any("revoked" in entry.message and entry.data["invitation_id"] == invitation.invitation_id
                   for entry in uow.audit.list())


def test_an_accepted_invitation_cannot_be_revoked_and_only_admins_revoke():
    accounts = make_accounts()
    root = admin(accounts)
    invitation, token = accounts.invite(root, email="new@example.com", role=Role.VIEWER)
    accounts.accept_invitation(token=token, password="a brand new pass phrase")
    with pytest.raises(InvitationClosed, match="accepted already"):
        accounts.revoke_invitation(root, invitation_id=invitation.invitation_id)
    viewer = accounts.authenticate(accounts.login(email="new@example.com", password="a brand new pass phrase",
                                                  address="10.0.0.2").token)
    with pytest.raises(AuthenticationError):  # PermissionDenied is an AuthenticationError
        accounts.revoke_invitation(viewer, invitation_id=invitation.invitation_id)
