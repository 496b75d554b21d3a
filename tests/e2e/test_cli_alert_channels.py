"""`quantshift alerts channels` as a user drives it, in real processes on a SQLite store: two
channels added (one encrypted Apprise URL, one env: reference), listed without a secret, tested
into loopback receivers (a JSON webhook and ntfy's API) with ALERT_TEST recorded, a missing key
or variable reported per channel, bad input refused with a clear message, and removal."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet

from tests.support.receivers import HttpReceiver

SECRET = "hunter2pass"
TOKEN = "tk9F3xQ7Lw2"


@pytest.fixture
def receiver():
    with HttpReceiver() as http:
        yield http


def stored_bytes(cli) -> bytes:
    return b"".join(p.read_bytes() for p in cli.db.parent.glob(cli.db.name + "*"))


def test_add_list_test_remove(cli, receiver):
    cli.env["QUANTSHIFT_SECRETS_KEY"] = Fernet.generate_key().decode()
    hook = f"json://qs:{SECRET}@127.0.0.1:{receiver.port}/alerts/{TOKEN}"
    added = cli.run("alerts", "channels", "add", "hook", hook, "--min-level", "info", "--quiet-hours", "22:00-07:00",
                    "--timezone", "Europe/Paris", "--as", "admin@example.com")
    assert added.stdout.startswith(f"alert channel hook added: json://127.0.0.1:{receiver.port}/… (encrypted), "
                                   "info and above, quiet 22:00-07:00 Europe/Paris")
    # The variable is not set for `add`: kept as a reference, read by whoever sends.
    ntfy = cli.run("alerts", "channels", "add", "ntfy", "env:QS_NTFY_URL", "--min-level", "critical")
    assert "note: QS_NTFY_URL is not set here" in ntfy.stdout

    listed = cli.run("alerts", "channels", "list", "--json")
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["shown"], r["secret"], r["min_level"]) for r in rows] == [
        ("hook", f"json://127.0.0.1:{receiver.port}/…", "encrypted", "info"),
        ("ntfy", "env:QS_NTFY_URL", "env:QS_NTFY_URL", "critical")]
    table = cli.invoke("alerts", "channels", "list").stdout
    assert "hook" in table and "env:QS_NTFY_URL" in table
    for text in (added.stdout + added.stderr, listed.stdout, table, stored_bytes(cli).decode("latin-1")):
        assert SECRET not in text and TOKEN not in text

    cli.env["QS_NTFY_URL"] = f"ntfy://127.0.0.1:{receiver.port}/qs-alerts"
    tested = cli.run("alerts", "channels", "test", "--as", "admin@example.com")
    assert tested.stdout.splitlines() == ["hook: delivered", "ntfy: delivered"]
    requests = receiver.wait_for(2)
    by_path = {r.path.split("?")[0]: r for r in requests}
    webhook = by_path[f"/alerts/{TOKEN}"]
    assert webhook.headers["authorization"].startswith("Basic ")  # the decrypted URL's login reached the server
    assert webhook.json()["title"] == "[QuantShift INFO] test alert"
    assert "sent by admin@example.com" in webhook.json()["message"]
    assert by_path["/"].json()["topic"] == "qs-alerts"
    audit = json.loads(cli.run("audit", "--kind", "alert_test", "--json").stdout)
    assert [(e["data"]["channel"], e["data"]["delivered"], e["data"]["sent_to"]) for e in audit] == [
        ("hook", True, ["hook"]), ("ntfy", True, ["ntfy"])]

    # Without the key the encrypted one cannot go out; the reference still does. Exit 4, each said.
    del cli.env["QUANTSHIFT_SECRETS_KEY"]
    failed = cli.run("alerts", "channels", "test", check=False)
    assert failed.returncode == 4
    assert failed.stdout.splitlines()[0].startswith("hook: FAILED: QUANTSHIFT_SECRETS_KEY is not set")
    assert failed.stdout.splitlines()[1] == "ntfy: delivered"

    removed = cli.run("alerts", "channels", "remove", "hook")
    assert removed.stdout == f"alert channel hook removed (json://127.0.0.1:{receiver.port}/…)\n"
    assert [r["name"] for r in cli.json("alerts", "channels", "list")] == ["ntfy"]
    for result in (tested, failed, removed):
        assert SECRET not in result.stdout + result.stderr and TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize("args, code, words", [
    (("add", "a b", "json://127.0.0.1/x"), 2, "error: name: 'a b' must be 1 to 40 letters"),
    (("add", "x", "tgram://notatoken"), 2, "error: url: not a valid Telegram URL"),
    (("add", "x", "foo://bar"), 2, "error: url: Apprise knows no service foo://"),
    (("add", "x", "json://127.0.0.1/x", "--quiet-hours", "late"), 2, "error: quiet_hours: 'late' is not like 22:00-07:00"),
    (("add", "x", "json://127.0.0.1/x", "--timezone", "Mars/Base"), 2, "error: timezone: 'Mars/Base' is not an IANA"),
    (("add", "x", "json://127.0.0.1/x", "--min-level", "loud"), 2, "'loud' is not one of"),
    (("add", "x", "json://127.0.0.1/x"), 2, "error: QUANTSHIFT_SECRETS_KEY is not set"),
    (("remove", "nope"), 4, "error: no alert channel named 'nope' (the channels: none are saved)"),
    (("test",), 2, "error: no alert channels are saved"),
])
def test_bad_input_is_refused_with_a_message_and_no_traceback(cli, args, code, words):
    if "QUANTSHIFT_SECRETS_KEY" not in words:
        cli.env["QUANTSHIFT_SECRETS_KEY"] = Fernet.generate_key().decode()
    else:
        cli.env.pop("QUANTSHIFT_SECRETS_KEY", None)
    result = cli.invoke("alerts", "channels", *args)
    assert result.returncode == code, (result.stdout, result.stderr)
    assert words in result.stderr + result.stdout and "Traceback" not in result.stderr


def test_a_taken_name_is_refused(cli):
    cli.env["QUANTSHIFT_SECRETS_KEY"] = Fernet.generate_key().decode()
    cli.invoke("alerts", "channels", "add", "x", "json://127.0.0.1/x")
    result = cli.invoke("alerts", "channels", "add", "x", "ntfy://127.0.0.1/t")
    assert result.returncode == 4 and "an alert channel named 'x' exists already" in result.stderr
