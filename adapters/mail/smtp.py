"""The Mailer port over SMTP, with the standard library's smtplib.

One connection per message: invitations and alerts are rare, and a fresh connection never
finds a half-dead session from minutes ago. Every socket operation has a timeout, so a
server that accepts the connection and then says nothing cannot hang the caller.

Failures are classified for the caller: cannot take it now (refused connection, timeout,
SMTP 4xx) -> MailUnavailable; refused for good (SMTP 5xx, a malformed or smuggled header)
-> MailRejected; the server refuses our credentials or TLS setup -> ConfigurationError.
Messages carry the SMTP code and a short reply, never the password.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from domain.access import normalise_email
from domain.errors import ConfigurationError, MailRejected, MailUnavailable

# Characters that end a header line somewhere (SMTP, the email package, or a mail reader).
_LINE_BREAKS = frozenset("\r\n\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


class SmtpMailer:
    def __init__(self, *, host: str, port: int, sender: str, username: str | None = None,
                 password: str | None = None, starttls: bool = False, use_tls: bool = False,
                 timeout: float = 10.0, local_hostname: str | None = None,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        if starttls and use_tls:
            raise ConfigurationError("mail: choose starttls (port 587) or use_tls (port 465), not both")
        if (username is None) != (password is None):
            raise ConfigurationError("mail: username and password go together")
        if not timeout > 0:
            raise ConfigurationError("mail: timeout must be positive")
        _refuse_line_breaks("sender", sender, error=ConfigurationError)
        sender_address = parseaddr(sender)[1]
        if "@" not in sender_address:
            raise ConfigurationError(f"mail: sender {sender!r} is not an e-mail address")
        self._host, self._port, self._sender = host, port, sender
        self._sender_domain = sender_address.rpartition("@")[2]
        self._username, self._password = username, password
        self._starttls, self._use_tls, self._timeout = starttls, use_tls, timeout
        self._local_hostname = local_hostname
        self._ssl_context = ssl_context

    def __repr__(self) -> str:  # never the password
        return f"SmtpMailer(host={self._host!r}, port={self._port}, sender={self._sender!r}, username={self._username!r})"

    def send(self, *, to: str, subject: str, text: str, html: str | None = None) -> None:
        message = self._message(to=to, subject=subject, text=text, html=html)
        try:
            self._deliver(message)
        except (MailUnavailable, MailRejected, ConfigurationError):
            raise
        except smtplib.SMTPAuthenticationError as exc:
            if 400 <= exc.smtp_code < 500:
                raise MailUnavailable(f"mail: login deferred ({_reply(exc.smtp_code, exc.smtp_error)})") from None
            raise ConfigurationError(f"mail: the server refused the login for {self._username!r} "
                                     f"({_reply(exc.smtp_code, exc.smtp_error)})") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise ConfigurationError(f"mail: the server does not support {exc}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise _by_code(code, f"recipient refused ({_reply(code, reply)})") from None
        except smtplib.SMTPResponseException as exc:  # sender refused, DATA refused, greeting refused
            raise _by_code(exc.smtp_code, _reply(exc.smtp_code, exc.smtp_error)) from None
        except ssl.SSLCertVerificationError as exc:
            raise ConfigurationError(f"mail: the server's TLS certificate is not trusted ({exc.verify_message})") from None
        except smtplib.SMTPServerDisconnected as exc:
            if "timed out" in str(exc):  # smtplib reports a read timeout as a disconnect
                raise MailUnavailable(f"mail: {self._where()} did not answer within {self._timeout:g} s") from None
            raise MailUnavailable(f"mail: {self._where()} closed the connection ({exc})") from None
        except smtplib.SMTPException as exc:  # anything else smtplib names (before OSError: it is one)
            raise MailUnavailable(f"mail: {type(exc).__name__}: {exc}") from None
        except TimeoutError:
            raise MailUnavailable(f"mail: {self._where()} did not answer within {self._timeout:g} s") from None
        except OSError as exc:  # refused, unreachable, reset, name not found, TLS failure
            raise MailUnavailable(f"mail: cannot reach {self._where()} ({exc.strerror or type(exc).__name__})") from None

    def _message(self, *, to: str, subject: str, text: str, html: str | None) -> EmailMessage:
        _refuse_line_breaks("to", to, error=MailRejected)
        _refuse_line_breaks("subject", subject, error=MailRejected)
        try:
            # One address only: "a@x.com, b@y.com" would otherwise mail both.
            recipient = normalise_email(to)
        except ValueError as exc:
            raise MailRejected(f"mail: recipient: {exc}") from None
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = recipient
        message["Subject"] = subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=self._sender_domain)  # no DNS look-up of our own name
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")  # multipart/alternative: text first, html preferred
        return message

    def _deliver(self, message: EmailMessage) -> None:
        if self._use_tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(timeout=self._timeout, local_hostname=self._local_hostname,
                                                  context=self._context())
        else:
            smtp = smtplib.SMTP(timeout=self._timeout, local_hostname=self._local_hostname)
        try:
            code, reply = smtp.connect(self._host, self._port)
            if code != 220:
                raise _by_code(code, f"greeting refused ({_reply(code, reply)})", transient_5xx=True)
            if self._starttls:
                smtp.starttls(context=self._context())
            if self._username is not None and self._password is not None:
                smtp.login(self._username, self._password)
            smtp.send_message(message)
        finally:
            _close(smtp)

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _where(self) -> str:
        return f"{self._host}:{self._port}"


def _close(smtp: smtplib.SMTP) -> None:
    # The message is either accepted or its failure is already on its way up; a failing
    # QUIT changes neither.
    try:
        smtp.quit()
    except Exception:  # noqa: BLE001
        smtp.close()


def _refuse_line_breaks(field: str, value: str, *, error: type[Exception]) -> None:
    if any(c in _LINE_BREAKS for c in value):
        raise error(f"mail: {field} contains a line break or control character (header injection refused)")


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())[:120]}"


def _by_code(code: int, reason: str, *, transient_5xx: bool = False) -> Exception:
    if code >= 500 and not transient_5xx:
        return MailRejected(f"mail: {reason}")
    return MailUnavailable(f"mail: {reason}")
