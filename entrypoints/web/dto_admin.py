"""Wire types of the admin endpoints (notification settings, invitations): msgspec Structs,
strict on input like dto.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from application.accounts.notification_settings import MAX_RECIPIENTS
from entrypoints.web.dto import Email, Password, RoleName, Strict

AlertLevelName = Literal["info", "warning", "critical"]
InvitationStatus = Literal["pending", "accepted", "revoked", "expired"]
# A signed token is ~80 characters; the bound only stops absurd bodies early.
InvitationToken = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class NotificationSettingsRequest(Strict):
    email_enabled: bool
    recipients: Annotated[list[Email], msgspec.Meta(max_length=MAX_RECIPIENTS)]
    min_level: AlertLevelName = "warning"


class NotificationSettingsResponse(msgspec.Struct, kw_only=True):
    email_enabled: bool
    recipients: list[str]
    min_level: AlertLevelName
    smtp_configured: bool  # false: nothing is mailed whatever is saved, until [mail] is set up


class AlertTestResponse(msgspec.Struct, kw_only=True):
    sent_to: list[str]


class InvitationRequest(Strict):
    email: Email
    role: RoleName


class InvitationResponse(msgspec.Struct, kw_only=True):
    """An invitation as an admin sees it; never its token (only the invited person's mailbox has it)."""

    invitation_id: str
    email: str
    role: RoleName
    status: InvitationStatus
    invited_by: str  # the inviting admin's user id
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None


class AcceptInvitationRequest(Strict):
    token: InvitationToken
    password: Password
