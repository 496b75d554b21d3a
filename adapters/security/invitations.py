"""Invitation links: an HMAC-SHA256 over "invitation_id|expiry", the InvitationSigner port.

The token is `base64url(invitation_id|expiry) . base64url(mac)`, unpadded. Nothing in it is
secret (the id is a random identifier); the MAC only makes it unforgeable and time-bound.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import UTC, datetime

from adapters.security.keys import key_bytes
from domain.errors import AuthenticationError

_SEPARATOR = "|"


class HmacInvitationSigner:
    def __init__(self, *, key: bytes | str) -> None:
        # A key of its own, not the session token secret: a leaked invitation key must not
        # mint sessions, and one MAC must never be valid as the other (the composition root
        # reads the two from different settings).
        self._key = key_bytes(key, what="the invitation signing key")

    def sign(self, invitation_id: str, expires_at: datetime) -> str:
        if not invitation_id:
            raise ValueError("invitation_id is empty")
        # Whole seconds, rounded down: the link never outlives its invitation.
        expiry = int(_utc(expires_at).timestamp())
        message = f"{invitation_id}{_SEPARATOR}{expiry}".encode()
        return f"{_b64encode(message)}.{_b64encode(self._mac(message))}"

    def verify(self, token: str, *, now: datetime) -> str:
        try:
            encoded_message, encoded_mac = token.split(".")
            message = _b64decode(encoded_message)
            mac = _b64decode(encoded_mac)
        except (AttributeError, ValueError):
            raise AuthenticationError("invitation forged") from None
        # The MAC first: nothing inside an unauthenticated message is read or trusted.
        if not hmac.compare_digest(mac, self._mac(message)):
            raise AuthenticationError("invitation forged")
        # The id may itself contain the separator; the expiry, last and all digits, may not.
        invitation_id, _, expiry = message.decode("utf-8").rpartition(_SEPARATOR)
        if _utc(now).timestamp() >= int(expiry):
            raise AuthenticationError("invitation expired")
        return invitation_id

    def _mac(self, message: bytes) -> bytes:
        return hmac.new(self._key, message, hashlib.sha256).digest()


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None
    # The decoder skips characters outside the alphabet; only the canonical spelling counts,
    # so one link has exactly one valid form.
    if _b64encode(raw) != text:
        raise ValueError("not canonical base64url")
    return raw


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        # A naive time would be read as the machine's local time: refuse rather than guess.
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(UTC)
