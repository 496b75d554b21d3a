"""The security adapters: argon2id hashes, HS256 session tokens, HMAC invitation links.

Tokens are forged by hand here (alg "none", HS512, tampered payloads) because those are the
attacks the whitelist and the required claims exist for."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from adapters.security import Argon2PasswordHasher, HmacInvitationSigner, JwtTokenService
from application.accounts.ports import InvitationSigner, PasswordHasher, TokenClaims, TokenService
from application.records import Role
from domain.errors import AuthenticationError, QuantShiftError

NOW = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)
SECRET = b"s" * 32
INVITATION_KEY = b"i" * 32


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64json(value: dict) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def claims(**changes) -> dict:
    issued = int(NOW.timestamp())
    payload = {"iss": "quantshift", "aud": "quantshift-admin", "sub": "u-1", "sid": "s-1", "role": "operator",
               "iat": issued, "nbf": issued, "exp": issued + 900}
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def hs256_by_hand(header: dict, payload: dict, key: bytes = SECRET) -> str:
    signing_input = f"{b64json(header)}.{b64json(payload)}"
    return f"{signing_input}.{b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())}"


@pytest.fixture
def hasher() -> Argon2PasswordHasher:
    return Argon2PasswordHasher.for_tests()


@pytest.fixture
def tokens() -> JwtTokenService:
    return JwtTokenService(secret=SECRET)


@pytest.fixture
def signer() -> HmacInvitationSigner:
    return HmacInvitationSigner(key=INVITATION_KEY)


def test_the_adapters_fit_their_ports(hasher, tokens, signer):
    # Assignments a type checker reads; at run time they document the pairing.
    port_hasher: PasswordHasher = hasher
    port_tokens: TokenService = tokens
    port_signer: InvitationSigner = signer
    assert port_hasher and port_tokens and port_signer
    assert issubclass(AuthenticationError, QuantShiftError)


# --- passwords -------------------------------------------------------------------------------


def test_hash_round_trip(hasher):
    hashed = hasher.hash("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert hasher.verify("correct horse battery", hashed)
    assert not hasher.verify("correct horse batterY", hashed)
    assert hasher.hash("correct horse battery") != hashed  # salted


def test_an_unreadable_hash_verifies_nothing_and_needs_rehash(hasher):
    assert not hasher.verify("anything", "not-a-hash")
    assert not hasher.verify("anything", "")
    assert hasher.needs_rehash("not-a-hash")


def test_needs_rehash_when_the_parameters_change(hasher):
    hashed = hasher.hash("correct horse battery")
    assert not hasher.needs_rehash(hashed)
    assert Argon2PasswordHasher(time_cost=2, memory_cost_kib=8, parallelism=1).needs_rehash(hashed)
    assert Argon2PasswordHasher().needs_rehash(hashed)  # a test-strength hash is never good enough for production


def test_production_parameters_are_the_documented_ones():
    # The one production-strength hash of the suite (about 0.16 s).
    hashed = Argon2PasswordHasher().hash("correct horse battery")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=1$")


# --- session tokens --------------------------------------------------------------------------


def test_token_round_trip(tokens):
    token = tokens.issue(user_id="u-1", session_id="s-1", role=Role.OPERATOR, now=NOW)
    assert tokens.verify(token, now=NOW + timedelta(minutes=14)) == TokenClaims(
        user_id="u-1", session_id="s-1", role=Role.OPERATOR, issued_at=NOW, expires_at=NOW + timedelta(minutes=15)
    )
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_a_token_expires_after_its_lifetime_plus_the_small_leeway(tokens):
    token = tokens.issue(user_id="u-1", session_id="s-1", role=Role.VIEWER, now=NOW)
    assert tokens.verify(token, now=NOW + timedelta(minutes=15, seconds=9))
    with pytest.raises(AuthenticationError, match="expired"):
        tokens.verify(token, now=NOW + timedelta(minutes=15, seconds=10))
    with pytest.raises(AuthenticationError, match="expired"):
        tokens.verify(token, now=NOW + timedelta(days=1))


def test_a_token_from_the_future_is_not_yet_valid(tokens):
    token = tokens.issue(user_id="u-1", session_id="s-1", role=Role.VIEWER, now=NOW)
    with pytest.raises(AuthenticationError, match="not yet valid"):
        tokens.verify(token, now=NOW - timedelta(minutes=1))


def test_a_token_signed_with_another_key_is_refused(tokens):
    other = JwtTokenService(secret=b"o" * 32)
    token = other.issue(user_id="u-1", session_id="s-1", role=Role.ADMIN, now=NOW)
    with pytest.raises(AuthenticationError, match="bad signature"):
        tokens.verify(token, now=NOW)


def test_an_alg_none_token_is_refused(tokens):
    token = f"{b64json({'alg': 'none', 'typ': 'JWT'})}.{b64json(claims(role='admin'))}."
    with pytest.raises(AuthenticationError, match="algorithm not allowed"):
        tokens.verify(token, now=NOW)


# PyJWT warns that 32 bytes is short for HS384/HS512: the point here is that the key is right.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("alg", ["HS512", "HS384"])
def test_a_token_with_the_right_key_but_another_algorithm_is_refused(tokens, alg):
    token = jwt.encode(claims(), SECRET, algorithm=alg)
    with pytest.raises(AuthenticationError, match="algorithm not allowed"):
        tokens.verify(token, now=NOW)


def test_an_rs256_header_over_an_hmac_is_refused(tokens):
    # The RS/HS confusion: an HMAC made with a key the verifier would treat as a public key.
    with pytest.raises(AuthenticationError, match="algorithm not allowed"):
        tokens.verify(hs256_by_hand({"alg": "RS256", "typ": "JWT"}, claims()), now=NOW)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "someone-else"}, "wrong issuer"),
        ({"aud": "quantshift-public"}, "wrong audience"),
        ({"aud": ["quantshift-admin", "other"]}, "audience"),
        ({"sid": None}, "missing claim sid"),
        ({"sub": None}, "missing claim sub"),
        ({"role": None}, "missing claim role"),
        ({"exp": None}, "missing claim exp"),
        ({"iat": None}, "missing claim iat"),
        ({"nbf": None}, "missing claim nbf"),
        ({"iss": None}, "missing claim iss"),
        ({"aud": None}, "missing claim aud"),
        ({"role": "root"}, "unknown role"),
        ({"sid": ""}, "sid"),
        ({"exp": "tomorrow"}, "exp is not a time"),
        ({"exp": True}, "exp is not a time"),
    ],
)
def test_a_correctly_signed_token_with_wrong_or_missing_claims_is_refused(tokens, changes, reason):
    token = jwt.encode(claims(**changes), SECRET, algorithm="HS256")
    with pytest.raises(AuthenticationError, match=reason):
        tokens.verify(token, now=NOW)


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", [10**20, -(10**20), 10**400, -1, 253_402_300_800])
def test_a_correctly_signed_token_with_a_time_no_datetime_holds_is_refused_not_an_overflow(tokens, claim, value):
    """Seen: a huge `exp` or `iat` made verify raise OverflowError (a 500 at the API)."""
    token = hs256_by_hand({"alg": "HS256", "typ": "JWT"}, claims(**{claim: value}))
    with pytest.raises(AuthenticationError, match=f"{claim} is not a time"):
        tokens.verify(token, now=NOW)


def test_a_json_number_that_reads_as_infinity_is_no_time(tokens):
    payload = json.dumps(claims(), separators=(",", ":")).replace('"exp":' + str(claims()["exp"]), '"exp":1e400')
    signing_input = f"{b64json({'alg': 'HS256', 'typ': 'JWT'})}.{b64(payload.encode())}"
    token = f"{signing_input}.{b64(hmac.new(SECRET, signing_input.encode(), hashlib.sha256).digest())}"
    with pytest.raises(AuthenticationError, match="exp is not a time"):
        tokens.verify(token, now=NOW)


def test_a_tampered_payload_is_refused(tokens):
    header, _, signature = tokens.issue(user_id="u-1", session_id="s-1", role=Role.VIEWER, now=NOW).split(".")
    forged = f"{header}.{b64json(claims(role='admin'))}.{signature}"
    with pytest.raises(AuthenticationError, match="bad signature"):
        tokens.verify(forged, now=NOW)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "a.b", "....", "é.é.é"])
def test_garbage_is_refused_without_echoing_it(tokens, token):
    with pytest.raises(AuthenticationError) as caught:
        tokens.verify(token, now=NOW)
    assert caught.value.__cause__ is None
    assert token == "" or token not in str(caught.value)


def test_the_reason_never_contains_the_token(tokens):
    token = JwtTokenService(secret=b"o" * 32).issue(user_id="u-1", session_id="s-1", role=Role.ADMIN, now=NOW)
    with pytest.raises(AuthenticationError) as caught:
        tokens.verify(token, now=NOW)
    assert all(part not in str(caught.value) for part in token.split("."))


@pytest.mark.parametrize("secret", [b"", b"s" * 31, "short"])
def test_a_short_secret_is_refused(secret):
    with pytest.raises(ValueError, match="at least 32 bytes"):
        JwtTokenService(secret=secret)


def test_naive_times_are_refused(tokens):
    with pytest.raises(ValueError, match="timezone"):
        tokens.issue(user_id="u-1", session_id="s-1", role=Role.VIEWER, now=datetime(2025, 3, 3))


# --- invitation links ------------------------------------------------------------------------

EXPIRES = NOW + timedelta(days=7)


def test_invitation_round_trip(signer):
    token = signer.sign("inv-42", EXPIRES)
    assert signer.verify(token, now=NOW) == "inv-42"
    assert signer.verify(token, now=EXPIRES - timedelta(seconds=1)) == "inv-42"
    assert all(c.isalnum() or c in "-_." for c in token)  # fits in a URL as it is


def test_an_id_containing_the_separator_round_trips(signer):
    assert signer.verify(signer.sign("a|b|c", EXPIRES), now=NOW) == "a|b|c"


def test_an_expired_invitation_is_refused(signer):
    token = signer.sign("inv-42", EXPIRES)
    with pytest.raises(AuthenticationError, match="invitation expired"):
        signer.verify(token, now=EXPIRES)


def test_a_tampered_invitation_is_refused(signer):
    token = signer.sign("inv-42", EXPIRES)
    _, mac = token.split(".")
    for message in (b"inv-43|" + str(int(EXPIRES.timestamp())).encode(),  # another invitation
                    b"inv-42|" + str(int(EXPIRES.timestamp()) + 86_400).encode()):  # a later expiry
        with pytest.raises(AuthenticationError, match="invitation forged"):
            signer.verify(f"{b64(message)}.{mac}", now=NOW)


def test_an_invitation_signed_with_another_key_is_refused(signer):
    token = HmacInvitationSigner(key=b"j" * 32).sign("inv-42", EXPIRES)
    with pytest.raises(AuthenticationError, match="invitation forged"):
        signer.verify(token, now=NOW)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "!!!.???", "aW52LTQy.", ".aW52LTQy"])
def test_a_malformed_invitation_is_refused(signer, token):
    with pytest.raises(AuthenticationError, match="invitation forged"):
        signer.verify(token, now=NOW)


def test_a_non_canonical_spelling_of_a_valid_invitation_is_refused(signer):
    token = signer.sign("inv-42", EXPIRES)
    with pytest.raises(AuthenticationError, match="invitation forged"):
        signer.verify(token + "=", now=NOW)


def test_a_short_invitation_key_is_refused():
    with pytest.raises(ValueError, match="at least 32 bytes"):
        HmacInvitationSigner(key=b"k" * 16)
