"""The SecretBox port on Fernet (cryptography): AES-128-CBC with an HMAC-SHA256 tag, so a
token sealed with another key, or altered, is refused rather than decrypted to garbage.

The key comes from QUANTSHIFT_SECRETS_KEY only (never from the configuration file, never
derived from anything shown). It may hold several keys separated by commas: the first seals,
all of them open, so a key can be rotated (put the new one first, add the channels again,
then drop the old one). Without a key, only sealing and opening refuse, with a message
saying how to make one: everything else (listing channels, env: references) works.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from domain.errors import ConfigurationError

SECRETS_KEY = "QUANTSHIFT_SECRETS_KEY"
MISSING = (f"{SECRETS_KEY} is not set: channel URLs are stored encrypted with it. Make one with "
           "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`, "
           "set it in the environment of every quantshift process (serve, paper, live, watch) and keep it "
           "out of the configuration file; or give the URL as env:VARNAME instead")


class SecretsNotConfigured(ConfigurationError):
    """QUANTSHIFT_SECRETS_KEY is missing or not a Fernet key: an operator must set it (the API
    answers 503: not the caller's input)."""


class FernetSecretBox:
    def __init__(self, *, keys: str) -> None:
        """`keys`: QUANTSHIFT_SECRETS_KEY's value ("" when unset: sealing and opening refuse).
        Read at the first seal or open, not here: a bad key must not stop a process that never
        needs it (every process builds its alert sender)."""
        self._keys = [part.strip() for part in keys.split(",") if part.strip()]
        self._fernet: MultiFernet | None = None

    def __repr__(self) -> str:  # never the key
        return f"FernetSecretBox({'<key set>' if self._keys else '<no key>'})"

    @property
    def configured(self) -> bool:
        return bool(self._keys)

    def seal(self, plain: str) -> str:
        return self._require().encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._require().decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise ConfigurationError(f"a channel URL cannot be decrypted with this {SECRETS_KEY}: it was sealed with "
                                     "another key (was the key changed?); add the channel again") from None

    def _require(self) -> MultiFernet:
        if not self._keys:
            raise SecretsNotConfigured(MISSING)
        if self._fernet is None:
            try:
                self._fernet = MultiFernet([Fernet(key) for key in self._keys])
            except (ValueError, TypeError):  # the key itself is never part of the message
                raise SecretsNotConfigured(
                    f"{SECRETS_KEY}: not a Fernet key (32 bytes, url-safe base64, 44 characters); make one with "
                    "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
                ) from None
        return self._fernet
