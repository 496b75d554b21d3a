"""Security adapters: argon2id password hashes, HS256 session tokens, HMAC invitation links."""

from adapters.security.invitations import HmacInvitationSigner
from adapters.security.passwords import Argon2PasswordHasher
from adapters.security.tokens import JwtTokenService

__all__ = ["Argon2PasswordHasher", "HmacInvitationSigner", "JwtTokenService"]
