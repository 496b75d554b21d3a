"""Session tokens: JWT signed with HS256 (PyJWT), the TokenService port."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from adapters.security.keys import key_bytes
from application.accounts.ports import TokenClaims
from application.records import Role
from domain.errors import AuthenticationError

ALGORITHM = "HS256"
# Every claim a token of ours carries; a token without one of them is not ours.
REQUIRED_CLAIMS = ("exp", "iat", "nbf", "iss", "aud", "sub", "sid", "role")
DEFAULT_LIFETIME = timedelta(minutes=15)  # short: the login session behind it is the long-lived part
DEFAULT_LEEWAY = timedelta(seconds=10)  # clock skew between the processes of one deployment, no more
# NumericDates a datetime can hold (1970 to the end of year 9999): a signed token with a time
# outside, or a JSON 1e400 that reads as infinity, is no time of ours, not an overflow.
LATEST_TIME = 253_402_300_799


class JwtTokenService:
    def __init__(
        self,
        *,
        secret: bytes | str,
        issuer: str = "quantshift",
        audience: str = "quantshift-admin",
        lifetime: timedelta = DEFAULT_LIFETIME,
        leeway: timedelta = DEFAULT_LEEWAY,
    ) -> None:
        if lifetime <= timedelta(0):
            raise ValueError("token lifetime must be positive")
        if leeway < timedelta(0):
            raise ValueError("token leeway cannot be negative")
        self._secret = key_bytes(secret, what="the session token secret")
        self._issuer = issuer
        self._audience = audience
        self._lifetime = lifetime
        self._leeway = leeway

    def issue(self, *, user_id: str, session_id: str, role: Role, now: datetime) -> str:
        # Whole seconds, as JWT's NumericDate is usually read; rounding down keeps a token
        # from outliving its lifetime.
        issued = int(_utc(now).timestamp())
        payload = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": user_id,
            "sid": session_id,
            "role": role.value,
            "iat": issued,
            "nbf": issued,
            "exp": issued + int(self._lifetime.total_seconds()),
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str, *, now: datetime) -> TokenClaims:
        payload = self._decode(token)
        times = {}
        for claim in ("iat", "nbf", "exp"):
            value = payload[claim]
            # bool is an int in Python, and a JSON `true` is no time.
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= LATEST_TIME:
                raise AuthenticationError(f"claim {claim} is not a time")
            times[claim] = float(value)
        at = _utc(now).timestamp()
        leeway = self._leeway.total_seconds()
        # PyJWT would check these against the wall clock; we check them against the injected
        # clock, so tests and the simulated time of a session see the same rules.
        if at >= times["exp"] + leeway:
            raise AuthenticationError("token expired")
        if at < times["nbf"] - leeway or at < times["iat"] - leeway:
            raise AuthenticationError("token not yet valid")
        for claim in ("sub", "sid", "role"):
            if not isinstance(payload[claim], str) or not payload[claim]:
                raise AuthenticationError(f"claim {claim} is not a non-empty string")
        try:
            role = Role(payload["role"])
        except ValueError:
            raise AuthenticationError("unknown role") from None
        return TokenClaims(
            user_id=payload["sub"],
            session_id=payload["sid"],
            role=role,
            issued_at=datetime.fromtimestamp(times["iat"], tz=UTC),
            expires_at=datetime.fromtimestamp(times["exp"], tz=UTC),
        )

    def _decode(self, token: str) -> dict:
        try:
            return jwt.decode(
                token,
                self._secret,
                # The whitelist: "none", HS512, RS256 (and a public key passed off as an HMAC
                # secret) are all refused before any signature is computed.
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                audience=self._audience,
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_signature": True,
                    "verify_exp": False,  # checked in verify() against the injected clock
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_iss": True,
                    "verify_aud": True,
                    "strict_aud": True,  # aud must be our one string, not a list containing it
                },
            )
        # `from None` throughout: the reason is enough, and a chained PyJWT error could carry
        # pieces of the token into a log.
        except jwt.MissingRequiredClaimError as exc:
            raise AuthenticationError(f"missing claim {exc.claim}") from None
        except jwt.InvalidAlgorithmError:
            raise AuthenticationError("algorithm not allowed") from None
        except jwt.InvalidSignatureError:
            raise AuthenticationError("bad signature") from None
        except jwt.InvalidIssuerError:
            raise AuthenticationError("wrong issuer") from None
        except jwt.InvalidAudienceError:
            raise AuthenticationError("wrong audience") from None
        except jwt.DecodeError:
            raise AuthenticationError("malformed token") from None
        except jwt.InvalidTokenError:
            raise AuthenticationError("invalid token") from None


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        # A naive time would be read as the machine's local time: refuse rather than guess.
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)
