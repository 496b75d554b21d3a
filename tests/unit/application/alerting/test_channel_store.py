"""The saved channels: a versioned document under "alert_channels" that never holds a plain
URL, a bad document refused naming the key, the cached read (ttl, never raises, keeps the last
good channels), and the resolution of "fernet:" and "env:" URLs at send time only."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from adapters.security.secret_box import FernetSecretBox
from application.alerting.channel_store import (
    KEY,
    SEALED,
    SecretResolvingSender,
    StoredChannels,
    load_channels,
    save_channels,
)
from application.alerting.channels import Channel
from application.ports import AlertLevel
from domain.errors import ConfigurationError
from tests.fakes.builders import T0
from tests.fakes.channel_sender import RecordingChannelSender
from tests.fakes.memory_store import InMemoryStore

BOX = FernetSecretBox(keys=Fernet.generate_key().decode())
SECRET_URL = "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-100123"


def sealed_channel(name: str = "tg", url: str = SECRET_URL, **fields) -> Channel:
    return Channel(name=name, url=SEALED + BOX.seal(url), shown="tgram://…", **fields)


def put(store: InMemoryStore, document) -> None:
    with store() as uow:
        uow.settings.put(KEY, document, at=T0)
        uow.commit()


def test_round_trip_keeps_every_field_and_the_document_holds_no_plain_url():
    store = InMemoryStore()
    channels = (sealed_channel(min_level="critical", quiet_hours="22:00-07:00", timezone="Europe/Paris"),
                Channel(name="hook", url="env:QS_HOOK_URL", shown="env:QS_HOOK_URL", enabled=False))
    with store() as uow:
        save_channels(uow.settings, channels, at=T0)
        uow.commit()
    with store() as uow:
        document = uow.settings.get(KEY)
        assert load_channels(uow.settings) == channels
    assert document["version"] == 1
    assert document["channels"][0]["quiet_hours"] == "22:00-07:00"
    assert document["channels"][1]["secret"] == {"env": "QS_HOOK_URL"}
    assert "AAHdq" not in str(document) and "123456789" not in str(document)


def test_a_plain_url_is_never_saved():
    store = InMemoryStore()
    with store() as uow, pytest.raises(ConfigurationError, match="must be sealed or an env: reference"):
        save_channels(uow.settings, (Channel(name="raw", url=SECRET_URL),), at=T0)


def test_nothing_saved_is_no_channels():
    with InMemoryStore()() as uow:
        assert load_channels(uow.settings) == ()


@pytest.mark.parametrize("document, words", [
    ({"version": 2, "channels": []}, "version 2 is not 1"),
    ({"version": 1, "channels": [], "extra": 1}, "unknown keys ['extra']"),
    ({"version": 1, "channels": {}}, "channels: a list is wanted"),
    ({"version": 1, "channels": ["x"]}, "channels[0]: an object is wanted"),
    ({"version": 1, "channels": [{"name": "a", "secret": {"plain": "json://x"}}]}, "unknown kind 'plain'"),
    ({"version": 1, "channels": [{"name": "a", "secret": "json://x"}]}, "channels[0].secret:"),
    ({"version": 1, "channels": [{"name": "a b", "secret": {"env": "X"}}]}, "channels[0] ('a b'): name:"),
    ({"version": 1, "channels": [{"name": "a", "secret": {"env": "X"}, "min_level": "loud"}]}, "min_level"),
    ({"version": 1, "channels": [{"name": "a", "secret": {"env": "X"}}, {"name": "a", "secret": {"env": "Y"}}]},
     "unique: a twice"),
])
def test_a_bad_document_is_refused_naming_the_key(document, words):
    store = InMemoryStore()
    put(store, document)
    with store() as uow, pytest.raises(ConfigurationError, match=f"settings '{KEY}'") as refused:
        load_channels(uow.settings)
    assert words in str(refused.value)


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_cached_read_waits_out_its_ttl_keeps_the_last_good_channels_and_never_raises():
    store, ticks = InMemoryStore(), Ticks()
    source = StoredChannels(uow_factory=store, ttl_seconds=5, monotonic=ticks)
    assert source.current() == ()
    first = (sealed_channel(),)
    with store() as uow:
        save_channels(uow.settings, first, at=T0)
        uow.commit()
    assert source.current() == ()  # within the ttl: not read again
    ticks.now = 5
    assert source.current() == first
    put(store, {"version": 9})
    ticks.now = 10
    assert source.current() == first  # a bad document: the last good ones stay
    store.available = False
    ticks.now = 15
    assert source.current() == first  # the store down: the same
    store.available = True
    with store() as uow:
        save_channels(uow.settings, (), at=T0)
        uow.commit()
    source.forget()
    assert source.current() == ()  # forget: read at once


def test_the_resolving_sender_decrypts_and_looks_up_at_send_time():
    inner = RecordingChannelSender()
    environ = {"QS_HOOK": "json://127.0.0.1:9/hook"}
    sender = SecretResolvingSender(sender=inner, box=BOX, environ=environ)
    sender.send(url=sealed_channel().url, title="t", body="b", level=AlertLevel.INFO)
    sender.send(url="env:QS_HOOK", title="t", body="b", level=AlertLevel.INFO)
    environ["QS_HOOK"] = "json://127.0.0.1:9/changed"  # read at each send, not once
    sender.send(url="env:QS_HOOK", title="t", body="b", level=AlertLevel.INFO)
    sender.send(url="ntfy://plain/topic", title="t", body="b", level=AlertLevel.INFO)
    assert inner.urls() == [SECRET_URL, "json://127.0.0.1:9/hook", "json://127.0.0.1:9/changed", "ntfy://plain/topic"]


@pytest.mark.parametrize("url, environ, words", [
    ("env:QS_MISSING", {}, "QS_MISSING is not set in this process's environment"),
    ("env:QS_LOOP", {"QS_LOOP": "env:QS_LOOP"}, "QS_LOOP holds another reference"),
    ("env:not a name", {}, "is not an environment reference"),
])
def test_an_unresolvable_reference_is_a_configuration_error(url, environ, words):
    sender = SecretResolvingSender(sender=RecordingChannelSender(), box=BOX, environ=environ)
    with pytest.raises(ConfigurationError, match=words):
        sender.send(url=url, title="t", body="b", level=AlertLevel.INFO)


def test_without_the_key_a_sealed_url_cannot_be_sent_and_says_why():
    sender = SecretResolvingSender(sender=RecordingChannelSender(), box=FernetSecretBox(keys=""), environ={})
    with pytest.raises(ConfigurationError, match="QUANTSHIFT_SECRETS_KEY is not set"):
        sender.send(url=sealed_channel().url, title="t", body="b", level=AlertLevel.INFO)
