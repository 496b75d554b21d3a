"""The redactor (application/redaction.py): secrets cut out by name, by value and by shape."""

from __future__ import annotations

import pytest

from application.redaction import FILTERED, Redactor, is_secret_name, redactor_from_environment

PEM = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBl2b3RhbGx5IGZha2Uga2V5\n-----END EC PRIVATE KEY-----\n"
ENVIRON = {
    "ALPACA_API_KEY": "PKTESTKEY123456", "ALPACA_SECRET_KEY": "alpaca-secret-value-789",
    "COINBASE_API_SECRET": PEM, "QUANTSHIFT_SMTP_PASSWORD": "smtp-pass-word", "QUANTSHIFT_SENTRY_DSN":
    "https://abc123@o1.ingest.sentry.io/42", "TELEGRAM_TOKEN": "123456:ABCDEFGH",
    "ALPACA_TRADING_URL": "http://127.0.0.1:5000", "PWD": "/work/main", "QUANTSHIFT_SECURE_COOKIES": "1",
}
REDACTOR = redactor_from_environment(ENVIRON)


@pytest.mark.parametrize(("text", "expected"), [
    ("key alpaca-secret-value-789 refused", f"key {FILTERED} refused"),
    ("signed with " + PEM.strip().replace("\n", "\\n"), f"signed with {FILTERED}"),  # a PEM as a repr shows it
    ("token 123456:ABCDEFGH", f"token {FILTERED}"),
    ("to tgram://123456789:AAHdqTcvCH1vGW/987654321, then", f"to tgram://{FILTERED} then"),
    ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", f"discord://{FILTERED}"),
    ("postgresql://trader:hunter2@db:5432/qs", f"postgresql://{FILTERED}@db:5432/qs"),
    ("json://user:pw@127.0.0.1:8080/hook", f"json://{FILTERED}"),
    ("GET https://api.x/v1?apikey=abc&page=2", f"GET https://api.x/v1?apikey={FILTERED}&page=2"),
    ("Authorization: Bearer eyJhbGciOi.eyJzdWIiOiIx.c2ln", f"Authorization: {FILTERED} {FILTERED}"),
    ("Basic dXNlcjpwYXNzd29yZA==", f"Basic {FILTERED}"),
    ("password=hunter2&user=x", f"password={FILTERED}&user=x"),
    ("{'api_key': 'abc123', 'x': 1}", f"{{'api_key': '{FILTERED}', 'x': 1}}"),
    ("url fernet:gAAAAABnX2k3_ab-CD==, env:TELEGRAM_URL", f"url fernet:{FILTERED}, env:TELEGRAM_URL"),
])
def test_secrets_are_cut_out_of_text(text, expected):
    assert REDACTOR.text(text) == expected


@pytest.mark.parametrize("text", [
    "order qs-2551ed14 filled buy 55 SPY @ 449.71",
    "File \"/work/main/application/trading/trading_cycle.py\", line 252, in _run_strategy",
    "venue http://127.0.0.1:5000/v2/orders answered 503",  # a venue's address is no secret
    "sqlite:///tmp/qs.db", "https://quantshift.example.com/dashboard/bots/eq",
    "secret = os.environ['X']",  # a line of code in a traceback reads as it was written
    "monkey business, 1 true",
])
def test_ordinary_text_is_left_as_it_is(text):
    assert REDACTOR.text(text) == text


def test_values_under_secret_names_are_replaced_whole_at_any_depth():
    event = {"request": {"headers": {"Authorization": "x", "X-Api-Key": "y", "Accept": "json"},
                         "cookies": "sid=1", "url": "https://h/p?token=t"},
             "extra": {"environ": {"ALPACA_TRADING_URL": "http://10.0.0.1", "HOME": "/root"}},
             "vars": {"signingKey": "k", "api_key": "k", "password": "p", "bot": "eq", "public_key": "pk"},
             "list": [{"secret": "s"}, "alpaca-secret-value-789"], "count": 3, "empty": {"token": ""}}
    assert REDACTOR.data(event) == {
        "request": {"headers": {"Authorization": FILTERED, "X-Api-Key": FILTERED, "Accept": "json"},
                    "cookies": FILTERED, "url": f"https://h/p?token={FILTERED}"},
        "extra": {"environ": {"ALPACA_TRADING_URL": FILTERED, "HOME": "/root"}},
        "vars": {"signingKey": FILTERED, "api_key": FILTERED, "password": FILTERED, "bot": "eq",
                 "public_key": "pk"},  # a DSN's public key is public (Sentry reads it back)
        "list": [{"secret": FILTERED}, FILTERED], "count": 3, "empty": {"token": ""}}


def test_the_environment_gives_the_values_of_its_secret_variables_only():
    secrets = set(REDACTOR.secrets)
    assert {"alpaca-secret-value-789", "PKTESTKEY123456", "smtp-pass-word", "123456:ABCDEFGH", PEM.strip(),
            ENVIRON["QUANTSHIFT_SENTRY_DSN"]} <= secrets
    assert not secrets & {"/work/main", "http://127.0.0.1:5000", "1"}  # PWD, a venue address, a flag
    assert "alpaca-secret" not in repr(REDACTOR)


@pytest.mark.parametrize(("name", "secret"), [
    ("ALPACA_SECRET_KEY", True), ("key", True), ("x-api-key", True), ("accessKey", True), ("jwt", True),
    ("QUANTSHIFT_JWT_SECRET", True), ("authorization", True), ("COINBASE_WS_URL", True),
    ("monkey", False), ("client_order_id", False), ("bot", False), ("PWD", False), ("public_key", False),
])
def test_which_names_hold_secrets(name, secret):
    assert is_secret_name(name) is secret


def test_the_longest_secret_is_cut_first():
    assert Redactor(secrets=("abcdef", "abcdefghij")).text("abcdefghij") == FILTERED
