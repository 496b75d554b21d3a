"""The SMTP mailer, the email notifier and the invitation mail against a real SMTP server
(aiosmtpd on loopback): delivery of text + html, refused header injection, the outage and
refusal classification (refused port, silent server, 451, 550, bad login), and the whole
invitation flow from the received email to the new user's first login."""

from __future__ import annotations

import email
import re
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from adapters.mail import EmailNotifier, SmtpMailer
from adapters.security import Argon2PasswordHasher, HmacInvitationSigner, JwtTokenService
from application.accounts.accounts import Accounts
from application.accounts.invitation_mail import send_invitation
from application.ports import AlertLevel
from application.records import Role
from domain.errors import AuthenticationError, ConfigurationError, MailRejected, MailUnavailable
from tests.fakes.builders import T0
from tests.fakes.clock import FixedClock
from tests.fakes.memory_store import InMemoryStore
from tests.fakes.notifier import RecordingNotifier
from tests.support.processes import free_port

PASSWORD = "correct horse battery"
SENDER = "QuantShift <alerts@quantshift.test>"
SMTP_PASSWORD = "s3cret-smtp-pass"


class Collector:
    """An aiosmtpd handler that keeps every accepted message; its replies can be set per test."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.rcpt_reply: str | None = None  # e.g. "550 5.1.1 no such user"
        self.data_reply: str | None = None  # e.g. "451 4.3.0 try again later"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.data_reply:
            return self.data_reply
        self.messages.append((list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content, policy=default_policy)))
        return "250 Message accepted for delivery"


def start(handler: Collector, **options) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), server_hostname="smtp.test",
                            ready_timeout=5, **options)
    controller.start()
    return controller


@pytest.fixture
def server() -> Iterator[tuple[Collector, int]]:
    handler = Collector()
    controller = start(handler)
    yield handler, controller.port
    controller.stop()


def mailer(port: int, **options) -> SmtpMailer:
    return SmtpMailer(host="127.0.0.1", port=port, sender=SENDER, timeout=options.pop("timeout", 2.0),
                      local_hostname="client.test", **options)


def test_text_and_html_arrive_as_multipart_alternative(server):
    handler, port = server
    mailer(port).send(to="Ops@Example.com", subject="Grüße: halted", text="plain body ✓", html="<p>html body</p>")
    [(rcpt, message)] = handler.messages
    assert rcpt == ["ops@example.com"]
    assert message["To"] == "ops@example.com" and message["Subject"] == "Grüße: halted"
    assert message["From"] == SENDER and message["Message-ID"] and message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().strip() == "plain body ✓"
    assert message.get_body(("html",)).get_content().strip() == "<p>html body</p>"


def test_text_only_is_a_single_part(server):
    handler, port = server
    mailer(port).send(to="a@example.com", subject="s", text="just text")
    [(_, message)] = handler.messages
    assert message.get_content_type() == "text/plain" and message.get_content().strip() == "just text"


@pytest.mark.parametrize("field, value", [
    ("to", "a@example.com\r\nBcc: victim@example.com"),
    ("to", "a@example.com\nBcc: victim@example.com"),
    ("to", "a@example.com, victim@example.com"),
    ("subject", "hello\r\nBcc: victim@example.com"),
    ("subject", "hello\nX-Injected: 1"),
])
def test_header_injection_is_refused_before_anything_is_sent(server, field, value):
    handler, port = server
    arguments = {"to": "a@example.com", "subject": "fine", "text": "body"} | {field: value}
    with pytest.raises(MailRejected):
        mailer(port).send(**arguments)
    assert handler.messages == []


def test_a_closed_port_is_unavailable_at_once():
    started = time.monotonic()
    with pytest.raises(MailUnavailable, match="cannot reach 127.0.0.1"):
        mailer(free_port(), timeout=0.5).send(to="a@example.com", subject="s", text="t")
    assert time.monotonic() - started < 1.0


def test_a_server_that_never_greets_times_out():
    with socket.socket() as silent:  # accepts connections (backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        started = time.monotonic()
        with pytest.raises(MailUnavailable, match="did not answer within 0.3 s"):
            mailer(silent.getsockname()[1], timeout=0.3).send(to="a@example.com", subject="s", text="t")
    assert time.monotonic() - started < 2.0


def test_451_is_unavailable_and_550_is_rejected(server):
    handler, port = server
    handler.data_reply = "451 4.3.0 mailbox busy, try later"
    with pytest.raises(MailUnavailable, match="451"):
        mailer(port).send(to="a@example.com", subject="s", text="t")
    handler.data_reply = None
    handler.rcpt_reply = "450 4.2.1 greylisted"
    with pytest.raises(MailUnavailable, match="450"):
        mailer(port).send(to="a@example.com", subject="s", text="t")
    handler.rcpt_reply = "550 5.1.1 no such user"
    with pytest.raises(MailRejected, match="recipient refused.*550"):
        mailer(port).send(to="nobody@example.com", subject="s", text="t")
    assert handler.messages == []


def test_login_works_and_a_refused_login_never_shows_the_password():
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"alerts" and auth_data.password == SMTP_PASSWORD.encode()
        return AuthResult(success=ok, handled=False)

    handler = Collector()
    controller = start(handler, authenticator=authenticator, auth_require_tls=False)
    try:
        good = mailer(controller.port, username="alerts", password=SMTP_PASSWORD)
        good.send(to="a@example.com", subject="s", text="t")
        assert len(handler.messages) == 1 and SMTP_PASSWORD not in repr(good)
        with pytest.raises(ConfigurationError, match="refused the login") as refused:
            mailer(controller.port, username="alerts", password="wrong-" + SMTP_PASSWORD).send(
                to="a@example.com", subject="s", text="t")
        assert SMTP_PASSWORD not in str(refused.value)
        assert refused.value.__cause__ is None and refused.value.__suppress_context__
    finally:
        controller.stop()


def test_the_notifier_mails_at_or_above_its_level(server):
    handler, port = server
    fallback = RecordingNotifier()
    notifier = EmailNotifier(mailer=mailer(port), recipients=("ops@example.com", "cto@example.com"),
                             min_level=AlertLevel.WARNING, fallback=fallback)
    notifier.notify(level=AlertLevel.INFO, title="heartbeat", body="fine")
    notifier.notify(level=AlertLevel.CRITICAL, title="trading halted\r\nBcc: x@evil.test", body="daily loss limit")
    notifier.notify(level=AlertLevel.WARNING, title="feed stale", body="no bar for 5 min")
    subjects = [(rcpt, message["Subject"]) for rcpt, message in handler.messages]
    assert subjects == [
        (["ops@example.com"], "[QuantShift CRITICAL] trading halted Bcc: x@evil.test"),
        (["cto@example.com"], "[QuantShift CRITICAL] trading halted Bcc: x@evil.test"),
        (["ops@example.com"], "[QuantShift WARNING] feed stale"),
        (["cto@example.com"], "[QuantShift WARNING] feed stale"),
    ]
    assert fallback.sent == []


def test_the_notifier_never_raises_when_the_server_is_down_and_logs_instead():
    fallback = RecordingNotifier()
    notifier = EmailNotifier(mailer=mailer(free_port(), timeout=0.5), recipients=("a@example.com", "b@example.com"),
                             min_level=AlertLevel.INFO, fallback=fallback)
    started = time.monotonic()
    notifier.notify(level=AlertLevel.CRITICAL, title="trading halted", body="daily loss limit")
    assert time.monotonic() - started < 1.0
    [alert] = fallback.sent
    assert alert.level is AlertLevel.CRITICAL and alert.title == "trading halted"
    assert alert.body.startswith("daily loss limit") and "the alert email failed" in alert.body
    assert "b@example.com" not in alert.body  # the server is down for everybody: tried once


def test_one_refused_recipient_does_not_stop_the_others(server):
    handler, port = server

    class Picky(Collector):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
            if address.startswith("gone@"):
                return "550 5.1.1 no such user"
            return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    picky = Picky()
    controller = start(picky)
    try:
        fallback = RecordingNotifier()
        notifier = EmailNotifier(mailer=mailer(controller.port), recipients=("gone@example.com", "ops@example.com"),
                                 min_level=AlertLevel.INFO, fallback=fallback)
        notifier.notify(level=AlertLevel.WARNING, title="t", body="b")
    finally:
        controller.stop()
    assert [rcpt for rcpt, _ in picky.messages] == [["ops@example.com"]]
    [alert] = fallback.sent
    assert "gone@example.com" in alert.body and "550" in alert.body


# --- the invitation, end to end ----------------------------------------------------------------


@pytest.fixture
def accounts() -> Accounts:
    clock = FixedClock(T0)
    return Accounts(uow_factory=InMemoryStore(wall_clock=clock), clock=clock, hasher=Argon2PasswordHasher.for_tests(),
                    tokens=JwtTokenService(secret=b"k" * 32, issuer="quantshift", audience="quantshift-admin"),
                    invitations_signer=HmacInvitationSigner(key=b"i" * 32))


def admin_principal(accounts: Accounts):
    accounts.create_user(email="root@example.com", password=PASSWORD, role=Role.ADMIN)
    login = accounts.login(email="root@example.com", password=PASSWORD, address="127.0.0.1")
    return accounts.authenticate(login.token)


def test_an_emailed_invitation_is_accepted_from_the_link_once(server, accounts):
    handler, port = server
    invitation = send_invitation(accounts=accounts, mailer=mailer(port), principal=admin_principal(accounts),
                                 email="New.Person@Example.com", role=Role.OPERATOR,
                                 base_url="https://admin.quantshift.test/")
    [(rcpt, message)] = handler.messages
    assert rcpt == ["new.person@example.com"] == [invitation.email]
    text = message.get_body(("plain",)).get_content()
    page = message.get_body(("html",)).get_content()
    assert "root@example.com" in text and "operator" in text and "2025-01-05 15:00 UTC" in text
    assert "root@example.com" in page and "operator" in page
    [link] = re.findall(r"https://\S+", text)
    assert link.startswith("https://admin.quantshift.test/invitations/accept?token=")
    assert f'href="{link.replace("&", "&amp;")}"' in page
    [token] = parse_qs(urlsplit(link).query, strict_parsing=True)["token"]

    user = accounts.accept_invitation(token=token, password="a brand new pass phrase")
    assert user.email == "new.person@example.com" and user.role is Role.OPERATOR
    login = accounts.login(email="new.person@example.com", password="a brand new pass phrase", address="127.0.0.2")
    assert accounts.authenticate(login.token).user_id == user.user_id
    with pytest.raises(AuthenticationError, match="used already"):
        accounts.accept_invitation(token=token, password="another pass phrase!")


def test_when_the_mail_server_is_down_the_invitation_stays_and_the_error_reaches_the_admin(accounts):
    admin = admin_principal(accounts)
    with pytest.raises(MailUnavailable):
        send_invitation(accounts=accounts, mailer=mailer(free_port(), timeout=0.5), principal=admin,
                        email="later@example.com", role=Role.VIEWER, base_url="https://admin.quantshift.test")
    with accounts.uow_factory() as uow:
        assert [i.email for i in uow.invitations.list()] == ["later@example.com"]


def test_a_bad_base_url_creates_no_invitation(server, accounts):
    handler, port = server
    admin = admin_principal(accounts)
    with pytest.raises(ConfigurationError, match="base_url"):
        send_invitation(accounts=accounts, mailer=mailer(port), principal=admin, email="x@example.com",
                        role=Role.VIEWER, base_url="admin.quantshift.test")
    with accounts.uow_factory() as uow:
        assert uow.invitations.list() == []
    assert handler.messages == []
