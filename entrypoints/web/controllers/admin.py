"""Admin endpoints: who gets alert e-mails (/api/v1/settings/notifications) and invitations
(/api/v1/invitations); the public acceptance of an invitation, as JSON
(/api/v1/invitations/accept) and as the plain HTML page the e-mailed link opens
(/invitations/accept).
An admin can revoke a pending invitation; its link stops working at once.
"""

from __future__ import annotations

import html
import logging

import anyio.to_thread
from litestar import Controller, MediaType, Request, Response, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ClientException, NotFoundException, ValidationException
from litestar.params import FromPath, FromQuery, JSONBody, SkipValidation

from application.accounts.accounts import Accounts, InvitationClosed, Principal, UnknownInvitation
from application.accounts.invitation_mail import send_invitation
from application.accounts.notification_admin import (
    ChangeNotificationSettings,
    change_notification_settings,
    send_recorded_test_alert,
)
from application.accounts.notification_settings import NotificationSettings, load
from application.ports import Clock
from application.records import Invitation, Role, User
from domain.access import MIN_PASSWORD_LENGTH, Action
from domain.errors import AuthenticationError, ConfigurationError, MailRejected, MailUnavailable
from entrypoints.mail_setup import EmailFeatures
from entrypoints.web.deps import AccountsDep, ClockDep, StoreDep
from entrypoints.web.dto import UserResponse
from entrypoints.web.dto_admin import (
    AcceptInvitationRequest,
    AlertTestResponse,
    InvitationRequest,
    InvitationResponse,
    NotificationSettingsRequest,
    NotificationSettingsResponse,
)
from entrypoints.web.errors import problem_responses
from entrypoints.web.security import provide_principal

log = logging.getLogger("quantshift.api")

MailDep = NamedDependency[SkipValidation[EmailFeatures]]
_SETTINGS = {"action": Action.SETTINGS_MANAGE}
_INVITATIONS = {"action": Action.INVITATIONS_MANAGE}
_PRINCIPAL = {"principal": Provide(provide_principal, sync_to_thread=False)}
# One answer for every unusable link: why it failed (forged, expired, used) is for the log only.
INVALID_LINK = "this invitation link is not valid: it is unknown, expired, revoked or used already"
_INVALID_PAGE = ("<p>This invitation link is not valid: it is unknown, expired, revoked or used already.</p>\n"
                 "<p>Ask an administrator for a new invitation.</p>")


class NotificationSettingsController(Controller):
    path = "/settings/notifications"
    tags = ["settings"]
    dependencies = _PRINCIPAL

    @get("/", opt=_SETTINGS, sync_to_thread=True, responses=problem_responses(400, 401, 403, 503))
    def get_settings(self, store: StoreDep, mail: MailDep) -> NotificationSettingsResponse:
        """Who gets alert e-mails, from which level on, and whether SMTP is configured at all."""
        with store.unit_of_work(read_only=True) as uow:
            return _settings(load(uow.settings), mail)

    @put("/", opt=_SETTINGS, sync_to_thread=True, responses=problem_responses(400, 401, 403, 413, 415, 503))
    def put_settings(self, data: JSONBody[NotificationSettingsRequest], principal: NamedDependency[Principal], store: StoreDep,
                     clock: ClockDep, mail: MailDep) -> NotificationSettingsResponse:
        """Replace the notification settings (audited: who, and what changed)."""
        try:
            wanted = NotificationSettings(email_enabled=data.email_enabled, recipients=data.recipients,
                                          min_level=data.min_level)
        except ConfigurationError as exc:
            raise _field_problem(exc, request="PUT /api/v1/settings/notifications") from None
        saved = change_notification_settings(ChangeNotificationSettings(settings=wanted, actor=principal.email),
                                             uow_factory=store, clock=clock)
        mail.settings_changed()
        return _settings(saved, mail)

    @post("/test", opt=_SETTINGS, sync_to_thread=True, status_code=200,
          responses=problem_responses(400, 401, 403, 413, 415, 502, 503))
    def send_test(self, principal: NamedDependency[Principal], store: StoreDep, clock: ClockDep, mail: MailDep) -> AlertTestResponse:
        """Mail a test alert to the saved recipients now; 502 with the SMTP error if it fails."""
        # Recorded (delivered or not) in the audit trail: the go-live gate reads it back.
        result = send_recorded_test_alert(uow_factory=store, mailer=mail.require_mailer(), actor=principal.email,
                                          clock=clock)
        return AlertTestResponse(sent_to=list(result.sent_to))


