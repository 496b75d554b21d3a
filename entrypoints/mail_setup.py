"""E-mail in the composition root: the SMTP mailer from [mail], the cached read of the saved
notification settings (whose recipients the alert dispatcher mails, entrypoints/alert_setup.py),
and what the API and the CLI need to send invitations.

Without [mail] (or QUANTSHIFT_SMTP_HOST) there is no mailer: alerts are not e-mailed, and
a feature that must send mail refuses with EmailNotConfigured, which names what to set,
instead of pretending to have sent something.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from adapters.mail import SmtpMailer
from application.accounts.alert_routing import StoredNotificationSettings
from application.accounts.ports import Mailer
from application.ports import UnitOfWork
from domain.errors import ConfigurationError
from entrypoints.settings import MailSettings, WebSettings

SMTP_MISSING = ("SMTP is not configured: set QUANTSHIFT_SMTP_HOST and QUANTSHIFT_SMTP_FROM (with "
                "QUANTSHIFT_SMTP_USERNAME and QUANTSHIFT_SMTP_PASSWORD if the server wants a login), or [mail] "
                "in the configuration file, and restart")
PUBLIC_URL_MISSING = ("QUANTSHIFT_PUBLIC_URL is not set: invitation links need the address people open the server "
                      "at, e.g. https://quantshift.example.com (or web.public_url in the configuration file)")


class _Store(Protocol):  # both stores (entrypoints.web.deps.Store would load Litestar for every CLI command)
    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork: ...


class EmailNotConfigured(ConfigurationError):
    """An e-mail feature was asked for, but SMTP (or the public URL its links need) is not
    configured: an operator has to set it; retrying the request will not help."""


def build_mailer(mail: MailSettings) -> SmtpMailer | None:
    if not mail.configured:
        return None
    return SmtpMailer(host=mail.host, port=mail.effective_port, sender=mail.sender, username=mail.username or None,
                      password=mail.password or None, starttls=mail.security == "starttls",
                      use_tls=mail.security == "tls", timeout=mail.timeout_seconds)


def build_alert_settings(store: _Store) -> StoredNotificationSettings:
    def read_only() -> UnitOfWork:
        return store.unit_of_work(read_only=True)

    return StoredNotificationSettings(uow_factory=read_only)


@attrs.frozen(kw_only=True)
class EmailFeatures:
    """What sending mail on a person's request needs (the API's invitations and test alert, the CLI)."""

    mailer: Mailer | None
    web: WebSettings = attrs.field(factory=WebSettings)
    alert_settings: StoredNotificationSettings | None = None  # the notifier's cached copy, if any

    @property
    def configured(self) -> bool:
        return self.mailer is not None

    def require_mailer(self) -> Mailer:
        if self.mailer is None:
            raise EmailNotConfigured(SMTP_MISSING)
        return self.mailer

    def invitation_base_url(self) -> str:
        self.require_mailer()
        if not self.web.public_url:
            raise EmailNotConfigured(PUBLIC_URL_MISSING)
        return self.web.public_url

    def settings_changed(self) -> None:
        """The notification settings were saved in this process: alerts use them at once."""
        if self.alert_settings is not None:
            self.alert_settings.forget()
