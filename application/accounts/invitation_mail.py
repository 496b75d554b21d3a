"""Invite a person by email: the invitation is created, then its link is mailed.

The invitation is committed before the mail goes out. When the mail server cannot take
the message (MailUnavailable) the error reaches the caller and the invitation stays, so
the admin can send it again; nothing else is recorded. The link carries the signed
single-use token; the mail names who invited the person, the role and the expiry.
"""

from __future__ import annotations

import html
from urllib.parse import urlencode, urlsplit

from application.accounts.accounts import Accounts, Principal
from application.accounts.ports import Mailer
from application.records import Invitation, Role
from domain.errors import ConfigurationError

SUBJECT = "You are invited to QuantShift"
ACCEPT_PATH = "/invitations/accept"  # the server's own accept page; a deployment may point elsewhere


def send_invitation(*, accounts: Accounts, mailer: Mailer, principal: Principal, email: str, role: Role,
                    base_url: str, accept_path: str = ACCEPT_PATH) -> Invitation:
    # Both checked first: a bad setting must not leave an invitation nobody can use.
    base = _base_url(base_url)
    if not accept_path.startswith("/") or any(c in accept_path for c in "?#"):
        raise ConfigurationError(f"accept_path: {accept_path!r} must be a path like {ACCEPT_PATH}")
    invitation, token = accounts.invite(principal, email=email, role=role)
    link = f"{base}{accept_path}?{urlencode({'token': token})}"
    expires = invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    text = (f"{principal.email} invited you to QuantShift as {invitation.role.value}.\n\n"
            f"To accept, open this link and choose a password:\n{link}\n\n"
            f"The link works once and expires on {expires}.\n"
            "If you did not expect this invitation, ignore this email.\n")
    page = (f"<p>{html.escape(principal.email)} invited you to QuantShift as "
            f"<strong>{html.escape(invitation.role.value)}</strong>.</p>\n"
            f'<p><a href="{html.escape(link, quote=True)}">Accept the invitation and choose a password</a></p>\n'
            f"<p>The link works once and expires on {html.escape(expires)}.<br>\n"
            "If you did not expect this invitation, ignore this email.</p>\n")
    mailer.send(to=invitation.email, subject=SUBJECT, text=text, html=page)
    return invitation


def _base_url(base_url: str) -> str:
    parts = urlsplit(base_url.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ConfigurationError(f"base_url: {base_url!r} must be an http(s) address without query or fragment")
    return base_url.strip().rstrip("/")