class InvitationsController(Controller):
    path = "/invitations"
    tags = ["invitations"]
    dependencies = _PRINCIPAL

    @post("/", opt=_INVITATIONS, sync_to_thread=True, status_code=201,
          responses=problem_responses(400, 401, 403, 413, 415, 502, 503))
    def invite(self, data: JSONBody[InvitationRequest], principal: NamedDependency[Principal], accounts: AccountsDep, clock: ClockDep,
               mail: MailDep) -> InvitationResponse:
        """Invite an address to a role: the link is mailed to it (the token is never returned)."""
        mailer = mail.require_mailer()
        base_url = mail.invitation_base_url()
        try:
            invitation = send_invitation(accounts=accounts, mailer=mailer, principal=principal, email=data.email,
                                         role=Role(data.role), base_url=base_url, accept_path=mail.web.invitation_path)
        except (MailUnavailable, MailRejected) as exc:
            raise type(exc)(f"the invitation was saved but not e-mailed ({exc}); invite the address again "
                            "once the mail server takes it") from None
        return _invitation(invitation, clock=clock)

    @get("/", opt=_INVITATIONS, sync_to_thread=True, responses=problem_responses(401, 403, 503))
    def list_invitations(self, store: StoreDep, clock: ClockDep) -> list[InvitationResponse]:
        """Every invitation, newest first, with its status: pending, accepted, revoked or expired."""
        with store.unit_of_work(read_only=True) as uow:
            invitations = uow.invitations.list()
        return [_invitation(i, clock=clock) for i in invitations]

    @post("/{invitation_id:str}/revoke", opt=_INVITATIONS, sync_to_thread=True, status_code=200,
          responses=problem_responses(400, 401, 403, 404, 409, 415, 503))
    def revoke(self, invitation_id: FromPath[str], principal: NamedDependency[Principal], accounts: AccountsDep,
               clock: ClockDep) -> InvitationResponse:
        """Withdraw a pending invitation: its link stops working at once. 409 once accepted
        or revoked."""
        try:
            invitation = accounts.revoke_invitation(principal, invitation_id=invitation_id)
        except UnknownInvitation as exc:
            raise NotFoundException(str(exc)) from None
        except InvitationClosed as exc:
            raise ClientException(str(exc), status_code=409) from None
        return _invitation(invitation, clock=clock)

    @post("/accept", opt={"public": True}, security=[], sync_to_thread=True, status_code=201,
          responses=problem_responses(400, 413, 415, 503))
    def accept(self, data: JSONBody[AcceptInvitationRequest], accounts: AccountsDep) -> UserResponse:
        """Public: the invitation's token and a new password -> the new user (address verified).
        Any unusable token gets the same 400."""
        return _user(_accept(accounts, token=data.token, password=data.password))


class InvitationPage(Controller):
    """The page an invitation link opens: plain HTML, no script, no style, no template.

    No CSRF token: the invitation token in the form IS the capability, and no cookie or
    session is involved, so a forged cross-site POST carries no authority of the visitor's;
    whoever has the token could post it themselves anyway."""

    path = "/invitations/accept"
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def page(self, request: Request, accounts: AccountsDep, token: FromQuery[str] = "") -> Response[str]:
        try:
            invitation = accounts.pending_invitation(token)
        except AuthenticationError as exc:
            log.info("invitation page refused: %s", exc)
            return _page(400, "Invitation not valid", _INVALID_PAGE)
        return _page(200, "Accept your invitation", _form(request.url.path, token=token, invitation=invitation))

    @post("/", status_code=200)
    async def submit(self, request: Request, accounts: AccountsDep) -> Response[str]:
        form = await request.form()
        token, password, confirm = (form.get(name) for name in ("token", "password", "confirm"))
        if not all(isinstance(value, str) for value in (token, password, confirm)):
            return _page(400, "Invitation not accepted", "<p>The form was incomplete; open the link again.</p>")
        try:
            invitation = await anyio.to_thread.run_sync(accounts.pending_invitation, token)
        except AuthenticationError as exc:
            log.info("invitation form refused: %s", exc)
            return _page(400, "Invitation not valid", _INVALID_PAGE)
        if password != confirm:
            return _page(400, "Accept your invitation", _form(request.url.path, token=token, invitation=invitation,
                                                              problem="The two passwords differ."))
        try:
            user = await anyio.to_thread.run_sync(lambda: _accept(accounts, token=token, password=password))
        except ClientException:
            return _page(400, "Invitation not valid", _INVALID_PAGE)
        except ConfigurationError as exc:  # a weak password, or the address has an account by now
            return _page(400, "Accept your invitation", _form(request.url.path, token=token, invitation=invitation,
                                                              problem=_sentence(str(exc))))
        return _page(200, "Welcome to QuantShift",
                     f"<p>The account {html.escape(user.email)} ({html.escape(user.role.value)}) is ready.</p>\n"
                     "<p>Sign in with this e-mail address and the password you chose.</p>")


