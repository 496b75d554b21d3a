"""The Fernet secret box: a round trip, rotation (the first key seals, every key opens), and
clear refusals that never show a key: no key set, a malformed key, a token of another key."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from adapters.security.secret_box import SECRETS_KEY, FernetSecretBox
from domain.errors import ConfigurationError

URL = "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-100123"


def test_round_trip_and_the_sealed_text_does_not_hold_the_url():
    box = FernetSecretBox(keys=Fernet.generate_key().decode())
    sealed = box.seal(URL)
    assert "AAHdq" not in sealed and "tgram" not in sealed
    assert box.open(sealed) == URL
    assert box.seal(URL) != sealed  # a fresh IV each time: equal URLs do not show as equal


def test_rotation_the_first_key_seals_and_every_key_opens():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_with_old = FernetSecretBox(keys=old).seal(URL)
    rotated = FernetSecretBox(keys=f"{new}, {old}")
    assert rotated.open(sealed_with_old) == URL
    assert FernetSecretBox(keys=new).open(rotated.seal(URL)) == URL


def test_no_key_refuses_to_seal_or_open_saying_how_to_make_one():
    box = FernetSecretBox(keys="")
    assert not box.configured
    for use in (lambda: box.seal(URL), lambda: box.open("gAAAA")):
        with pytest.raises(ConfigurationError, match=f"{SECRETS_KEY} is not set") as refused:
            use()
        assert "Fernet.generate_key()" in str(refused.value) and "env:VARNAME" in str(refused.value)


def test_a_malformed_key_is_refused_at_first_use_without_showing_it():
    box = FernetSecretBox(keys="my-password-1234567890")  # building it is fine: a process may never need it
    with pytest.raises(ConfigurationError, match=f"{SECRETS_KEY}: not a Fernet key") as refused:
        box.seal(URL)
    assert "my-password" not in str(refused.value) and "my-password" not in repr(box)


def test_a_token_sealed_with_another_key_is_refused():
    sealed = FernetSecretBox(keys=Fernet.generate_key().decode()).seal(URL)
    with pytest.raises(ConfigurationError, match="sealed with another key"):
        FernetSecretBox(keys=Fernet.generate_key().decode()).open(sealed)
    assert "<key set>" in repr(FernetSecretBox(keys=Fernet.generate_key().decode()))
