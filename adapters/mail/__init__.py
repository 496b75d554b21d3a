"""Email: an SMTP mailer (the Mailer port) and an alert notifier that mails (the Notifier port)."""

from adapters.mail.notifier import EmailNotifier
from adapters.mail.smtp import SmtpMailer

__all__ = ["EmailNotifier", "SmtpMailer"]