ADMIN_API = [NotificationSettingsController, InvitationsController]  # under /api/v1, behind the bearer guard
INVITATION_PAGES = [InvitationPage]  # at the root: a person's browser, no bearer token


def _accept(accounts: Accounts, *, token: str, password: str) -> User:
    try:
        return accounts.accept_invitation(token=token, password=password)
    except AuthenticationError as exc:
        log.info("invitation refused: %s", exc)  # the reason (expired, used, forged) for the log only
        raise ClientException(status_code=400, detail=INVALID_LINK) from None


def _field_problem(exc: ConfigurationError, *, request: str) -> ValidationException:
    # NotificationSettings says "field: what is wrong"; a 400 that names the field, like msgspec's.
    field, _, message = str(exc).partition(": ")
    known = field in {"email_enabled", "recipients", "min_level"}
    return ValidationException(detail=f"Validation failed for {request}",
                               extra=[{"key": field if known else None, "source": "body",
                                       "message": message if known else str(exc)}])


def _settings(value: NotificationSettings, mail: EmailFeatures) -> NotificationSettingsResponse:
    return NotificationSettingsResponse(email_enabled=value.email_enabled, recipients=list(value.recipients),
                                        min_level=value.min_level.value, smtp_configured=mail.configured)


def _invitation(i: Invitation, *, clock: Clock) -> InvitationResponse:
    status = ("accepted" if i.accepted_at is not None else "revoked" if i.revoked_at is not None
              else "expired" if i.expires_at <= clock.now() else "pending")
    return InvitationResponse(invitation_id=i.invitation_id, email=i.email, role=i.role.value, status=status,
                              invited_by=i.invited_by, created_at=i.created_at, expires_at=i.expires_at,
                              accepted_at=i.accepted_at)


def _user(u: User) -> UserResponse:
    return UserResponse(user_id=u.user_id, email=u.email, role=u.role.value, verified=u.email_verified,
                        disabled=u.disabled, created_at=u.created_at)


# The page's own policy: nothing loads, the form posts only back here, nothing frames it.
_PAGE_CSP = "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"


def _page(status: int, title: str, body: str) -> Response[str]:
    document = (f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                f"<title>{html.escape(title)} - QuantShift</title>\n</head>\n<body>\n<main>\n"
                f"<h1>{html.escape(title)}</h1>\n{body}\n</main>\n</body>\n</html>\n")
    # no-store: the page carries a live invitation token.
    return Response(content=document, status_code=status, media_type=MediaType.HTML,
                    headers={"Content-Security-Policy": _PAGE_CSP, "Cache-Control": "no-store"})


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _form(action: str, *, token: str, invitation: Invitation, problem: str = "") -> str:
    e = html.escape
    alert = f'<p role="alert"><strong>{e(problem)}</strong></p>\n' if problem else ""
    return (f"<p>You are invited as <strong>{e(invitation.role.value)}</strong> with the address "
            f"<strong>{e(invitation.email)}</strong>. Choose a password of at least {MIN_PASSWORD_LENGTH} "
            "characters.</p>\n"
            f"{alert}"
            f'<form method="post" action="{e(action, quote=True)}">\n'
            f'<input type="hidden" name="token" value="{e(token, quote=True)}">\n'
            f'<p><label>Password<br><input type="password" name="password" autocomplete="new-password" '
            f'minlength="{MIN_PASSWORD_LENGTH}" required></label></p>\n'
            f'<p><label>Password again<br><input type="password" name="confirm" autocomplete="new-password" '
            f'minlength="{MIN_PASSWORD_LENGTH}" required></label></p>\n'
            '<p><button type="submit">Accept and create my account</button></p>\n</form>')
