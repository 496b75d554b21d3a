"""`quantshift users`: accounts of the admin platform. A password is prompted for (twice) or
read from standard input with --password-stdin, never taken as an argument (it would sit in
the shell history and the process list)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from adapters.security import Argon2PasswordHasher, HmacInvitationSigner
from application.accounts.accounts import Accounts, Principal
from application.accounts.invitation_mail import send_invitation
from application.records import Role
from domain.errors import ConfigurationError
from entrypoints.cli.common import ConfigOption, JsonOption, actor, cli_errors, container_for
from entrypoints.cli.output import print_json, print_table

users_app = typer.Typer(help="Users of the admin API and dashboard.", no_args_is_help=True)


class _NoTokens:
    """The shell issues no session token (and `users create` signs no invitation)."""

    def issue(self, **_: object) -> str:
        raise ConfigurationError("no token service here")

    def verify(self, *_: object, **__: object):
        raise ConfigurationError("no token service here")

    sign = issue


@users_app.command("create")
def create(
    email: Annotated[str, typer.Option("--email", help="The user's email address (their login).")],
    role: Annotated[str, typer.Option("--role", help="admin | operator | viewer.")] = "viewer",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input (for scripts).")] = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create a user (email verified: an admin vouches for it; invitations verify by email)."""
    with cli_errors():
        chosen = _role(role)
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        container = container_for(config, require_bots=False)
        accounts = Accounts(uow_factory=container.store(), clock=container.clock(), hasher=Argon2PasswordHasher(),
                            tokens=_NoTokens(), invitations_signer=_NoTokens())  # type: ignore[arg-type]
        user = accounts.create_user(email=email, password=password, role=chosen)
    if json_output:
        print_json({"user_id": user.user_id, "email": user.email, "role": user.role.value})
    else:
        print(f"created {user.email} ({user.role.value}), id {user.user_id}")


@users_app.command("invite")
def invite(
    email: Annotated[str, typer.Option("--email", help="The address to invite (the link is mailed there).")],
    role: Annotated[str, typer.Option("--role", help="admin | operator | viewer.")] = "viewer",
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Invite a person by e-mail: they open the mailed link and choose their password.

    Needs SMTP ([mail] or QUANTSHIFT_SMTP_*), QUANTSHIFT_PUBLIC_URL for the link, and the
    server's QUANTSHIFT_INVITATION_SECRET (the server checks the link with it)."""
    from entrypoints.web.wiring import INVITATION_SECRET, read_secret  # loads Litestar: only for this command

    with cli_errors():
        chosen = _role(role)
        container = container_for(config, require_bots=False)
        mail = container.email()
        mailer, base_url = mail.require_mailer(), mail.invitation_base_url()
        accounts = Accounts(uow_factory=container.store(), clock=container.clock(), hasher=Argon2PasswordHasher(),
                            tokens=_NoTokens(),  # type: ignore[arg-type]
                            invitations_signer=HmacInvitationSigner(key=read_secret(os.environ, INVITATION_SECRET)),
                            invitation_lifetime=container.settings().web.invitation_period)
        # Whoever can run this command holds the store already: the shell user acts as an admin,
        # and the audit trail and the mail name them (user@host).
        shell = actor()
        principal = Principal(user_id=f"cli:{shell}", email=shell, role=Role.ADMIN, session_id="cli")
        invitation = send_invitation(accounts=accounts, mailer=mailer, principal=principal, email=email, role=chosen,
                                     base_url=base_url, accept_path=mail.web.invitation_path)
    row = {"invitation_id": invitation.invitation_id, "email": invitation.email, "role": invitation.role.value,
           "expires_at": invitation.expires_at.isoformat()}
    if json_output:
        print_json(row)
    else:
        print(f"invited {row['email']} as {row['role']} ({row['invitation_id']}); the link was mailed and "
              f"expires at {row['expires_at']}")


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ConfigurationError(f"--role {role!r}: use admin, operator or viewer") from None


@users_app.command("list")
def list_users(config: ConfigOption = None, json_output: JsonOption = False) -> None:
    """Every user with role and state (never the password hash)."""
    with cli_errors():
        store = container_for(config, require_bots=False).store()
        with store.unit_of_work(read_only=True) as uow:
            users = uow.users.list()
    rows = [{"user_id": u.user_id, "email": u.email, "role": u.role.value, "verified": u.email_verified,
             "disabled": u.disabled, "created_at": u.created_at.isoformat()} for u in users]
    if json_output:
        print_json(rows)
        return
    print_table(f"Users ({len(rows)})", ["email", "role", "verified", "disabled", "created"],
                [(r["email"], r["role"], r["verified"], r["disabled"], r["created_at"]) for r in rows])
