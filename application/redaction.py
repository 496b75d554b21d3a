"""What must never leave the process in a log line or an error report: keys, tokens,
passwords, secrets, Authorization headers, the venues' API keys, alert channel URLs.

One redactor serves the log formatters (adapters/logging) and the error tracker (adapters/sentry).
It works three ways, because a secret reaches a message in any of them:
- by name: a mapping's value under a name that says secret (`password`, `api_key`,
  `Authorization`, `ALPACA_*`, ...) is replaced whole, whatever it holds;
- by value: the values of the environment's secret variables (ALPACA_SECRET_KEY, the SMTP
  password, QUANTSHIFT_SENTRY_DSN, ...) are cut out of any text they appear in;
- by shape: credentials in URLs (`scheme://user:pass@host`), alert channel URLs (Apprise's
  `tgram://...`, `discord://...`: their secrets sit anywhere in the URL), secret query
  parameters, `Bearer ...` tokens, JWTs, PEM private keys and channel URLs as saved encrypted
  (`fernet:...`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

FILTERED = "[Filtered]"

# Substrings of a name (case-insensitive) that make its value a secret.
# ("pwd" is not one: PWD and OLDPWD are the working directory, which every traceback names.)
_SECRET_WORDS = ("secret", "token", "passw", "passphrase", "authorization", "auth", "cookie", "dsn",
                 "credential", "signature", "private", "apikey", "api_key", "api-key", "bearer", "jwt")
# "key", "ALPACA_API_KEY", "signing_key", "accessKey"; not "monkey".
_KEY_NAME = re.compile(r"(?:^|[^A-Za-z])[Kk][Ee][Yy][Ss]?$|[a-z]Keys?$")
# Every variable of the venues' adapters is theirs to keep (keys, secrets and the URLs of their accounts).
_VENUE_PREFIXES = ("ALPACA_", "COINBASE_")
# Schemes whose URLs are addresses, not credentials: the rest are channel URLs (Apprise names
# each service by a scheme of its own and puts its tokens in the host and path).
_ADDRESS_SCHEMES = frozenset({"http", "https", "ws", "wss", "file", "sqlite", "postgresql", "postgres"})
_SHORTEST_SECRET = 6  # a shorter value ("1", "true") would cut ordinary words out of every text

_URL = re.compile(r"\b(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]{1,30})://(?P<rest>[^\s'\"<>`]*)")
_QUERY_PARAMETER = re.compile(r"(?P<name>[^?&=#\s]+)=(?P<value>[^&#\s]*)")
_BEARER = re.compile(r"\b(?P<scheme>Bearer|Basic|Token|Digest)\s+[A-Za-z0-9._~+/=\-]{8,}", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*")
_FERNET = re.compile(r"\bfernet:[A-Za-z0-9_\-=]+")  # a channel URL as saved encrypted (adapters/security/secret_box.py)
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.DOTALL)
# "password=hunter2", "api_key: abc", "secret='x'" in free text (not "secret = f(x)": a line of code).
_ASSIGNMENT = re.compile(
    r"(?P<name>\b[A-Za-z_\-]*(?:secret|token|passw(?:or)?d|passphrase|authorization|api[_\-]?key|private[_\-]?key)[A-Za-z_\-]*)"
    r"(?P<sep>['\"]?(?:=|:\s*))(?P<quote>['\"]?)(?P<value>[^\s'\",;&)]+)", re.IGNORECASE)


# Names that say key and are none: a Sentry DSN's public key is public by design (and Sentry
# reads it back from the report's trace header).
_NOT_SECRET = frozenset({"public_key", "publickey", "public-key"})


def is_secret_name(name: str) -> bool:
    """Whether a value under this name (a mapping key, an environment variable, a header) is a secret."""
    return name.lower() not in _NOT_SECRET and (_says_secret(name) or name.upper().startswith(_VENUE_PREFIXES))


def _says_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS) or bool(_KEY_NAME.search(name))


@attrs.frozen(kw_only=True)
class Redactor:
    # The literal secrets to cut out of text, longest first (so a longer one is never left half cut).
    secrets: tuple[str, ...] = attrs.field(default=(), repr=False,
                                           converter=lambda v: tuple(sorted(set(v), key=len, reverse=True)))

    def __repr__(self) -> str:  # never in a log or a traceback's local variables
        return f"Redactor(<{len(self.secrets)} secrets>)"

    def text(self, value: str) -> str:
        """`value` with every secret in it replaced by [Filtered]."""
        if not value:
            return value
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, FILTERED)
        value = _PEM.sub(FILTERED, value)
        value = _FERNET.sub(f"fernet:{FILTERED}", value)
        value = _JWT.sub(FILTERED, value)
        value = _BEARER.sub(lambda m: f"{m['scheme']} {FILTERED}", value)
        value = _URL.sub(_url, value)
        return _ASSIGNMENT.sub(lambda m: f"{m['name']}{m['sep']}{m['quote']}{FILTERED}", value)

    def data(self, value: Any) -> Any:
        """A copy of JSON-like data (mappings, lists, strings, numbers) with its secrets
        replaced: values under secret names whole, secrets inside strings cut out."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {key: FILTERED if isinstance(key, str) and is_secret_name(key) and item not in (None, "")
                    else self.data(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(item) for item in value]
        return value


def _url(match: re.Match[str]) -> str:
    scheme, rest = match["scheme"], match["rest"]
    if scheme.lower() not in _ADDRESS_SCHEMES:
        return f"{scheme}://{FILTERED}" if rest else match[0]  # a channel URL: all of it is the secret
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = f"{FILTERED}@{authority.rsplit('@', 1)[1]}"
    rest = f"{authority}{slash}{path}"
    if "?" in rest:
        before, query = rest.split("?", 1)
        rest = before + "?" + _QUERY_PARAMETER.sub(
            lambda m: f"{m['name']}={FILTERED}" if is_secret_name(m["name"]) else m[0], query)
    return f"{scheme}://{rest}"


def redactor_from_environment(environ: Mapping[str, str]) -> Redactor:
    """A redactor that also knows the values of the environment's secret variables."""
    found = []
    for name, value in environ.items():
        value = value.strip()
        # By what the name says only: a venue's variable that is an address (ALPACA_TRADING_URL)
        # may be named in a message; as a mapping's key, every venue variable is hidden.
        if len(value) < _SHORTEST_SECRET or not _says_secret(name):
            continue
        found.append(value)
        if "\n" in value:  # a PEM key: also as it reads in a repr ("\\n")
            found.append(value.replace("\n", "\\n"))
    return Redactor(secrets=found)

