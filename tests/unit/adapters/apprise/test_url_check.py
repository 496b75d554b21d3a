"""The Apprise sender's check of a channel URL (no I/O): the service it names, the URL as it may
be shown (scheme and host only, never a token, password or topic), and refusals that say what
is wrong without echoing the URL; the scrubbing of Apprise's messages."""

from __future__ import annotations

import pytest

from adapters.apprise import AppriseSender
from adapters.apprise.logs import scrub, secrets_of
from domain.errors import ConfigurationError

TOKEN = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

# The docs' examples (docs/monitoring.md, Alert channels), with made-up secrets.
SHOWN = {
    f"mailtos://alerts:{TOKEN}@smtp.example.com:465?to=ops@example.com": ("E-Mail", "mailtos://smtp.example.com:465/…"),
    f"mailto://alerts:{TOKEN}@gmail.com": ("E-Mail", "mailtos://gmail.com:587/…"),
    f"tgram://123456789:{TOKEN}/-1001234567890": ("Telegram", "tgram://…"),
    f"slack://T1JJ3T3L2/A1BRTD4JD/{TOKEN}/#alerts": ("Slack", "slack://…"),
    f"discord://4174216298/{TOKEN}": ("Discord", "discord://…"),
    f"https://discord.com/api/webhooks/4174216298/{TOKEN}": ("Discord", "discord://…"),
    f"ntfys://ntfy.example.com/{TOKEN}": ("ntfy", "ntfys://ntfy.example.com/…"),
    f"ntfy://{TOKEN}": ("ntfy", "ntfys://…"),  # ntfy.sh: the topic is the secret, no host is shown
    f"json://127.0.0.1:8123/hooks/{TOKEN}": ("JSON", "json://127.0.0.1:8123/…"),
    f"jsons://bot:{TOKEN}@hooks.example.com/quantshift": ("JSON", "jsons://hooks.example.com/…"),
}


@pytest.fixture(scope="module")
def sender() -> AppriseSender:
    return AppriseSender()


@pytest.mark.parametrize("url", list(SHOWN))
def test_the_shown_form_has_the_scheme_and_host_only(sender, url):
    check = sender.check(url)
    assert (check.service, check.shown) == SHOWN[url]
    assert TOKEN not in check.shown and "123456789" not in check.shown


@pytest.mark.parametrize("url, words", [
    ("nonsense", "not an Apprise URL (SERVICE://...;"),
    ("foo://bar", "Apprise knows no service foo://"),
    ("https://example.com/hook", "https:// is not a service Apprise recognises"),
    ("json://", "not a valid JSON URL"),
    (f"tgram://{TOKEN}", "not a valid Telegram URL"),
    (f"discord://{TOKEN}", "not a valid Discord URL"),
])
def test_a_url_apprise_cannot_use_is_refused_without_echoing_it(sender, url, words):
    with pytest.raises(ConfigurationError, match="^url: ") as refused:
        sender.check(url)
    assert words in str(refused.value) and TOKEN not in str(refused.value)


def test_scrub_removes_every_piece_of_the_url_but_what_is_shown():
    url = f"ntfy://bob:{TOKEN}@127.0.0.1:8080/secret-topic?token=tk_123456"
    secrets = secrets_of(url, shown="ntfy://127.0.0.1:8080/…")
    said = scrub(f"Failed to send ntfy notification to topic 'secret-topic' at 127.0.0.1:8080 as bob:{TOKEN} "
                 "(tk_123456)", secrets)
    assert said == "Failed to send ntfy notification to topic '***' at 127.0.0.1:8080 as ***:*** (***)"


def test_the_timeout_must_be_positive():
    with pytest.raises(ConfigurationError, match="timeout must be positive"):
        AppriseSender(timeout_seconds=0)
